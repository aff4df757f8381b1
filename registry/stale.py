"""Stale runs: stored runs made under an older domain version than their spec gets today.

A domain that bumps its version for some stages (for tickets: tickets/versions.py) writes the new
version into those stages' identities, so their keys change and `study run` trains them again;
the old runs stay in the store under their old keys. They are found here from the `runs` table:
a run is stale when its `domain_version` is below the domain's optional
`stage_version(kind, columns)`, or when a run it depends on is stale (a ticket pruned from a
stale pretraining). Imported runs have no version and are never stale."""
from __future__ import annotations

import json
from typing import Any

from registry.domain import AXES


def stale_keys(store: Any, domain: Any) -> list[str]:
    """Keys of the stale runs in `store` (sorted); [] when the domain keeps no versions."""
    version_of = getattr(domain, "stage_version", None)
    if version_of is None or not store.exists():
        return []
    columns = ", ".join(f'"{c}"' for c in AXES)
    frame = store.frame(f"SELECT key, kind, deps, domain_version, {columns} FROM runs "
                        "WHERE coalesce(source, 'local') <> 'imported' AND status <> 'imported'")
    stale: set[str] = set()
    deps: dict[str, list[str]] = {}
    for row in frame.to_dict("records"):
        recorded = row["domain_version"]
        recorded = 1 if recorded is None or recorded != recorded else int(recorded)
        if recorded < int(version_of(row["kind"], {c: row[c] for c in AXES})):
            stale.add(row["key"])
        try:
            deps[row["key"]] = list((json.loads(row["deps"] or "{}") or {}).values())
        except ValueError:
            deps[row["key"]] = []
    grew = True
    while grew:  # dependents of stale runs were computed from stale numbers
        grew = False
        for key, needs in deps.items():
            if key not in stale and any(d in stale for d in needs):
                stale.add(key)
                grew = True
    return sorted(stale)
