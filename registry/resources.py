"""Where the project's shared folders (`reports/`, `templates/`, `studies/`) are, for both installs.

In a checkout (an editable install, or PYTHONPATH pointing at it) they sit at the repository root,
next to the packages. A plain `pip install .` ships them as data files under
`<prefix>/share/tickets/` (pyproject's `[tool.setuptools.data-files]`), so `tickets report table1`
works without the source tree. The checkout wins when both exist."""
from __future__ import annotations

import site
import sys
import sysconfig
from pathlib import Path

DIST = "tickets"
SHARED = ("reports", "templates", "studies")


def candidates(name: str) -> list[Path]:
    """Every place `name` may live, in the order they are tried."""
    root = Path(__file__).resolve().parents[1]
    out = []
    if (root / "pyproject.toml").exists():  # a source checkout, not site-packages
        out.append(root / name)
    prefixes = [sysconfig.get_path("data"), sys.prefix, sys.exec_prefix]
    try:
        prefixes.append(site.getuserbase())  # pip install --user
    except Exception:  # pragma: no cover - site without a user base
        pass
    for prefix in prefixes:
        path = Path(prefix) / "share" / DIST / name
        if path not in out:
            out.append(path)
    return out


def shared_dir(name: str) -> Path:
    """The folder `name` ("reports", "templates", "studies"); the first candidate when none exists
    (so an error message names where it was expected)."""
    found = candidates(name)
    for path in found:
        if path.is_dir():
            return path
    return found[0]
