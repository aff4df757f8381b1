"""The command line's front door: help is instant (no torch), every listed command resolves,
and user errors print one line and exit 2."""
from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from tickets.cli.main import COMMANDS, cli


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys; from tickets.cli.main import cli\n"
        "try:\n    cli(['--help'], prog_name='tickets')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'pandas', 'duckdb', 'matplotlib', 'sqlmodel') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "HEAVY []" in out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_listed_command_resolves(name):
    command = cli.get_command(click.Context(cli), name)
    assert isinstance(command, click.Command)


def test_unknown_command_fails():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code != 0
    assert "no-such-command" in result.output
