"""Holes found by kill, race and hostile-input testing (issue 11): seeds the store cannot hold, one
bad run spoiling an ingest, copied or deleted run directories, torn leases, stray temporaries,
files corrupted after ingest."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.atomic import write_json
from registry.domain import Stage
from registry.errors import UserError
from registry.ingest import ingest, ingest_all
from registry.store import Store
from tickets.cli.main import cli


def make_run(home: Path, seed: int = 0, acc: float = 50.0, name: str | None = None, method: str = "rand",
             deps: dict | None = None) -> str:
    """A finished run directory as a worker leaves it; returns its key."""
    identity = {"dataset": "d1", "model": "m1", "method": method, "seed": seed}
    stage = Stage("ticket", identity, identity, {**identity, "check": "none", "sparsity": 0.5}, deps=deps or {})
    rundir = home / "runs" / (name or stage.key)
    write_json(rundir / "stage.json", {"key": stage.key, "kind": "ticket", "identity": identity, "spec": identity,
                                       "columns": dict(stage.columns), "deps": dict(stage.deps),
                                       "domain": "fake_domain:DOMAIN"})
    write_json(rundir / "result.json", {"test_acc": acc})
    return stage.key


# ----------------------------------------------------------------------------------- defect 2: seeds
@pytest.mark.parametrize("seed", [2 ** 63, -1, 1.5, True])
def test_a_study_seed_the_store_cannot_hold_is_refused_where_it_enters(seed):
    from tickets.study import Grid, Study

    with pytest.raises(UserError, match=r"seed .* is not an integer in \[0, 2\*\*63\)"):
        Study("s", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], sparsities=[0],
                        seeds=[0, seed])).cells()


def test_the_domain_refuses_a_seed_of_2_to_the_63():
    from tickets.domain import DOMAIN

    with pytest.raises(UserError, match="below 2\\*\\*63"):
        DOMAIN.expand({"dataset": "synthetic", "model": "lenet300", "method": "dense", "seed": 2 ** 63})


@pytest.mark.parametrize("command", [["run", "--dataset", "synthetic", "--model", "lenet300", "--method", "dense"],
                                     ["train", "--dataset", "synthetic", "--model", "lenet300", "--method", "dense"]])
def test_run_and_train_refuse_a_seed_of_2_to_the_63(tmp_path, command):
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), *command, "--seed", str(2 ** 63)])
    assert out.exit_code == 2 and "--seed" in out.output and "range" in out.output
    assert not (tmp_path / "home" / "runs").exists()


def test_one_run_with_an_unstorable_seed_does_not_keep_the_others_out(tmp_path):
    home = tmp_path / "home"
    good = [make_run(home, seed=s, acc=60 + s) for s in (1, 2)]
    bad = make_run(home, seed=2 ** 63)
    n, problems = ingest_all(Store(home))
    assert n == 2 and len(problems) == 1 and bad in problems[0] and "2**63" in problems[0]
    assert sorted(Store(home).frame("SELECT key FROM runs")["key"]) == sorted(good)


def test_a_row_the_store_refuses_costs_only_its_own_run(tmp_path, monkeypatch):
    """Whatever the checks miss and the database refuses: the batch falls back to one run at a time."""
    import duckdb

    home = tmp_path / "home"
    keys = [make_run(home, seed=s) for s in range(3)]
    store = Store(home)
    real = Store.replace_runs

    def picky(self, frames):
        if keys[1] in set(frames["runs"]["key"]):
            raise duckdb.ConversionException("Conversion Error: value out of range")
        return real(self, frames)

    monkeypatch.setattr(Store, "replace_runs", picky)
    n, problems = ingest(store, [home / "runs" / k for k in keys])
    assert n == 2 and len(problems) == 1 and keys[1] in problems[0] and "out of range" in problems[0]
    assert sorted(store.frame("SELECT key FROM runs")["key"]) == sorted([keys[0], keys[2]])


# ----------------------------------------------------------------------- defect 5: copied run dirs
def test_a_copied_run_directory_never_overrides_the_run(tmp_path):
    import shutil

    home = tmp_path / "home"
    key = make_run(home, acc=50.0)
    shutil.copytree(home / "runs" / key, home / "runs" / f"{key}.old")
    write_json(home / "runs" / f"{key}.old" / "result.json", {"test_acc": 99.0})
    edited = make_run(home, seed=7, acc=70.0)
    stage = json.loads((home / "runs" / edited / "stage.json").read_text())
    write_json(home / "runs" / edited / "stage.json", {**stage, "identity": {**stage["identity"], "seed": 8}})
    n, problems = ingest_all(Store(home))
    assert n == 1 and Store(home).frame("SELECT key, test_acc FROM run_results").values.tolist() == [[key, 50.0]]
    assert any(f"{key}.old: the directory is not named after its key" in p for p in problems)
    assert any(edited in p and "do not hash to its key" in p for p in problems)


# ---------------------------------------------------------------- defect 8: torn or empty lease.json
def test_an_empty_lease_is_stale_after_a_short_grace_not_the_whole_timeout(tmp_path, monkeypatch):
    from registry import lease

    monkeypatch.setenv("TICKETS_LEASE_TIMEOUT", "120")
    rundir = tmp_path / "run"
    rundir.mkdir()
    (rundir / "lease.json").write_text("")  # a writer killed between create and write
    assert lease.acquire(rundir) is None  # within the grace: perhaps still being written
    old = os.stat(rundir / "lease.json").st_mtime - 10
    os.utime(rundir / "lease.json", (old, old))
    assert lease.holder(rundir) is None
    taken = lease.acquire(rundir)
    assert taken is not None and json.loads((rundir / "lease.json").read_text())["token"] == taken.token
    assert lease.acquire(rundir) is None  # and now it is ours, published whole
    assert [p.name for p in rundir.iterdir() if p.name.endswith(".tmp")] == []
    (rundir / "lease.json").write_text("[]")  # valid JSON, not a lease: the same short grace
    os.utime(rundir / "lease.json", (old, old))
    assert lease.acquire(rundir) is not None


def test_a_lease_is_never_seen_empty_while_it_is_published(tmp_path, monkeypatch):
    """The file appears with its content (a link of a complete temporary), never before it."""
    from registry import lease

    rundir = tmp_path / "run"
    rundir.mkdir()
    seen = []
    real_link = os.link

    def watching_link(src, dst, *a, **kw):
        seen.append(Path(dst).exists())
        real_link(src, dst, *a, **kw)
        seen.append(json.loads(Path(dst).read_text())["pid"] == os.getpid())

    monkeypatch.setattr(os, "link", watching_link)
    assert lease.acquire(rundir) is not None and seen == [False, True]


def test_a_worker_runs_a_stage_whose_lease_file_was_left_empty(tmp_path, monkeypatch):
    from registry.worker import run_stage

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    identity = {"dataset": "d1", "model": "m1", "seed": 0}
    stage = Stage("pretrain", identity, {**identity, "train": {"epochs": 1, "sleep": 0.0}}, identity)
    rundir = tmp_path / "home" / "runs" / stage.key
    write_json(rundir / "stage.json", {"key": stage.key, "kind": stage.kind, "spec": dict(stage.spec),
                                       "columns": dict(stage.columns), "deps": {}, "domain": "fake_domain:DOMAIN"})
    (rundir / "lease.json").write_text("")
    old = os.stat(rundir / "lease.json").st_mtime - 10
    os.utime(rundir / "lease.json", (old, old))
    assert run_stage(rundir) == 0 and (rundir / "result.json").exists() and not (rundir / "lease.json").exists()


# --------------------------------------------------------------------- defect 9: stray temporaries
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stray_temporaries_of_dead_writers_are_swept(tmp_path):
    from registry.sweep import host_tag, writer_tag

    home = tmp_path / "home"
    key = make_run(home)
    rundir, dead = home / "runs" / key, _dead_pid()
    stray = [rundir / f".result.json.k3j9x.{dead}-{host_tag()}.tmp",
             rundir / f".progress.json.a1b2.{dead}-{host_tag()}.tmp",
             rundir / "train" / f".ckpt-0001.pt.zz.{dead}-{host_tag()}.tmp",
             rundir / ".metrics.jsonl.oldstyle.tmp",  # no writer tag (an older version): goes by age
             home / f".store.duckdb.{dead}.tmp", home / f".store.duckdb.{dead}.tmp.wal"]
    live = [rundir / f".result.json.q.{writer_tag()}.tmp",  # this process: still writing
            rundir / ".layers.json.fresh.tmp"]  # untagged and young
    for path in stray + live:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    hour_ago = os.stat(rundir / ".metrics.jsonl.oldstyle.tmp").st_mtime - 3600
    os.utime(rundir / ".metrics.jsonl.oldstyle.tmp", (hour_ago, hour_ago))
    n, problems = ingest_all(Store(home))
    assert n == 1 and not problems
    assert [p for p in stray if p.exists()] == [] and all(p.exists() for p in live)


def test_a_worker_sweeps_its_run_directory_when_it_takes_the_lease(tmp_path, monkeypatch):
    from registry.sweep import host_tag
    from registry.worker import run_stage

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    identity = {"dataset": "d1", "model": "m1", "seed": 0}
    stage = Stage("pretrain", identity, {**identity, "train": {"epochs": 1, "sleep": 0.0}}, identity)
    rundir = tmp_path / "home" / "runs" / stage.key
    write_json(rundir / "stage.json", {"key": stage.key, "kind": stage.kind, "spec": dict(stage.spec),
                                       "columns": dict(stage.columns), "deps": {}, "domain": "fake_domain:DOMAIN"})
    stray = rundir / f".progress.json.x.{_dead_pid()}-{host_tag()}.tmp"
    stray.write_text("{")
    assert run_stage(rundir) == 0 and not stray.exists()
    assert not [p.name for p in rundir.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------- defect 10: files corrupted later
def test_an_unreadable_mask_is_set_aside_and_computed_again(tmp_path):
    import types

    import torch

    from tickets.pruning.steps import MASK_FILE, prune

    (tmp_path / MASK_FILE).write_bytes(b"PK\x03\x04 truncated")
    want = {"fc.weight": torch.tensor([True, False, True])}
    with pytest.warns(RuntimeWarning, match="unreadable"):
        got = prune(types.SimpleNamespace(rundir=tmp_path), lambda: want)
    assert torch.equal(got["fc.weight"], want["fc.weight"]) and (tmp_path / f"{MASK_FILE}.corrupt").exists()
    assert torch.equal(torch.load(tmp_path / MASK_FILE)["fc.weight"], want["fc.weight"])


# ------------------------------------------- a stage finished by another scheduler after our look
def _fake_stage_dir(tmp_path):
    identity = {"dataset": "d1", "model": "m1", "seed": 0}
    stage = Stage("pretrain", identity, {**identity, "train": {"epochs": 1, "sleep": 0.0}}, identity)
    rundir = tmp_path / "home" / "runs" / stage.key
    write_json(rundir / "stage.json", {"key": stage.key, "kind": stage.kind, "spec": dict(stage.spec),
                                       "columns": dict(stage.columns), "deps": {}, "domain": "fake_domain:DOMAIN"})
    return stage.key, rundir


def test_a_worker_that_finds_the_result_already_there_says_so_and_the_command_still_exits_0(tmp_path):
    from registry.worker import DONE_ELSEWHERE, main, run_stage

    _, rundir = _fake_stage_dir(tmp_path)
    write_json(rundir / "result.json", {"test_acc": 1.0})
    assert run_stage(rundir) == DONE_ELSEWHERE != 0
    assert main([str(rundir)]) == 0  # one-shot executors (SLURM) judge by result.json and exit 0


def test_a_stage_another_scheduler_finished_after_our_look_is_done_but_not_counted_as_ours(tmp_path, monkeypatch):
    """Two schedulers started together: the result can land between this executor's look at the run
    directory and its worker's. The worker runs nothing; the stage is done, and marked as done
    elsewhere, so `N ran now` counts only what this scheduler trained (it summed to 6 for 5 stages)."""
    from registry.executors import Job
    from registry.executors.local import LocalExecutor

    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))
    key, rundir = _fake_stage_dir(tmp_path)
    start = LocalExecutor._start

    def finished_meanwhile(self, job, slot, servers):
        write_json(job.rundir / "result.json", {"test_acc": 1.0})  # the other scheduler's worker, just now
        return start(self, job, slot, servers)

    monkeypatch.setattr(LocalExecutor, "_start", finished_meanwhile)
    events = []
    LocalExecutor(workers=1).launch([Job(key, rundir)], lambda event, job, info: events.append((event, dict(info))))
    assert [e for e, _ in events] == ["start", "done"] and events[-1][1] == {"elsewhere": True}
    assert not (rundir / "meta.json").exists()  # nothing trained here
