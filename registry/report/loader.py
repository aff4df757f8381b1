"""Find report declarations: every `<folder>/<name>.py` (not starting with "_") exposing `REPORT`.

The folder is imported as a package under a private name, so declarations may share helpers with
relative imports (`from ._labels import ...`) without the folder being on sys.path."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

from registry.errors import UserError
from registry.report.spec import Report


def _package(folder: Path) -> str:
    name = "_tickets_reports_" + hashlib.sha1(str(folder).encode()).hexdigest()[:10]
    if name not in sys.modules:
        init = folder / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            name, init if init.exists() else None, submodule_search_locations=[str(folder)])
        if spec is None:
            raise UserError(f"cannot read report declarations in {folder}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        if init.exists():
            spec.loader.exec_module(module)
    return name


def report_names(folder: str | Path) -> list[str]:
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def load_report(folder: str | Path, name: str) -> tuple[Report, Path]:
    """The declaration `name` and the folder it came from (paper data paths are relative to it)."""
    folder = Path(folder).resolve()
    names = report_names(folder)
    if name not in names:
        raise UserError(f"unknown report {name!r}; known: {', '.join(names) or f'(none in {folder})'}")
    module = importlib.import_module(f"{_package(folder)}.{name}")
    report = getattr(module, "REPORT", None)
    if not isinstance(report, Report):
        raise UserError(f"{folder / (name + '.py')} does not define REPORT = registry.report.Report(...)")
    return report, folder


def load_all(folder: str | Path) -> list[tuple[Report, Path]]:
    return [load_report(folder, name) for name in report_names(folder)]
