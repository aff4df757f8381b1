"""The SLURM executor against a real single-node SLURM (tests/slurm_cluster.py), with the registry's
fake domain so a stage takes a second, not minutes.

What is proven here: `tickets study run --executor slurm` submits (pretrain, then tickets with an
afterok dependency) and returns before anything ran; `tickets study status` ingests the finished
runs; a rerun while jobs are queued submits nothing; a job signalled mid-run checkpoints, is
requeued and ends with the same result as an uninterrupted run; a failing job is reported with
its reason; `tickets study cancel` cancels queued jobs; bad input is one line and submits nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ("slurm_cluster",)  # the test-cluster fixtures: one cluster per session

pytestmark = pytest.mark.slurm
TESTS = Path(__file__).resolve().parent

STUDY = """\
from tickets.study import Grid, Study

study = Study(
    "slurm_{name}",
    Grid(datasets=["d1"], models=["m1"], methods=["lt"], sparsities={sparsities}, seeds=[{seed}],
         train={train!r}),
    domain="fake_domain:DOMAIN",
)
"""


@pytest.fixture
def env(slurm, monkeypatch, tmp_path):
    """Environment for the CLI and for the jobs (sbatch exports it): the fake domain importable."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("FAKE_DOMAIN_LOG", str(tmp_path / "executions.log"))
    monkeypatch.setenv("TICKETS_SLURM_TIME", "10")
    return dict(os.environ)


def write_study(tmp_path: Path, name: str, sparsities=(0.5, 0.8), seed=0, train=None) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(STUDY.format(name=name, sparsities=list(sparsities), seed=seed,
                                 train=train or {"epochs": 2, "sleep": 0.05}))
    return path


