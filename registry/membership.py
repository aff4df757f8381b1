"""Which studies asked for a run: the `studies` column (study names, comma-joined and sorted).

Membership is not part of a run's identity (two studies share a run they both need), so it lives
beside the run: `<rundir>/studies.json` (a list of names; the source of truth, read again by every
ingest) and the store column `runs.studies`, which planning keeps up to date. Select by study with
`tickets runs ls --study NAME`, `tickets report --study NAME`, or in SQL:

    SELECT * FROM run_results WHERE list_contains(string_split(studies, ','), 'table1')
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from registry.atomic import read_json, write_json
from registry.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from registry.store import Store

FILE = "studies.json"


def joined(names: Iterable[str]) -> str:
    return ",".join(sorted({n for n in names if n}))


def names_of(text: str | None) -> list[str]:
    return [n for n in (text or "").split(",") if n]


def check_name(name: str) -> str:
    if not name or "," in name:
        raise UserError(f"study name {name!r} cannot be recorded: it must be non-empty and hold no comma")
    return name


def read(rundir: Path) -> list[str]:
    """The studies recorded in a run directory ([] when none, or the file is unreadable)."""
    try:
        names = read_json(rundir / FILE)
    except (OSError, ValueError):
        return []
    return sorted({str(n) for n in names}) if isinstance(names, list) else []


def add(rundir: Path, study: str) -> bool:
    """Record `study` in the run directory; True when it was not there yet."""
    names = read(rundir)
    if study in names:
        return False
    write_json(rundir / FILE, sorted({*names, study}))
    return True


def sql_filter(column: str = "studies") -> str:
    """A WHERE clause fragment selecting rows whose `column` lists the study given as parameter."""
    return f"list_contains(string_split(coalesce({column}, ''), ','), ?)"


def record(store: "Store", study: str, keys: Sequence[str], stored: dict[str, str | None],
           ingested: Iterable[str] = ()) -> int:
    """Add `study` to every run of `keys` that has a run directory or a store row lacking it.

    `stored` is {key: studies column} for the keys in the store (read with their statuses before
    planning ingested anything); `ingested` are keys planning has just ingested from their run
    directories. Only runs missing the name are touched, so planning a study already recorded
    writes nothing."""
    ingested = set(ingested)
    study = check_name(study)
    updates: dict[str, str] = {}
    for key in keys:
        rundir = store.rundir(key)
        on_disk = (rundir / "stage.json").exists()
        if key in stored:
            have = names_of(stored[key])
            if study in have:
                continue
            if on_disk:
                add(rundir, study)
                have = sorted({*have, *read(rundir)})
            updates[key] = joined([*have, study])
        elif on_disk and add(rundir, study) and key in ingested:  # its new row lacks the name
            updates[key] = joined(read(rundir))
    if updates:
        import pandas as pd

        with store.writer() as con:
            con.register("membership", pd.DataFrame({"key": list(updates), "studies": list(updates.values())}))
            try:
                con.execute("UPDATE runs SET studies = m.studies FROM membership m WHERE runs.key = m.key")
            finally:
                con.unregister("membership")
    return len(updates)
