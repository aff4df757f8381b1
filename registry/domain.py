"""The contract between the experiment machinery and a research domain.

The registry knows stages, keys, run directories and tables; it knows nothing about pruning.
A domain (for us `tickets.domain`) turns one study cell into the stages it needs and runs one
stage inside its run directory. Workers find the domain again by import path, so a SLURM node
needs nothing but the installed package and the run directory.

Run-directory files (all written to a temporary name, then renamed):

- ``stage.json``    written by the registry before launch: {"key", "kind", "identity", "spec",
                     "columns", "deps": {role: key}, "dep_dirs": {role: path}, "domain",
                     "plugins"?: [module or .py path] imported before the domain (registry.plugins)}
- ``studies.json``  the studies that asked for this run (registry.membership); not part of the key
- ``metrics.jsonl`` one JSON object per finished epoch, appended by the domain:
                     {"phase", "epoch", "train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds"}
- ``layers.json``   list of {"layer", "shape", "weights", "kept", "keep_ratio"} (pruned runs)
- ``progress.json`` {"phase", "epoch", "epochs", "step", "steps", "time"}: live progress + heartbeat
- ``result.json``   final: {"test_acc", "best_test_acc", "train_loss", "test_loss", "achieved_sparsity",
                     "collapsed", "seconds", ...extra}
- ``error.json``    on failure: {"reason", "traceback"}
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from registry.errors import UserError
from registry.identity import key_of

# Axis columns every store row carries; the domain fills them in `Stage.columns`. `variant` names
# what else differs from the domain's defaults (e.g. "rule=ascend epochs=3"), "" for the defaults:
# reports select on it so runs of different configurations are never averaged together.
AXES = ("dataset", "model", "method", "check", "sparsity", "seed", "variant")


@dataclass(frozen=True)
class Stage:
    """One unit of work with a stable key; `deps` maps a role (e.g. "pretrain") to a stage key."""

    kind: str
    identity: Mapping[str, Any]  # canonical, defaults omitted: this is what the key hashes
    spec: Mapping[str, Any]  # fully resolved spec handed to the runner
    columns: Mapping[str, Any]  # AXES values for the store
    deps: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return key_of({"kind": self.kind, **self.identity, "deps": dict(self.deps)})


class Domain(Protocol):
    """What the registry needs from a research domain."""

    name: str

    def expand(self, cell: Mapping[str, Any]) -> list[Stage]:
        """Stages for one study cell in dependency order; the last one carries the cell's result."""

    def run(self, stage: Mapping[str, Any], rundir: Path, dep_dirs: Mapping[str, Path],
            report: Callable[[Mapping[str, Any]], None]) -> Mapping[str, Any]:
        """Run one stage inside `rundir`, resuming from its checkpoints; return the result dict."""

    # Optional: `set_threads(n)`, called by the worker before `run` with the stage's fixed CPU thread
    # count (the executor's, or the one an earlier attempt of the stage recorded in meta.json).
    # Optional: `check_ready(stages, fetch) -> list[str]`, what would make these stages fail for sure
    # on this machine (missing data...). A local sweep calls it with fetch=True before launching
    # anything and refuses to start on a problem; `study plan` shows the problems as warnings.


def load_domain(path: str) -> Domain:
    """Import a domain object from "package.module:attribute"."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attr or "DOMAIN")
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot load domain {path!r}: {exc}") from None