def tickets(env, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tickets.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def home() -> Path:
    return Path(os.environ["TICKETS_HOME"])


def submitted_records() -> dict[str, dict]:
    runs = home() / "runs"
    return {p.parent.name: json.loads(p.read_text()) for p in runs.glob("*/submitted.json")}


def all_results(keys) -> bool:
    return all((home() / "runs" / k / "result.json").exists() for k in keys)


def plan_counts(study: Path) -> dict[str, int]:
    from registry.plan import make_plan
    from registry.store import Store
    from tickets.study import load_study

    return make_plan(load_study(study), Store(home()), ingest=False).counts()


def slurm_jobs(slurm) -> list[str]:
    return slurm.run("squeue", "-h", "-r", "-o", "%i %T").stdout.splitlines()


def test_submit_returns_at_once_rerun_submits_nothing_cancel_then_resubmit_and_ingest(env, slurm, tmp_path):
    study = write_study(tmp_path, "basic")
    held = {**env, "TICKETS_SLURM_SBATCH": "--hold"}  # queued but never started: deterministic
    started = time.monotonic()
    first = tickets(held, "study", "run", str(study), "--executor", "slurm")
    took = time.monotonic() - started
    assert first.returncode == 0, first.stderr
    assert "submitted 3 stages" in first.stderr
    assert took < 20  # submission does not wait for the jobs (they are held)
    records = submitted_records()
    assert len(records) == 3 and len(slurm_jobs(slurm)) == 3
    pretrain = [r for r in records.values() if not r["dependency"]]
    tickets_ = [r for r in records.values() if r["dependency"]]
    assert len(pretrain) == 1 and len(tickets_) == 2
    # the two tickets are one job array that waits for the pretraining job
    assert {r["array_job_id"] for r in tickets_} == {tickets_[0]["array_job_id"]}
    assert sorted(r["task_id"] for r in tickets_) == [0, 1]
    assert all(r["dependency"] == [pretrain[0]["job_id"]] for r in tickets_)
    assert tickets_[0]["resources"]["time_min"] == 10

    again = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert again.returncode == 0, again.stderr
    assert "submitted 0 stages" in again.stderr
    assert submitted_records() == records  # same job ids: nothing resubmitted
    assert len(slurm_jobs(slurm)) == 3
    assert plan_counts(study)["running"] == 3  # squeue vouches for the held jobs

    cancel = tickets(env, "study", "cancel", str(study))
    assert cancel.returncode == 0, cancel.stderr
    assert "slurm: cancelled 3 of 3 submitted jobs" in cancel.stdout
    slurm.wait_until(lambda: not slurm_jobs(slurm), timeout=20, what="an empty queue after cancel")
    assert not (tmp_path / "executions.log").exists()

    # cancelled jobs are gone, so their stages are missing again: the next run resubmits them
    third = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert third.returncode == 0 and "submitted 3 stages" in third.stderr, third.stderr
    resubmitted = submitted_records()
    assert not {r["job_id"] for r in resubmitted.values()} & {r["job_id"] for r in records.values()}
    slurm.wait_until(lambda: all_results(records), timeout=90, what="all three stages to finish")
    status = tickets(env, "study", "status", str(study))
    assert status.returncode == 0, status.stderr
    assert "ingested 3 finished runs" in status.stdout
    last = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert last.returncode == 0 and "nothing to run: 3/3 stages done" in last.stderr
    log = (tmp_path / "executions.log").read_text().split()
    assert log.count("done") == 3


def test_signalled_or_requeued_job_resumes_from_its_checkpoint(env, slurm, tmp_path):
    """Two pretraining runs in one array: task 0 gets the pre-timeout signal (USR2: checkpoint and
    requeue through submitit), task 1 is requeued from outside (`scontrol requeue`: killed, then
    restarted). Both resume from their last epoch and match an uninterrupted local run."""
    train = {"epochs": 5, "sleep": 0.6}
    study = tmp_path / "resume.py"
    study.write_text(STUDY.replace("methods=[\"lt\"]", "methods=[\"dense\"]").replace("seeds=[{seed}]", "seeds=[0, 1]")
                     .format(name="resume", sparsities=[0.0], seed=0, train=train))
    out = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert out.returncode == 0, out.stderr
    records = submitted_records()
    by_task = {r["task_id"]: (key, r) for key, r in records.items()}
    assert sorted(by_task) == [0, 1]
    metrics = {t: home() / "runs" / by_task[t][0] / "metrics.jsonl" for t in by_task}

    def epochs(t):
        return len(metrics[t].read_text().splitlines()) if metrics[t].exists() else 0

    slurm.wait_until(lambda: epochs(0) >= 2 and epochs(1) >= 2, timeout=40, what="two epochs in each run")
    slurm.run("scancel", "--signal=USR2", by_task[0][1]["job_id"])
    slurm.run("scontrol", "requeue", by_task[1][1]["job_id"])
    interrupted_at = {t: epochs(t) for t in by_task}
    slurm.wait_until(lambda: all_results(records), timeout=90, what="both runs to finish after requeue")
    for t, (key, record) in by_task.items():
        info = slurm.run("scontrol", "-o", "show", "job", record["job_id"]).stdout
        assert "Restarts=1" in info, info
        rows = [json.loads(line) for line in metrics[t].read_text().splitlines()]
        assert [r["epoch"] for r in rows] == [1, 2, 3, 4, 5], (t, interrupted_at)
    log = (tmp_path / "executions.log").read_text().splitlines()
    for key, _ in by_task.values():
        assert log.count(f"start {key}") == 2 and log.count(f"done {key}") == 1
        resumed = [int(line.rsplit(" ", 1)[1]) for line in log if line.startswith(f"resume {key} from ")]
        assert len(resumed) == 1 and resumed[0] >= 2, log  # the requeued job resumed, it did not restart
    # the same study run locally, uninterrupted, in another home: identical results and curves
    local_env = {**env, "TICKETS_HOME": str(tmp_path / "local-home"), "FAKE_DOMAIN_LOG": ""}
    local = tickets(local_env, "study", "run", str(study), "--workers", "2", timeout=120)
    assert local.returncode == 0, local.stderr
    for key in records:
        ours, ref = home() / "runs" / key, tmp_path / "local-home" / "runs" / key
        assert json.loads((ours / "result.json").read_text()) == json.loads((ref / "result.json").read_text())
        assert (ours / "metrics.jsonl").read_text() == (ref / "metrics.jsonl").read_text()


FAILING_STUDY = """\
from tickets.study import Grid, Study

study = Study(
    "slurm_fails",
    Grid(datasets=["d1"], models=["m1"], methods=["lt"], sparsities=[0.5], seeds=[0],
         train={"epochs": 2, "sleep": 0.05, "fail": True}),
    Grid(datasets=["d2"], models=["m1"], methods=["dense"], sparsities=[0.0], seeds=[0],
         train={"epochs": 20, "sleep": 0.5}),
    domain="fake_domain:DOMAIN",
)
"""


def test_failing_jobs_are_reported_with_their_reason_and_block_dependents(env, slurm, tmp_path):
    """A stage that raises (error.json from the worker) and a worker killed outright (as the OOM
    killer would: the job records the reason the worker could not)."""
    study = tmp_path / "fails.py"
    study.write_text(FAILING_STUDY)
    out = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert out.returncode == 0, out.stderr
    records = submitted_records()
    specs = {k: json.loads((home() / "runs" / k / "stage.json").read_text()) for k in records}
    failing = next(k for k in records if specs[k]["kind"] == "pretrain" and specs[k]["spec"]["dataset"] == "d1")
    ticket = next(k for k in records if specs[k]["kind"] == "ticket")
    killed = next(k for k in records if specs[k]["spec"]["dataset"] == "d2")
    assert records[ticket]["dependency"] == [records[failing]["job_id"]]

    lease = home() / "runs" / killed / "lease.json"
    slurm.wait_until(lambda: lease.exists() and json.loads(lease.read_text()).get("pid"), timeout=60,
                     what="the slow worker to start")
    os.kill(int(json.loads(lease.read_text())["pid"]), signal.SIGKILL)

    slurm.wait_until(lambda: (home() / "runs" / failing / "error.json").exists(), timeout=60, what="error.json")
    slurm.wait_until(lambda: (home() / "runs" / killed / "error.json").exists(), timeout=60,
                     what="error.json of the killed worker")
    # the dependent ticket can never run: SLURM cancels it instead of leaving it pending
    slurm.wait_until(lambda: slurm.job_state(records[ticket]["job_id"]) == "CANCELLED", timeout=30,
                     what="the dependent job to be cancelled")
    slurm.wait_until(lambda: slurm.job_state(records[failing]["job_id"]) == "FAILED", timeout=30,
                     what="the failed job's state")
    slurm.wait_until(lambda: slurm.job_state(records[killed]["job_id"]) == "FAILED", timeout=30,
                     what="the killed job's state")
    status = tickets(env, "study", "status", str(study))
    assert status.returncode == 1
    assert f"failed {failing}" in status.stdout and "RuntimeError: told to fail" in status.stdout
    assert f"failed {killed}" in status.stdout and "worker killed by SIGKILL" in status.stdout
    assert not (home() / "runs" / killed / "lease.json").exists()  # freed for a retry
    again = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert again.returncode == 1
    assert "submitted" not in again.stderr or "submitted 0" in again.stderr
    assert "blocked" in again.stderr and "told to fail" in again.stderr
    from registry.executors.slurm import SlurmExecutor

    line = SlurmExecutor().describe(records[failing])
    assert "FAILED" in line and "exit=1:0" in line


@pytest.mark.parametrize("setting, message", [
    ({"TICKETS_SLURM_PARTITION": "gpu-big"}, "unknown SLURM partition 'gpu-big'; this cluster has: debug"),
    ({"PATH": "/nonexistent"}, "the slurm executor needs `sbatch` on PATH"),
])
@pytest.mark.parametrize("via", ["env", "cli"])
def test_bad_input_through_the_cli_is_one_line_and_submits_nothing(env, slurm, tmp_path, setting, message, via):
    study = write_study(tmp_path, "bad")
    args = ["study", "run", str(study), "--executor", "slurm"]
    if via == "cli" and "TICKETS_SLURM_PARTITION" in setting:  # the same option as `-X partition=...`
        args += ["-X", f"partition={setting.pop('TICKETS_SLURM_PARTITION')}"]
    out = tickets({**env, **setting}, *args)
    assert out.returncode == 2, out.stderr
    assert f"error: {message}" in out.stderr
    assert "Traceback" not in out.stderr
    assert not submitted_records()
    assert not slurm_jobs(slurm)


@pytest.mark.parametrize("options, message", [
    ({"time": "2"}, "time '2' is too short"),
    ({"time": "00:01:30", "signal_lead": 60}, "time '00:01:30' is too short"),
    ({"gpus_per_run": 1}, "SLURM refuses the request"),
    ({"mem": "100T"}, "SLURM refuses the request"),
    ({"partition": "nope"}, "unknown SLURM partition 'nope'"),
    ({"sbatch": ["--no-such-option=1"]}, "SLURM refuses the request"),
])
def test_bad_resources_are_refused_before_anything_is_submitted(env, slurm, tmp_path, options, message):
    from registry.errors import UserError
    from registry.executors import Job
    from registry.executors.slurm import SlurmExecutor

    rundir = tmp_path / "home" / "runs" / "k"
    rundir.mkdir(parents=True)
    (rundir / "stage.json").write_text(json.dumps({"key": "k", "deps": {}, "dep_dirs": {}}))
    with pytest.raises(UserError, match=message.replace("(", r"\(")):
        SlurmExecutor(options=options).launch([Job("k", rundir)], lambda *a: None)
    assert not (rundir / "submitted.json").exists()
    assert not slurm_jobs(slurm)


def test_cancel_stops_a_running_job_and_leaves_its_stage_resumable(env, slurm, tmp_path):
    study = tmp_path / "long.py"
    study.write_text(STUDY.replace('methods=["lt"]', 'methods=["dense"]')
                     .format(name="long", sparsities=[0.0], seed=0, train={"epochs": 40, "sleep": 0.5}))
    out = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert out.returncode == 0, out.stderr
    (key, record), = submitted_records().items()
    rundir = home() / "runs" / key
    slurm.wait_until(lambda: (rundir / "ckpt.json").exists(), timeout=40, what="the first epoch checkpoint")
    cancel = tickets(env, "study", "cancel", str(study))
    assert "slurm: cancelled 1 of 1 submitted jobs" in cancel.stdout, cancel.stdout + cancel.stderr
    slurm.wait_until(lambda: slurm.job_state(record["job_id"]) == "CANCELLED" and not slurm_jobs(slurm),
                     timeout=30, what="the running job to be cancelled")
    # stopped by SLURM, not failed: no error.json, lease freed, checkpoints kept for the resubmission
    assert not (rundir / "error.json").exists()
    assert not (rundir / "lease.json").exists()
    assert (rundir / "ckpt.json").exists()
    assert plan_counts(study) == {"done": 0, "running": 0, "failed": 0, "missing": 1}


def test_a_job_out_of_requeues_fails_with_that_reason(env, slurm, tmp_path):
    """max_requeues=0: the first pre-timeout signal ends the run, recorded as a failure that says why."""
    study = tmp_path / "norequeue.py"
    study.write_text(STUDY.replace('methods=["lt"]', 'methods=["dense"]')
                     .format(name="norequeue", sparsities=[0.0], seed=0, train={"epochs": 40, "sleep": 0.5}))
    out = tickets({**env, "TICKETS_SLURM_MAX_REQUEUES": "0"}, "study", "run", str(study), "--executor", "slurm")
    assert out.returncode == 0, out.stderr
    (key, record), = submitted_records().items()
    rundir = home() / "runs" / key
    slurm.wait_until(lambda: (rundir / "ckpt.json").exists(), timeout=40, what="the first epoch checkpoint")
    slurm.run("scancel", "--signal=USR2", record["job_id"])
    slurm.wait_until(lambda: (rundir / "error.json").exists(), timeout=30, what="error.json")
    reason = json.loads((rundir / "error.json").read_text())["reason"]
    assert "stopped by its time limit more than max_requeues times" in reason
    slurm.wait_until(lambda: slurm.job_state(record["job_id"]) == "FAILED", timeout=30, what="FAILED")
    assert plan_counts(study)["failed"] == 1


def test_a_study_declares_its_resources_and_the_command_line_overrides_them(env, slurm, tmp_path):
    study = write_study(tmp_path, "resources")
    study.write_text(study.read_text().replace(
        'domain="fake_domain:DOMAIN",', 'domain="fake_domain:DOMAIN",\n    resources={"slurm": {"partition": "nope"}},'))
    refused = tickets(env, "study", "run", str(study), "--executor", "slurm")
    assert refused.returncode == 2 and "unknown SLURM partition 'nope'" in refused.stderr
    assert not submitted_records()

    held = {**env, "TICKETS_SLURM_SBATCH": "--hold"}  # queued, never started
    out = tickets(held, "study", "run", str(study), "--executor", "slurm", "-X", "partition=debug")
    assert out.returncode == 0, out.stderr
    records = submitted_records()
    assert len(records) == 3 and {r["resources"]["partition"] for r in records.values()} == {"debug"}
    assert tickets(env, "study", "cancel", str(study)).returncode == 0
