"""What code produced a run: the domain package's version, its git commit when it runs from a
checkout, and the torch version (results differ across torch releases), recorded as
`code_version` in meta.json and the store, e.g. "tickets 0.1.0 git 1c9d4f0a2b3c torch 2.5.1".

Both lookups are cheap and cached per process: the commit is read from `.git` directly (no
subprocess in the common case, `git rev-parse HEAD` with a timeout otherwise); the torch version
comes from package metadata without importing torch."""
from __future__ import annotations

import functools
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _read_head(git_dir: Path) -> str | None:
    head = (git_dir / "HEAD").read_text().strip()
    if not head.startswith("ref:"):
        return head or None
    ref = head.split(None, 1)[1]
    loose = git_dir / ref
    if loose.exists():
        return loose.read_text().strip()
    packed = git_dir / "packed-refs"
    if packed.exists():
        for line in packed.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[1] == ref:
                return parts[0]
    return None


def _git_dir(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: PATH"
            text = candidate.read_text().strip()
            if text.startswith("gitdir:"):
                path = Path(text.split(":", 1)[1].strip())
                return path if path.is_absolute() else (folder / path).resolve()
    return None


@functools.lru_cache(maxsize=8)
def git_commit(source: str) -> str | None:
    """The commit checked out where `source` (a file or folder) lives; None outside a checkout."""
    start = Path(source).resolve()
    start = start if start.is_dir() else start.parent
    git_dir = _git_dir(start)
    if git_dir is None:
        return None
    try:
        commit = _read_head(git_dir)
        if commit:
            return commit
    except OSError:
        pass
    try:
        done = subprocess.run(["git", "-C", str(start), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=2)
        return done.stdout.strip() or None if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


def _version(package: str) -> str | None:
    try:
        return version(package)
    except (PackageNotFoundError, ValueError):
        return None


@functools.lru_cache(maxsize=8)
def code_version(package: str, source: str | None = None, declared: str | None = None) -> str:
    """"<package> <version> [git <commit12>] [torch <version>]" for the domain package `package`
    whose code lives at `source`; `declared` (a domain's own `version`) wins over the metadata."""
    parts = [package, declared or _version(package) or "unknown"]
    commit = git_commit(source) if source else None
    if commit:
        parts += ["git", commit[:12]]
    torch = _version("torch")
    if torch:
        parts += ["torch", torch]
    return " ".join(parts)
