"""Ctrl-C, SIGTERM or SIGHUP during a run: stop the workers, say what survives and how to go on,
instead of click's bare "Aborted!" (or, for SIGTERM, dying at once and leaving the workers running
as orphans)."""
from __future__ import annotations

import contextlib
import shlex
import signal
import sys
import threading
from typing import Iterator

import click

# `kill PID` (SIGTERM: a batch system's stop, `systemctl stop`) and a closed terminal or SSH session
# (SIGHUP) stop a run as Ctrl-C does.
STOPPING = (signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal other than SIGINT, raised where Ctrl-C would be so every KeyboardInterrupt
    handler (the executors stop their workers there) runs for it too."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _again() -> str:
    """The command line as typed (the same command resumes)."""
    args = [a for a in sys.argv[1:]]
    return "tickets " + " ".join(shlex.quote(a) for a in args) if args else "the same command"


def _stop(signum: int, frame) -> None:
    for sig in STOPPING:  # one stop is enough: a second signal must not cut the cleanup short
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signum)


@contextlib.contextmanager
def resumable(what: str = "stages") -> Iterator[None]:
    """Turn KeyboardInterrupt, SIGTERM and SIGHUP into one line saying a rerun resumes, and exit
    128 + the signal's number (130 for Ctrl-C), as a shell would."""
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, _stop) for sig in STOPPING} if main else {}
    if main:  # Ctrl-C / `kill -INT` too where the process inherited SIGINT ignored (a script's `&` job)
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
        how = "" if signum == signal.SIGINT else f" (stopped by {signal.Signals(signum).name}; its workers are stopped)"
        try:
            click.echo(f"\ninterrupted: finished {what} are kept and an interrupted one resumes from its last "
                       f"checkpoint; run `{_again()}` again to continue{how}", err=True)
        except OSError:  # SIGHUP: the terminal may be gone
            pass
        raise click.exceptions.Exit(128 + int(signum)) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
