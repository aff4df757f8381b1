"""Workers killed by a signal (the OOM killer, a preemption) are interruptions: their stages resume
from their checkpoints, a bounded number of times, instead of failing for good."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli
from test_registry_sweep import KILL_SLEEP, SMALL, _log, _results, _study, _tickets, env, reference  # noqa: F401


def _kill_workers_one_at_a_time(home, kills: int, stop: threading.Event) -> list[str]:
    """SIGKILL the worker of a running stage that has a checkpoint, wait for that stage to be running
    again (or done) under another process, then the next; no stage is killed more than twice."""
    victims: list[str] = []
    while len(victims) < kills and not stop.is_set():
        for rundir in sorted((home / "runs").glob("*")) if (home / "runs").exists() else []:
            if victims.count(rundir.name) >= 2 or not (rundir / "ckpt.json").exists() \
                    or (rundir / "result.json").exists():
                continue
            try:
                pid = json.loads((rundir / "lease.json").read_text())["pid"]
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError, KeyError):
                continue
            victims.append(rundir.name)
            while not stop.is_set() and not (rundir / "result.json").exists():
                try:
                    if json.loads((rundir / "lease.json").read_text())["pid"] != pid:
                        break
                except (OSError, ValueError, KeyError):
                    pass
                time.sleep(0.05)
            break
        time.sleep(0.05)
    return victims


def test_workers_killed_one_at_a_time_lose_nothing_and_train_nothing_twice(env, reference):  # noqa: F811
    study, home = _study(env, sleep=KILL_SLEEP, text=SMALL), env / "home"
    proc = subprocess.Popen(_tickets("study", "run", str(study), "--workers", "2", home=home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    stop, victims = threading.Event(), []
    killer = threading.Thread(target=lambda: victims.extend(_kill_workers_one_at_a_time(home, 4, stop)))
    killer.start()
    output = proc.communicate(timeout=120)[0]
    stop.set()
    killer.join()
    assert proc.returncode == 0, output
    assert len(victims) >= 3 and output.count("resuming from its checkpoints") == len(victims)
    done = [line.split()[1] for line in _log(env).elements() if line.startswith("done")]
    assert sorted(done) == sorted(set(done)) and len(done) == 5  # 0 lost, 0 trained twice
    resumed = [line.split()[1] for line in _log(env).elements() if line.startswith("resume")]
    assert sorted(resumed) == sorted(victims)  # each killed stage went on from its checkpoint
    got, want = _results(home), _results(reference)
    assert len(got) == 5 and got.equals(want)
    epochs = "SELECT key, phase, epoch, train_loss, test_acc FROM epochs ORDER BY key, phase, epoch"
    assert Store(home).frame(epochs).equals(Store(reference).frame(epochs))


KILLED = """
from tickets.study import Grid, Study
study = Study("killed",
    Grid(datasets=["d1"], models=["m1"], methods=["lt"], sparsities=[0.5], train={{"epochs": 3, "sigkill": True}}),
    Grid(datasets=["d2"], models=["m1"], methods=["rand"], sparsities=[0.5], train={{"epochs": 1, "crash": True}}),
    domain="fake_domain:DOMAIN")
"""


def test_a_stage_killed_every_time_fails_after_its_retries_and_an_exit_status_is_a_failure(env):  # noqa: F811
    study, home = _study(env, text=KILLED), env / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 1
    runs = Store(home).frame("SELECT dataset, kind, status, error FROM runs ORDER BY dataset, kind")
    assert list(runs["status"]) == ["failed", "failed"]
    assert "worker killed by SIGKILL 3 times" in runs["error"][0]  # the pretrain: 1 try + 2 retries
    assert "worker exited with status 9" in runs["error"][1]  # an exit status is no interruption
    starts = [line.split()[1] for line in _log(env).elements() if line.startswith("start")]
    assert len(starts) == 4 and len(set(starts)) == 2  # 3 tries of the killed one, 1 of the crash
    assert "resume" in " ".join(_log(env))  # the retries went on from the checkpoints
    assert "blocked" in out.output  # the lt ticket waits on the failed pretrain
