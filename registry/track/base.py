"""What every tracker gets: a `RunInfo` (readable name, group, flat params, tags) at the start, one
call per finished epoch, and the final summary with the per-layer keep ratios at the end."""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence

from registry.errors import UserError
from registry.naming import Registry

ENV = "TICKETS_TRACK"
# name -> (module, the pip extra that installs its library, the library's import name)
KNOWN = {"tensorboard": ("registry.track.tensorboard", "tensorboard", "tensorboard"),
         "mlflow": ("registry.track.mlflow", "mlflow", "mlflow"),
         "wandb": ("registry.track.wandb", "wandb", "wandb")}


class Tracker(Protocol):
    """One tracked run in one tracker. Methods may raise: the sink turns that into one warning."""

    def epoch(self, phase: str, epoch: int, metrics: Mapping[str, float]) -> None: ...

    def finish(self, summary: Mapping[str, Any], layers: Sequence[Mapping[str, Any]], failed: str | None) -> None: ...


TRACKERS: Registry[Any] = Registry("tracker")  # name -> factory(target, info, home) -> Tracker


def register(name: str):
    return TRACKERS.register(name)


def install_hint(name: str) -> str:
    return f'pip install "tickets[{KNOWN[name][1]}]"'


def parse(text: str | Sequence[str] | None) -> list[tuple[str, str | None]]:
    """`"tensorboard,mlflow:sqlite:///m.db"` (or a list of such entries) -> [(name, target)]; an
    entry is a tracker name, optionally `:` and where it writes (a folder, URI or W&B mode)."""
    items = [text] if isinstance(text, str) else list(text or ())
    out: dict[str, str | None] = {}
    for item in items:
        for entry in str(item).split(","):
            entry = entry.strip()
            if not entry:
                continue
            name, _, target = entry.partition(":")
            name = name.strip().lower()
            if name not in KNOWN:
                raise UserError(f"unknown tracker {name!r}; known: {', '.join(KNOWN)}")
            out[name] = target.strip() or out.get(name)
    return list(out.items())


def joined(entries: Sequence[tuple[str, str | None]]) -> str:
    return ",".join(name if not target else f"{name}:{target}" for name, target in entries)


def missing_library(name: str) -> str | None:
    """One line saying how to install `name`'s library when it is not installed, else None."""
    from importlib.util import find_spec

    if find_spec(KNOWN[name][2]) is None:
        return f"tracker {name} is not installed; {install_hint(name)} (training goes on without it)"
    return None


def factory(name: str):
    importlib.import_module(KNOWN[name][0])  # registers itself
    return TRACKERS.get(name)


@dataclass(frozen=True)
class RunInfo:
    key: str
    kind: str
    name: str  # readable: "snip 90% seed 0"
    group: str  # the study that asked for the run ("" when none)
    params: Mapping[str, Any]  # flat: dataset, model, method, check, sparsity, seed, rule, train.lr, ...
    tags: Mapping[str, str]  # key, kind, studies, code_version, provenance
    studies: tuple[str, ...] = ()
    home: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def readable_name(columns: Mapping[str, Any], kind: str = "") -> str:
    """"snip 90% seed 0", "snip corrupt 95% seed 1", "dense seed 0"."""
    parts = [str(columns.get("method") or kind or "run")]
    if columns.get("check") not in (None, "", "none"):
        parts.append(str(columns["check"]))
    sparsity = columns.get("sparsity")
    if isinstance(sparsity, (int, float)) and sparsity:
        parts.append(f"{float(sparsity) * 100:.4g}%")
    if columns.get("seed") is not None:
        parts.append(f"seed {columns['seed']}")
    return " ".join(parts)  # the variant is a param (group by it); in every name it would drown the rest


def flat(spec: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested spec -> {"train.lr": 0.1, ...}; lists become text."""
    out: dict[str, Any] = {}
    for k, v in spec.items():
        name = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.update(flat(v, name + "."))
        elif isinstance(v, (list, tuple)):
            out[name] = ",".join(map(str, v))
        else:
            out[name] = v
    return out


def params_of(columns: Mapping[str, Any], spec: Mapping[str, Any]) -> dict[str, Any]:
    """The axes as they are (method, check, sparsity, seed...), the method's options by their own
    names where free (rule, fidelity...) and the rest of the spec by dotted path (train.lr)."""
    params: dict[str, Any] = {k: v for k, v in columns.items() if v is not None}
    for name, value in flat(spec).items():
        head, _, tail = name.partition(".")
        if head == "method" and tail and tail != "name" and tail not in params:
            params[tail] = value
        elif name not in params and "." in name:
            params[name] = value
    return params


PROVENANCE = ("code_version", "git_commit", "git_dirty", "git_diff_hash", "env_hash", "torch_build",
              "data_fingerprint", "domain_version", "host", "device")


def provenance_tags(meta: Mapping[str, Any] | None) -> dict[str, str]:
    """meta.json's provenance as tracker tags ("tickets.git_commit", ...)."""
    out = {}
    for name in PROVENANCE:
        value = (meta or {}).get(name)
        if value is not None and value == value:
            out[f"tickets.{name}"] = str(value)
    return out


def run_info(stage: Mapping[str, Any], rundir: Path | None = None, meta: Mapping[str, Any] | None = None,
             studies: Sequence[str] = ()) -> RunInfo:
    """The tracked view of a stage (its stage.json), the studies that asked for it, its meta.json."""
    columns = dict(stage.get("columns") or {})
    spec = stage.get("spec") or {}
    if isinstance(spec, str):
        import json

        spec = json.loads(spec or "{}")
    if rundir is not None and not studies:
        from registry.membership import read

        studies = read(rundir)
    studies = tuple(sorted(studies))
    tags = {"tickets.key": str(stage["key"]), "tickets.kind": str(stage.get("kind") or ""),
            "tickets.studies": ",".join(studies), **provenance_tags(meta)}
    home = rundir.parent.parent if rundir is not None else None
    return RunInfo(str(stage["key"]), str(stage.get("kind") or ""), readable_name(columns, str(stage.get("kind") or "")),
                   studies[0] if studies else "", params_of(columns, spec), tags, studies, home)


def wanted(stage: Mapping[str, Any] | None = None) -> list[tuple[str, str | None]]:
    """Trackers chosen for this process: TICKETS_TRACK (set by `-X track=`, a study's `track`)."""
    return parse(os.environ.get(ENV) or "")
