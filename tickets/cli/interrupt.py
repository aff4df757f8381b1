"""Ctrl-C during a run: say what survives and how to go on, instead of click's bare "Aborted!"."""
from __future__ import annotations

import contextlib
import shlex
import sys
from typing import Iterator

import click


def _again() -> str:
    """The command line as typed (the same command resumes)."""
    args = [a for a in sys.argv[1:]]
    return "tickets " + " ".join(shlex.quote(a) for a in args) if args else "the same command"


@contextlib.contextmanager
def resumable(what: str = "stages") -> Iterator[None]:
    """Turn KeyboardInterrupt into one line saying a rerun resumes, and exit 130 (as a shell would)."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: finished {what} are kept and an interrupted one resumes from its last "
                   f"checkpoint; run `{_again()}` again to continue", err=True)
        raise click.exceptions.Exit(130) from None
