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


def _kill_at_gates(gate, kills: int, sweep: subprocess.Popen) -> list[str]:
    """Each stage stops at a gate after every checkpoint (fake_domain FAKE_DOMAIN_GATE): the first
    `kills` stages to reach their first one have their worker SIGKILLed there (a checkpoint on disk,
    no result); every other gate is opened. Acts on states only, so the machine's speed does not
    matter."""
    victims: list[str] = []
    handled: set[str] = set()
    while sweep.poll() is None:
        for waiting in sorted(gate.glob("*.waiting")):
            if waiting.name in handled:
                continue
            handled.add(waiting.name)
            key, epoch = waiting.name.split(".")[:2]
            pid = json.loads(waiting.read_text())["pid"]
            if epoch == "1" and len(victims) < kills and key not in victims:
                os.kill(pid, signal.SIGKILL)
                victims.append(key)
            else:
                (gate / f"{key}.{epoch}.go").touch()
        time.sleep(0.02)
    return victims


def test_workers_killed_one_at_a_time_lose_nothing_and_train_nothing_twice(env, reference):  # noqa: F811
    study, home = _study(env, sleep=KILL_SLEEP, text=SMALL), env / "home"  # the reference's keys
    gate = env / "gate"
    gate.mkdir()
    proc = subprocess.Popen(_tickets("study", "run", str(study), "--workers", "2", home=home),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "FAKE_DOMAIN_GATE": str(gate)})
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.append(proc.stdout.read()))
    reader.start()
    victims = _kill_at_gates(gate, 4, proc)
    reader.join()
    output = output[0]
    assert proc.returncode == 0, output
    assert len(victims) == 4 and output.count("resuming from its checkpoints") == len(victims)
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
