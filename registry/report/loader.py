"""Find report declarations: every `<folder>/<name>.py` (not starting with "_") exposing `REPORT`.

The folder is imported as a package under a private name, so declarations may share helpers with
relative imports (`from ._labels import ...`) without the folder being on sys.path; it needs no
`__init__.py`. Several folders are searched in order (`find_report`, `load_all_in`): a researcher's
own folders first, then the built-in one, so a name of one's own may shadow a built-in report."""
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
        if not init.exists():  # a plain folder of declarations: a namespace-like package over it
            import types

            module = types.ModuleType(name)
            module.__path__ = [str(folder)]
            module.__file__ = None
            sys.modules[name] = module
            return name
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
        if spec is None:
            raise UserError(f"cannot read report declarations in {folder}: {init} is not importable")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise UserError(f"{init}: {type(exc).__name__}: {exc}") from None
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
    try:
        module = importlib.import_module(f"{_package(folder)}.{name}")
    except UserError:
        raise
    except Exception as exc:  # the researcher's declaration: one line naming the file
        raise UserError(f"{folder / (name + '.py')}: {type(exc).__name__}: {exc}") from None
    report = getattr(module, "REPORT", None)
    if not isinstance(report, Report):
        raise UserError(f"{folder / (name + '.py')} does not define REPORT = registry.report.Report(...)")
    return report, folder


def load_all(folder: str | Path) -> list[tuple[Report, Path]]:
    return [load_report(folder, name) for name in report_names(folder)]


def find_report(folders: list[Path], name: str) -> tuple[Report, Path]:
    """The declaration `name` from the first of `folders` that has it."""
    for folder in folders:
        if name in report_names(folder):
            return load_report(folder, name)
    known = sorted({n for folder in folders for n in report_names(folder)})
    where = ", ".join(str(f) for f in folders)
    raise UserError(f"unknown report {name!r}; known: {', '.join(known) or '(none)'} (searched {where})")


def load_all_in(folders: list[Path]) -> list[tuple[Report, Path]]:
    """Every declaration in `folders`, the first of each name winning."""
    seen: dict[str, tuple[Report, Path]] = {}
    for folder in folders:
        for name in report_names(folder):
            if name not in seen:
                seen[name] = load_report(folder, name)
    return [seen[name] for name in sorted(seen)]
