"""Plugin modules: a researcher's own models, datasets, methods or checks, imported wherever a
study is planned or one of its stages runs.

Registries are filled at import time, so a name defined in a researcher's own module exists only in
processes that imported it. A study names its plugins (`Study(..., plugins=("mylab.models",))`,
`tickets --plugin mylab.models`, or env `TICKETS_PLUGINS`); the plan imports them before expanding
cells, and records them in every stage.json so each worker (local or SLURM) imports them before it
loads the domain. Plugins are not part of a stage's key: the names they define already are.

A plugin is either a module name (importable where the workers run: installed or on PYTHONPATH) or
the path of a `.py` file (made absolute when the study is loaded, relative to the study file)."""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Iterable, Sequence

from registry.errors import UserError

ENV = "TICKETS_PLUGINS"
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def is_file(name: str) -> bool:
    """A plugin given as a file path rather than a module name."""
    return name.endswith(".py") or "/" in name or os.sep in name


def split(text: str | None) -> tuple[str, ...]:
    """`TICKETS_PLUGINS` / `--plugin` values: separated by commas or the path separator."""
    if not text:
        return ()
    parts = re.split(rf"[,{re.escape(os.pathsep)}]", text)
    return tuple(p.strip() for p in parts if p.strip())


def from_env() -> tuple[str, ...]:
    return resolve(split(os.environ.get(ENV)), Path.cwd())


def resolve(names: Iterable[str], base: str | os.PathLike | None = None) -> tuple[str, ...]:
    """Validate plugin names; file paths become absolute (relative ones against `base`)."""
    out: list[str] = []
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"plugin {name!r} is neither a module name (mylab.models) nor a .py file path")
        name = name.strip()
        if is_file(name):
            path = Path(name).expanduser()
            if not path.is_absolute():
                path = Path(base or Path.cwd()) / path
            name = str(path.resolve())
        elif not _MODULE_NAME.match(name):
            raise UserError(f"plugin {name!r} is neither a module name (mylab.models) nor a .py file path")
        if name not in out:
            out.append(name)
    return tuple(out)


def merge(*groups: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for group in groups:
        out.extend(n for n in group if n not in out)
    return tuple(out)


def _module_name_for(path: Path) -> str:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:10]
    stem = re.sub(r"\W", "_", path.stem)
    return f"tickets_plugin_{stem}_{digest}"


def import_plugin(name: str) -> None:
    """Import one plugin once per process (a second import would register its names twice)."""
    try:
        if is_file(name):
            path = Path(name)
            module_name = _module_name_for(path)
            if module_name in sys.modules:
                return
            if not path.is_file():
                raise UserError(f"plugin file {path} not found")
            spec = importlib.util.spec_from_file_location(module_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[module_name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[module_name]
                raise
        else:
            importlib.import_module(name)
    except UserError:
        raise
    except ModuleNotFoundError as exc:
        raise UserError(f"cannot import plugin {name!r}: {exc} (a module name must be importable here and on "
                        f"every worker: installed or on PYTHONPATH; or give the path of a .py file)") from None
    except Exception as exc:
        raise UserError(f"cannot import plugin {name!r}: {type(exc).__name__}: {exc}") from None


def import_plugins(names: Iterable[str]) -> None:
    for name in names:
        import_plugin(name)
