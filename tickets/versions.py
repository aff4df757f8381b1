"""The tickets domain's version: one number, bumped on purpose when a change alters the numbers
existing specs produce (a bug fix in a scorer, a corrected schedule), so `study run` trains the
affected cells again while every harmless commit reuses everything.

It generalises the `fidelity="v1"` mechanism of tickets/pruning/fidelity.py (which kept one
method's old behaviour addressable) to the whole domain:

- `DOMAIN_VERSION` is the current version. A stage's own version is the latest bump that
  affects it; version 1 (the baseline) is never written into an identity, so every key made
  before this mechanism existed is unchanged (tests/test_domain_stages.py pins them).
- Each bump may be scoped in `CHANGES` (stage kinds, methods, datasets, models, checks): only
  matching stages get the new version in their identity ("domain_version": N), so only their
  keys change, and the stages depending on them follow through their deps. A bump without a
  `CHANGES` entry affects every stage.
- A stored run whose recorded version is below what its spec gets today is *stale*
  (`tickets runs ls --stale`, listed by `study plan`, dropped by `tickets runs rm --stale`).

To bump: raise `DOMAIN_VERSION` by one and, unless every stage is affected, add
`CHANGES[N] = Change(why=..., methods=("snip",))`; say why in docs/FIDELITY.md."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

BASELINE = 1
DOMAIN_VERSION = 1


@dataclass(frozen=True)
class Change:
    """Which stages one version bump affects; an empty field matches every value."""

    why: str
    kinds: tuple[str, ...] = ()  # "pretrain", "ticket", "eval"
    methods: tuple[str, ...] = ()  # the stage's `method` column ("dense" for a pretraining)
    datasets: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    def affects(self, kind: str, columns: Mapping[str, Any]) -> bool:
        wanted = ((self.kinds, kind), (self.methods, columns.get("method")),
                  (self.datasets, columns.get("dataset")), (self.models, columns.get("model")),
                  (self.checks, columns.get("check")))
        return all(not allowed or value in allowed for allowed, value in wanted)


CHANGES: dict[int, Change] = {}


def stage_version(kind: str, columns: Mapping[str, Any]) -> int:
    """The version a stage of this kind and these columns is made under today."""
    for version in range(DOMAIN_VERSION, BASELINE, -1):
        change = CHANGES.get(version)
        if change is None or change.affects(kind, columns):
            return version
    return BASELINE


def version_identity(kind: str, columns: Mapping[str, Any]) -> dict[str, int]:
    """What enters a stage's identity: nothing at the baseline (old keys stay), else the version."""
    version = stage_version(kind, columns)
    return {} if version == BASELINE else {"domain_version": version}
