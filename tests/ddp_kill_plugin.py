"""Test plugin (tests/test_ddp_runs.py): SIGKILL rank 1 of a multi-rank run once, in the middle of
its second epoch. Every rank process imports a study's plugins before the domain, so patching the
loop's DDP hook here reaches the rank; the marker file makes it happen on the first attempt only.
In the attempt after the kill, rank 1 writes how many training steps it ran to `<marker>.steps`."""
import atexit
import os
import signal
from pathlib import Path

MARKER = os.environ.get("TICKETS_TEST_KILL_MARKER")
KILL_AT = int(os.environ.get("TICKETS_TEST_KILL_AT", "0"))  # the rank's n-th training step

if MARKER and KILL_AT and os.environ.get("RANK") == "1":
    from tickets.train import distributed

    original = distributed.scale_loss
    resumed = Path(MARKER).exists()
    steps = [0]

    def scale_loss(loss, mine, total, d):
        steps[0] += 1
        if not resumed and steps[0] == KILL_AT:
            Path(MARKER).write_text(f"{os.getpid()}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return original(loss, mine, total, d)

    distributed.scale_loss = scale_loss
    if resumed:
        atexit.register(lambda: Path(MARKER + ".steps").write_text(f"{steps[0]}\n"))
