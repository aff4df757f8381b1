"""Reports, templates and studies reach a plain `pip install .` (issue 15), and own report folders
add to the built-in one."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from tickets.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]


def _shipped(folder: str, pattern: str) -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).glob(pattern)}


@pytest.mark.slow
def test_a_plain_install_has_reports_templates_and_studies(tmp_path):
    src = tmp_path / "src"  # build from a copy: a build leaves build/ and *.egg-info behind
    src.mkdir()
    for name in ("tickets", "registry", "reports", "templates", "studies"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "dist")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    wheel = next((tmp_path / "dist").glob("tickets-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    data = {n.split("/data/share/tickets/", 1)[1] for n in names if "/data/share/tickets/" in n}
    expected = (_shipped("reports", "*.py") | _shipped("reports", "paper/*.csv") | _shipped("templates", "*.j2")
                | _shipped("studies", "*.py"))
    assert expected <= data, expected - data

    # install it (not editable) into a fresh environment and render a report from outside the checkout
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True,
                   timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
                   check=True, timeout=300, capture_output=True)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run([str(python), "-c", "import tickets, registry.resources as r; "
                            "print(tickets.__file__); print(r.shared_dir('reports')); print(r.shared_dir('templates')); "
                            "print(r.shared_dir('studies'))"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    package, reports, templates, studies = probe.stdout.split()
    assert str(venv) in package and Path(reports) == venv / "share" / "tickets" / "reports"
    assert (Path(templates) / "report.tex.j2").exists() and (Path(studies) / "quickstart.py").exists()
    listed = subprocess.run([str(venv / "bin" / "tickets"), "report"], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60)
    assert listed.returncode == 0 and "table1" in listed.stdout and "figure3" in listed.stdout, listed.stderr


def test_the_checkout_and_an_installed_prefix_are_both_found(tmp_path, monkeypatch):
    import sysconfig

    from registry import resources

    assert resources.shared_dir("reports") == ROOT / "reports"  # a checkout: next to the packages
    site = tmp_path / "site-packages" / "registry"
    site.mkdir(parents=True)
    prefix = tmp_path / "prefix"
    (prefix / "share" / "tickets" / "reports").mkdir(parents=True)
    monkeypatch.setattr(resources, "__file__", str(site / "resources.py"))
    real = sysconfig.get_path
    monkeypatch.setattr(sysconfig, "get_path", lambda name, *a, **k: str(prefix) if name == "data" else real(name, *a, **k))
    assert resources.shared_dir("reports") == prefix / "share" / "tickets" / "reports"


OWN_REPORT = '''
from registry.report.spec import Axis, AutoRows, Report
REPORT = Report(name="mine", title="My own table", columns=(Axis("sparsity"),), auto_rows=AutoRows(), seeds=1)
'''


def test_own_report_folders_add_to_the_built_in_one(tmp_path, monkeypatch):
    own = tmp_path / "myreports"  # no __init__.py
    own.mkdir()
    (own / "mine.py").write_text(OWN_REPORT)
    other = tmp_path / "more"
    other.mkdir()
    (other / "broken.py").write_text("REPORT = undefined_name\n")
    monkeypatch.setenv("TICKETS_REPORTS", os.pathsep.join([str(own), str(other)]))
    out = CliRunner().invoke(cli, ["report"])
    # listing loads every declaration: the broken one is named in one line
    assert out.exit_code == 2 and "broken.py: NameError" in out.output
    (other / "broken.py").unlink()
    out = CliRunner().invoke(cli, ["report"])
    assert out.exit_code == 0, out.output
    assert "mine" in out.output and "My own table" in out.output and "table1" in out.output
    monkeypatch.setenv("TICKETS_REPORTS", str(tmp_path / "nope"))
    out = CliRunner().invoke(cli, ["report"])
    assert out.exit_code == 2 and "TICKETS_REPORTS names" in out.output and "nope" in out.output


def test_built_in_studies_are_found_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no studies/ here: the built-in folder answers
    home = str(tmp_path / "h")
    for name in ("quickstart", "studies/quickstart.py"):
        out = CliRunner().invoke(cli, ["--home", home, "study", "plan", name])
        assert out.exit_code == 0 and "32 stages with shared pretraining" in out.output, out.output
    out = CliRunner().invoke(cli, ["--home", home, "study", "plan", "nosuch"])
    assert out.exit_code == 2 and "study file nosuch not found; built-in studies: ablation_ratios" in out.output
