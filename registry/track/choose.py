"""Which trackers a sweep's workers feed: the study's `track`, then TICKETS_TRACK, then the command's
`-X track=...` (later ones win per tracker). The choice travels to every worker through
TICKETS_TRACK (local workers and SLURM jobs inherit the environment), never into a key. A tracker
whose library is missing is one warning line with the pip command; the sweep runs anyway."""
from __future__ import annotations

import os
from typing import Any, Callable

from registry.track.base import ENV, joined, missing_library, parse


def choose(study: Any, option: str | None, warn: Callable[[str], None]) -> list[tuple[str, str | None]]:
    entries = parse([*(getattr(study, "track", ()) or ()), os.environ.get(ENV) or "", option or ""])
    for name, _ in entries:
        hint = missing_library(name)
        if hint:
            warn(hint)
    if entries:
        os.environ[ENV] = joined(entries)
    return entries
