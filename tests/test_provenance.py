"""Provenance of every run (issue 21): git state with a hash of local changes, an environment hash,
torch's build string and a data fingerprint, in meta.json, the store and `tickets runs show`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry import provenance
from registry.store import Store
from tickets.cli.main import cli

TESTS = Path(__file__).parent


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                        "GIT_COMMITTER_EMAIL": "t@t"})


def test_git_state_tells_clean_dirty_and_different_edits_apart(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "code.py").write_text("x = 1\n")
    _git(repo, "add", "code.py")
    _git(repo, "commit", "-q", "-m", "one")

    def state():
        provenance.git_state.cache_clear()
        provenance.git_commit.cache_clear()
        return provenance.git_state(str(repo / "code.py"))

    clean = state()
    assert len(clean["git_commit"]) == 40 and clean["git_dirty"] is False and clean["git_diff_hash"] is None
    (repo / "code.py").write_text("x = 2\n")
    first = state()
    (repo / "code.py").write_text("x = 3\n")
    second = state()
    assert first["git_dirty"] and second["git_dirty"] and first["git_commit"] == clean["git_commit"]
    assert first["git_diff_hash"] != second["git_diff_hash"] and len(first["git_diff_hash"]) == 16
    (repo / "code.py").write_text("x = 1\n")
    (repo / "new_module.py").write_text("y = 1\n")  # untracked code counts as a local change
    assert state()["git_dirty"] is True
    provenance.git_state.cache_clear()
    assert provenance.git_state(str(tmp_path / "elsewhere")) == {}


def test_environment_hash_is_stable_and_names_packages():
    names = dict(provenance.environment())
    assert "duckdb" in names and provenance.env_hash() == provenance.env_hash()
    assert len(provenance.env_hash()) == 16


def test_torch_build_carries_the_local_version_tag_once_torch_is_imported():
    import torch

    build = provenance.torch_build()
    assert build.split()[0] == torch.__version__
    if torch.version.cuda:
        assert f"cuda {torch.version.cuda}" in build


def test_data_fingerprints_follow_the_bytes(tmp_path, monkeypatch):
    from tickets.data.fingerprint import data_fingerprint

    assert data_fingerprint("synthetic") == data_fingerprint("synthetic")
    assert data_fingerprint("synthetic").startswith("tensors:")
    root = tmp_path / "data"
    cache = root / "mnist" / "mnist.uint8.pt"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"a" * 1000)
    first = data_fingerprint("mnist", root)
    assert first.startswith("file:") and (cache.parent / "mnist.uint8.pt.sha256").exists()
    assert data_fingerprint("mnist", root) == first  # from the remembered hash
    cache.write_bytes(b"b" * 1001)
    assert data_fingerprint("mnist", root) != first
    assert data_fingerprint("cifar10", tmp_path / "nothing-here") is None


@pytest.mark.slow
def test_a_run_records_provenance_in_meta_store_and_runs_show(tmp_path):
    home = tmp_path / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "run", "--dataset", "synthetic", "--model", "lenet300",
                                   "--method", "random_tickets", "--sparsity", "0.5", "--set", "epochs=1"])
    assert out.exit_code == 0, out.output
    (rundir,) = (home / "runs").iterdir()
    meta = json.loads((rundir / "meta.json").read_text())
    import torch

    assert meta["torch_build"].startswith(torch.__version__)
    assert meta["data_fingerprint"].startswith("tensors:") and len(meta["env_hash"]) == 16
    assert meta["domain_version"] == 1 and len(meta["git_commit"]) == 40  # the tests run from a checkout
    row = Store(home).frame("SELECT * FROM runs").iloc[0]
    for name in ("git_commit", "env_hash", "torch_build", "data_fingerprint"):
        assert row[name] == meta[name]
    assert bool(row["git_dirty"]) == meta["git_dirty"] and row["domain_version"] == 1
    shown = CliRunner().invoke(cli, ["--home", str(home), "runs", "show", rundir.name])
    assert f"env_hash     {meta['env_hash']}" in shown.output
    assert f"data_fingerprint {meta['data_fingerprint']}" in shown.output
    assert "domain_version 1" in shown.output
    # the vector instruction set torch dispatched to: the same build sums differently on another CPU kind
    assert meta["cpu_capability"] == torch.backends.cpu.get_cpu_capability() == row["cpu_capability"]
    assert f"cpu_capability {meta['cpu_capability']}" in shown.output
