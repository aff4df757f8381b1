"""What code produced a run: the domain package's version, its git commit when it runs from a
checkout, and the torch version (results differ across torch releases), recorded as
`code_version` in meta.json and the store, e.g. "tickets 0.1.0 git 1c9d4f0a2b3c torch 2.5.1".

Both lookups are cheap and cached per process: the commit is read from `.git` directly (no
subprocess in the common case, `git rev-parse HEAD` with a timeout otherwise); the torch version
comes from package metadata without importing torch."""
from __future__ import annotations

import functools
import hashlib
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


# ------------------------------------------------------------------------------------ issue 21
# What else made a run's numbers: the working tree (a dirty checkout is not its commit), the
# installed environment, torch's exact build. Recorded in meta.json and the store (runs table),
# never in a key: reports use them to mark cells that pool runs made under different conditions.
PROVENANCE_FIELDS = ("git_commit", "git_dirty", "git_diff_hash", "env_hash", "torch_build")
HASH_LENGTH = 16


def _git(start: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(["git", "-C", str(start), *args], capture_output=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


@functools.lru_cache(maxsize=8)
def git_state(source: str) -> dict[str, object]:
    """{"git_commit", "git_dirty", "git_diff_hash"} of the checkout holding `source` ({} outside one).

    Dirty means tracked changes against HEAD or untracked, not ignored files; the hash covers
    `git diff HEAD --binary` plus the untracked files' names and sizes, so two runs from the same
    commit with different local edits are told apart. Cached per process, like the imported code."""
    start = Path(source).resolve()
    start = start if start.is_dir() else start.parent
    commit = git_commit(str(start))
    if commit is None:
        return {}
    out: dict[str, object] = {"git_commit": commit}
    diff = _git(start, "diff", "HEAD", "--binary")
    untracked = _git(start, "ls-files", "--others", "--exclude-standard", "-z")
    if diff is None or untracked is None:  # no git binary: the commit is all we know
        return out
    digest = hashlib.sha256(diff)
    names = sorted(n for n in untracked.decode(errors="replace").split("\0") if n)
    for name in names:
        try:
            size = (start / name).stat().st_size
        except OSError:
            size = -1
        digest.update(f"\0{name}\0{size}".encode())
    out["git_dirty"] = bool(diff.strip() or names)
    out["git_diff_hash"] = digest.hexdigest()[:HASH_LENGTH] if out["git_dirty"] else None
    return out


@functools.lru_cache(maxsize=1)
def environment() -> tuple[tuple[str, str], ...]:
    """(name, version) of every installed distribution, sorted, names normalised."""
    from importlib.metadata import distributions

    seen: dict[str, str] = {}
    for dist in distributions():
        name = (dist.metadata["Name"] or "").strip().lower().replace("_", "-")
        if name:
            seen.setdefault(name, dist.version)
    return tuple(sorted(seen.items()))


def env_hash() -> str:
    """A short hash of the installed package versions: equal environments, equal hash."""
    text = "\n".join(f"{name}=={ver}" for name, ver in environment())
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def torch_build() -> str | None:
    """torch's full build string, e.g. "2.14.1+cu130 cuda 13.0 cudnn 91200" (the local version
    tag and the CUDA/cuDNN it was built with), read only when the domain imported torch already;
    else the package metadata's version (which lacks the local tag)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not hasattr(torch, "__version__"):
        return _version("torch")
    parts = [str(torch.__version__)]
    cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if cuda:
        parts += ["cuda", str(cuda)]
        try:
            cudnn = torch.backends.cudnn.version()
        except Exception:  # no cuDNN in this build
            cudnn = None
        if cudnn:
            parts += ["cudnn", str(cudnn)]
    return " ".join(parts)


def provenance(source: str | None) -> dict[str, object]:
    """Every provenance field this process can tell (missing ones left out); never raises."""
    out: dict[str, object] = {}
    for name, get in (("git", lambda: git_state(source) if source else {}),
                      ("env_hash", env_hash), ("torch_build", torch_build)):
        try:
            value = get()
        except Exception:  # provenance must never fail a run
            continue
        if isinstance(value, dict):
            out.update(value)
        elif value is not None:
            out[name] = value
    return out


BASELINE_DOMAIN_VERSION = 1  # a stage whose identity names no "domain_version" was made under 1


def stage_domain_version(stage: dict) -> int:
    """The domain version a stage's numbers belong to: its identity's "domain_version" (present
    only once a domain bumped it for that stage, so older keys never changed), else the baseline."""
    value = (stage.get("identity") or {}).get("domain_version", BASELINE_DOMAIN_VERSION)
    try:
        return int(value)
    except (TypeError, ValueError):
        return BASELINE_DOMAIN_VERSION


def run_provenance(domain: object, stage: dict) -> dict[str, object]:
    """meta.json's provenance of one run: git state of the domain's checkout, environment hash,
    torch build, the domain's `data_fingerprint(stage)` (optional) and the stage's domain version.
    Called after the run (torch is imported by then, the data decoded); never raises."""
    import sys

    module = sys.modules.get(type(domain).__module__)
    out = provenance(getattr(module, "__file__", None))
    out["domain_version"] = stage_domain_version(stage)
    fingerprint = getattr(domain, "data_fingerprint", None)
    if fingerprint is not None:
        try:
            value = fingerprint(stage)
            if value:
                out["data_fingerprint"] = str(value)
        except Exception as exc:  # never lose a finished result over its metadata
            out["data_fingerprint_error"] = f"{type(exc).__name__}: {exc}"
    return out
