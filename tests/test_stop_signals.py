"""SIGTERM (`kill PID`), SIGHUP (a closed terminal) and Ctrl-C stop `tickets study run` alike: its
workers are stopped (none left running as orphans), checkpoints are kept, one line says a rerun
resumes, and the rerun does. Real processes; every wait is on a state (a file, a pid), never a sleep."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from registry.lease import pid_dead

TESTS = Path(__file__).parent
STUDY = ("from tickets.study import Grid, Study\n"
         "study = Study('stop', Grid(datasets=['d1'], models=['m1'], methods=['dense'], sparsities=[0], seeds=[0],\n"
         "    train={'epochs': 3, 'sleep': 0}), domain='fake_domain:DOMAIN')\n")


def _wait_for(condition, what: str, bound: float = 120.0) -> None:
    """Wait on a state; the bound only turns a hang into a failure naming what never happened."""
    end = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < end, f"never happened: {what}"
        time.sleep(0.02)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "SIGINT to the group"])
def test_a_stop_signal_stops_the_workers_keeps_checkpoints_and_a_rerun_resumes(tmp_path, how):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
           "FAKE_DOMAIN_LOG": str(tmp_path / "log"), "FAKE_DOMAIN_GATE": str(tmp_path / "gate")}
    (tmp_path / "gate").mkdir()
    study, home = tmp_path / "stop.py", tmp_path / "home"
    study.write_text(STUDY)
    command = [sys.executable, "-m", "tickets.cli.main", "--home", str(home), "study", "run", str(study)]
    sweep = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    # the stage has written its first checkpoint and is parked at the gate: a busy worker
    _wait_for(lambda: list((tmp_path / "gate").glob("*.1.waiting")), "the stage reached its first checkpoint")
    (waiting,) = (tmp_path / "gate").glob("*.1.waiting")
    key, worker = waiting.name.split(".")[0], json.loads(waiting.read_text())["pid"]
    if how == "SIGINT to the group":
        os.killpg(sweep.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    else:
        sweep.send_signal(getattr(signal, how))  # the scheduler alone, as `kill PID` does
    output = sweep.communicate()[0]
    signum = signal.SIGINT if how.startswith("SIGINT") else getattr(signal, how)
    assert sweep.returncode == 128 + signum, output
    lines = [line for line in output.splitlines() if line.startswith("interrupted:")]
    assert len(lines) == 1 and "resumes from its last checkpoint" in lines[0] and "again to continue" in lines[0]
    assert "Traceback" not in output and "Aborted!" not in output
    _wait_for(lambda: pid_dead(worker), f"worker {worker} stopped")  # no orphaned registry.worker
    assert json.loads((home / "runs" / key / "ckpt.json").read_text()) == {"epoch": 1}
    env.pop("FAKE_DOMAIN_GATE")
    again = subprocess.run(command, env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stdout + again.stderr
    log = (tmp_path / "log").read_text().splitlines()
    assert f"resume {key} from 1" in log and log.count(f"done {key}") == 1
