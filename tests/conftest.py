"""Shared test setup: every test gets its own tickets home and a session-wide data cache, so
tests never touch the user's ~/.cache or a .tickets/ in the working directory."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def data_root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("data"))


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path, data_root, monkeypatch):
    monkeypatch.setenv("TICKETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TICKETS_DATA", data_root)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", os.environ.get("CUDA_VISIBLE_DEVICES", ""))
    monkeypatch.setenv("TICKETS_PLUGINS", os.environ.get("TICKETS_PLUGINS", ""))  # `--plugin` writes it
    monkeypatch.setenv("TICKETS_TRACK", os.environ.get("TICKETS_TRACK", ""))  # `-X track=` writes it
    from registry.naming import Registry

    before = [(r, set(r.names())) for r in Registry.instances]
    yield
    for registry, names in before:  # a test's plugin names never leak into the next test
        for name in set(registry.names()) - names:
            if _from_a_file_elsewhere(registry.get(name)):
                registry.unregister(name)


REPOSITORY = Path(__file__).resolve().parents[1]


def _from_a_file_elsewhere(obj) -> bool:
    """Registered by a plugin file a test wrote, not by one of the project's own modules (those are
    imported lazily, once per process: forgetting their names would lose them for good)."""
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    path = getattr(module, "__file__", None)
    return path is not None and not Path(path).resolve().is_relative_to(REPOSITORY)


@pytest.fixture(scope="module")
def single_thread():
    """Tiny models train ~10x faster on one intra-op thread when the 2 cores are shared; modules that
    train many of them use it with `pytestmark = pytest.mark.usefixtures("single_thread")`."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`scripts/test.sh` runs two test processes), every test on the session's
    SLURM cluster goes to one process, so one cluster serves them all (`--dist loadgroup`)."""
    for item in items:
        if {"slurm", "slurm_cluster_session"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.xdist_group("slurm"))
