"""The local pool's persistent workers: one process serves many stages; a worker that dies takes
only its own stage down and is replaced for the next one."""
from __future__ import annotations

import json

from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli
from test_registry_sweep import _study, env  # noqa: F401  (fixture)

CRASHING = """
from tickets.study import Grid, Study
OK = {{"epochs": 1, "sleep": {sleep}}}
study = Study("crashing",
    Grid(datasets=["d2"], models=["m1"], methods=["rand"], sparsities=[0.5], train={{**OK, "crash": True}}),
    Grid(datasets=["d1"], models=["m1"], methods=["rand"], sparsities=[0.5], seeds=[0, 1, 2], train=OK),
    domain="fake_domain:DOMAIN")
"""


def _pids(home) -> dict[str, int]:
    return {d.name: json.loads((d / "meta.json").read_text())["pid"]
            for d in (home / "runs").iterdir() if (d / "meta.json").exists()}


def test_one_worker_process_serves_many_stages_and_a_crash_is_contained(env):  # noqa: F811
    study, home = _study(env, text=CRASHING), env / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "1"])
    assert out.exit_code == 1, out.output
    runs = Store(home).frame('SELECT key, dataset, status, error FROM runs ORDER BY dataset DESC, seed')
    assert list(runs["status"]) == ["failed", "done", "done", "done"]
    assert "worker exited with status 9" in runs["error"][0]
    pids = _pids(home)
    crashed, done = pids[runs["key"][0]], {pids[k] for k in runs["key"][1:]}
    assert len(done) == 1 and crashed not in done  # one fresh process served the three stages after the crash


def test_unknown_executor_option_is_refused_before_planning(env):  # noqa: F811
    study, home = _study(env), env / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study), "-X", "partition=gpu"])
    assert out.exit_code == 2
    assert "unknown option 'partition' for the local executor" in out.output
    assert not (home / "runs").exists()


def _slot_envs(home) -> list[dict]:
    return [json.loads((d / "env.json").read_text()) for d in (home / "runs").iterdir() if (d / "env.json").exists()]


def test_gpu_slots_each_see_one_device(env, monkeypatch):  # noqa: F811
    # a machine with two GPUs, as far as the up-front check can tell (this one has none)
    monkeypatch.setattr("registry.executors.gpu_slots.cuda_devices", lambda: (2, ""))
    study, home = _study(env, sleep=0.2), env / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study), "--gpus", "0,1"])
    assert out.exit_code == 0, out.output
    devices = [e["CUDA_VISIBLE_DEVICES"] for e in _slot_envs(home)]
    assert len(devices) == 10 and set(devices) == {"0", "1"}  # both slots used, one device each


def test_cpu_workers_get_a_fixed_thread_count_whatever_their_number(env, monkeypatch):  # noqa: F811
    """Threads change float reductions: a key's metrics must not depend on --workers (issue 11)."""
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    study, home = _study(env), env / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study), "--workers", "4"])
    assert out.exit_code == 0, out.output
    envs = _slot_envs(home)
    assert {e["OMP_NUM_THREADS"] for e in envs} == {"1"} and {e["threads"] for e in envs} == {1}
    assert {e["CUDA_VISIBLE_DEVICES"] for e in envs} == {""}
    other = env / "other"
    out = CliRunner().invoke(cli, ["--home", str(other), "study", "run", str(study), "--workers", "2",
                                   "-X", "threads=3"])
    assert out.exit_code == 0, out.output
    assert {e["threads"] for e in _slot_envs(other)} == {3}


def test_a_done_dependency_without_its_run_directory_runs_again(env):  # noqa: F811
    """Imported or pruned pretraining: its dependents must not be handed a folder that is not there."""
    import shutil

    study, home = _study(env), env / "home"
    first = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert first.exit_code == 0, first.output
    pretrain = Store(home).frame("SELECT key FROM runs WHERE kind = 'pretrain' AND seed = 0")["key"][0]
    shutil.rmtree(home / "runs" / pretrain)
    ticket = Store(home).frame(
        "SELECT key FROM runs WHERE kind = 'ticket' AND seed = 0 AND method = 'lt' AND sparsity = 0.9")["key"][0]
    shutil.rmtree(home / "runs" / ticket)
    with Store(home).writer() as con:  # the ticket is forgotten: it must run again, after its pretraining
        for table in ("results", "epochs", "layers", "runs"):
            con.execute(f"DELETE FROM {table} WHERE key = ?", [ticket])
    again = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert again.exit_code == 0, again.output
    assert "2 ran now" in again.output
    assert (home / "runs" / pretrain / "result.json").exists() and (home / "runs" / ticket / "result.json").exists()


def test_workers_on_the_command_line_win_over_the_studys_resources(env, monkeypatch):  # noqa: F811
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    study, home = _study(env), env / "home"
    study.write_text(study.read_text().replace(
        'domain="fake_domain:DOMAIN")', 'domain="fake_domain:DOMAIN", resources={"local": {"workers": 4, "threads": 2}})'))
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 0, out.output
    assert len(set(_pids(home).values())) > 1  # the study's 4 workers
    assert {e["threads"] for e in _slot_envs(home)} == {2}  # and its thread count
    out = CliRunner().invoke(cli, ["--home", str(env / "home2"), "study", "run", str(study), "--workers", "1",
                                   "-X", "threads=1"])
    assert out.exit_code == 0, out.output
    assert len(set(_pids(env / "home2").values())) == 1  # --workers 1 wins
    assert {e["threads"] for e in _slot_envs(env / "home2")} == {1}  # and so does -X threads=1
