"""Bad input is one line (never a traceback); data prints as written (never as Rich markup); outputs
that would be wrong are refused; a stopped or failed sweep says how to go on."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent
BRACKETS = "[red]boom[/] [x] list a[/]b"


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("FAKE_DOMAIN_LOG", str(tmp_path / "executions.log"))
    return tmp_path


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.mark.parametrize("train, message", [
    ('{"epochs": "three"}', "training option epochs must be a whole number, got 'three'"),
    ('{"augment": "no"}', "training option augment must be True or False, got 'no'"),
    ('{"lr": "fast"}', "training option lr must be a number, got 'fast'"),
    ('{"milestones": [2, "x"]}', "training option milestones must be a list of whole-number epochs"),
])
def test_bad_training_values_in_a_study_are_one_line(tmp_path, train, message):
    study = tmp_path / "bad.py"
    study.write_text("from tickets.study import Grid, Study\n"
                     "study = Study('bad', Grid(datasets=['fashionmnist'], models=['lenet300'], methods=['dense'],\n"
                     f"                          sparsities=[0], seeds=[0], train={train}))\n")
    for command in ("plan", "run"):
        out = _invoke("--home", str(tmp_path / "home"), "study", command, str(study))
        assert out.exit_code == 2, out.output
        lines = out.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    assert not (tmp_path / "home" / "runs").exists()


def _store_with_brackets(home: Path) -> None:
    Store(home).add_new_runs({
        "runs": pd.DataFrame([{"key": "abcd1234", "kind": "ticket", "status": "done", "dataset": "d", "model": "m",
                               "method": "[x] list", "check": "none", "sparsity": 0.5, "seed": 0, "spec": "{}"}]),
        "results": pd.DataFrame([{"key": "abcd1234", "test_acc": 90.0}]),
    })


def test_sql_results_runs_ls_and_runs_show_print_brackets_as_written(tmp_path):
    home = tmp_path / "home"
    _store_with_brackets(home)
    out = _invoke("--home", str(home), "sql", "SELECT 'a[/]b' AS x, method AS \"[b]m\" FROM runs")
    assert out.exit_code == 0, out.output
    assert "a[/]b" in out.output and "[x] list" in out.output and "[b]m" in out.output
    out = _invoke("--home", str(home), "runs", "ls")
    assert out.exit_code == 0 and "[x] list" in out.output, out.output
    out = _invoke("--home", str(home), "runs", "show", "abcd")
    assert out.exit_code == 0 and "[x] list" in out.output, out.output


STUDY = """
from tickets.study import Grid, Study
study = Study("[x] brackets", Grid(datasets=["d1"], models=["m1"], methods=["dense"], sparsities=[0], seeds=[0],
                                   train={{"epochs": 1, "sleep": 0.01, "fail": {fail!r}}}), domain="fake_domain:DOMAIN")
"""


def test_failure_reasons_print_as_written_and_a_rerun_names_retry_failed(fake):
    study = fake / "s.py"
    study.write_text(STUDY.format(fail=BRACKETS))
    home = str(fake / "home")
    out = _invoke("--home", home, "study", "run", str(study))
    assert out.exit_code == 1, out.output
    assert f"RuntimeError: {BRACKETS}" in out.output, out.output
    out = _invoke("--home", home, "study", "run", str(study))
    assert out.exit_code == 1 and "1 failed" in out.output
    assert f"RuntimeError: {BRACKETS}" in out.output
    assert "--retry-failed" in out.output, out.output
    out = _invoke("--home", home, "study", "status", str(study))
    assert "study [x] brackets" in out.output and BRACKETS in out.output, out.output


@pytest.mark.parametrize("name", ["table.pdf", "x.docx", "table"])
def test_report_refuses_an_output_name_it_cannot_write_truthfully(tmp_path, name):
    target = tmp_path / name
    out = _invoke("--home", str(tmp_path / "home"), "report", "quickstart", "-o", str(target))
    assert out.exit_code == 2, out.output
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot write a report to ") and ".tex" in lines[0], lines
    assert not target.exists()


def test_report_suffixes_still_choose_the_format(tmp_path):
    from test_report_paper import imported_runs

    runs = imported_runs("table1")
    runs["key"] = [f"k{i:04d}" for i in range(len(runs))]
    Store(tmp_path / "home").add_new_runs({"runs": runs, "results": runs[["key", "test_acc", "best_test_acc"]]})
    for name, needle in (("t.md", "| VGG19"), ("t.csv", ","), ("t.txt", "VGG19"), ("t.tex", "\\textbf")):
        out = _invoke("--home", str(tmp_path / "home"), "report", "table1", "-o", str(tmp_path / name))
        assert out.exit_code == 0, out.output
        assert needle in (tmp_path / name).read_text(), name


def test_ctrl_c_says_that_a_rerun_resumes(fake):
    study = fake / "slow.py"
    study.write_text("from tickets.study import Grid, Study\n"
                     "study = Study('slow', Grid(datasets=['d1'], models=['m1'], methods=['dense'], sparsities=[0],\n"
                     "              seeds=[0], train={'epochs': 40, 'sleep': 0.25}), domain='fake_domain:DOMAIN')\n")
    home = fake / "home"
    proc = subprocess.Popen([sys.executable, "-m", "tickets.cli.main", "--home", str(home), "study", "run", str(study)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list(home.glob("runs/*/progress.json")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, output
    assert "Aborted!" not in output
    assert "interrupted: finished stages are kept" in output and "again to continue" in output, output
    assert f"study run {study}" in output
