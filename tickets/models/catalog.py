"""The built-in models described without torch: registry metadata and prunable-layer shapes.

Naming a model, validating a cell, planning a study and `tickets models` need a model's options,
family and layer shapes, not the network; importing torch for them costs seconds. `catalog.json`
holds, for every built-in model, what `register_model` records and the (weight, type, shape) of its
prunable layers at its default options for each input the built-in datasets have (C, H, W, classes).
It is generated from the model modules (`python -m tickets.models.catalog`) and stamped with a digest
of their source: when a model file changes the stamp no longer matches, the catalog is ignored and the
registry imports the modules as before (slower, never wrong). tests/test_cli_latency.py checks that
the checked-in file is current."""
from __future__ import annotations

import functools
import hashlib
import importlib
import json
from pathlib import Path
from typing import Any

CATALOG_FILE = Path(__file__).with_name("catalog.json")
# The modules that register the built-in models, in listing order.
BUILTIN_MODULES = ("vgg", "resnet", "lenet", "wrn", "mlp", "structured", "densenet", "imagenet")


def load_builtin_modules() -> None:
    """Import the built-in model modules (they register themselves): the registry's loader."""
    for module in BUILTIN_MODULES:
        importlib.import_module(f"tickets.models.{module}")


def source_digest() -> str:
    """sha256 of the model package's sources (this module and the package `__init__` excluded)."""
    digest = hashlib.sha256()
    here = Path(__file__).parent
    for path in sorted(here.glob("*.py")):
        if path.name in ("catalog.py", "__init__.py"):
            continue
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=1)
def _catalog() -> dict[str, Any] | None:
    try:
        data = json.loads(CATALOG_FILE.read_text())
    except (OSError, ValueError):
        return None
    return data if data.get("digest") == source_digest() else None


def names() -> list[str] | None:
    data = _catalog()
    return list(data["models"]) if data else None


def meta(name: str) -> dict[str, Any] | None:
    """What `register_model` recorded for a built-in `name` (without `structure`), or None."""
    data = _catalog()
    entry = data["models"].get(name) if data else None
    if entry is None:
        return None
    shape = entry["input_shape"]
    return {"family": entry["family"], "options": dict(entry["options"]),
            "input_shape": tuple(shape) if shape is not None else None, "description": entry["description"],
            "identity_defaults": dict(entry["identity_defaults"])}


def structure(name: str) -> dict[str, Any] | None:
    """`model_structure(name)` at the default options, or None when not catalogued."""
    data = _catalog()
    entry = data["models"].get(name) if data else None
    return entry["structure"] if entry is not None else None


def _input_key(info) -> str:
    c, h, w = info.shape
    return f"{c}x{h}x{w}/{info.num_classes}"


def layers(name: str, info, options: dict[str, Any]) -> tuple[tuple[str, str, tuple[int, ...]], ...] | None:
    """(weight name, layer type, shape) of the prunable layers of built-in `name` for `info`'s input
    at `options`, when those are the defaults and the input is catalogued; None otherwise."""
    data = _catalog()
    entry = data["models"].get(name) if data else None
    if entry is None or json.dumps(options, sort_keys=True) != json.dumps(entry["options"], sort_keys=True):
        return None
    rows = entry["layers"].get(_input_key(info))
    if rows is None:
        return None
    return tuple((weight, kind, tuple(shape)) for weight, kind, shape in rows)


def build() -> dict[str, Any]:
    """The catalog, computed from the model modules (builds every network once, on the CPU)."""
    from tickets.models import base

    base.MODELS.names()  # import the modules
    models: dict[str, Any] = {}
    for name in base.MODELS.names():
        module = getattr(base.MODELS.get(name), "__module__", "")
        if not module.startswith("tickets.models."):
            continue  # a plugin's model: not ours to catalogue
        meta = base.MODELS.meta(name)
        fn = meta.get("structure")
        entry = {"family": meta["family"], "options": meta["options"],
                 "input_shape": list(meta["input_shape"]) if meta["input_shape"] else None,
                 "description": meta["description"], "identity_defaults": meta["identity_defaults"],
                 "structure": dict(fn(dict(meta["options"]))) if fn else {}, "layers": {}}
        for info in _inputs():
            if not base.compatible(name, info):
                continue
            net = _shapes_only(base, name, info)
            entry["layers"][_input_key(info)] = [[f"{lname}.weight", type(m).__name__, list(m.weight.shape)]
                                                 for lname, m in base.prunable_layers(net)]
        models[name] = entry
    return {"digest": source_digest(), "models": models}


def _inputs() -> list:
    """One DatasetInfo per distinct (C, H, W, classes) among the built-in datasets."""
    from tickets.data import dataset_info, dataset_names

    seen: dict[str, object] = {}
    for dataset in dataset_names():
        info = dataset_info(dataset)
        seen.setdefault(_input_key(info), info)
    return list(seen.values())


def _shapes_only(base, name: str, info):
    """The network on the meta device (shapes, no weights: the ImageNet networks hold 11-138 M
    parameters), on the CPU where a builder needs real tensors."""
    import torch

    try:
        with torch.device("meta"):
            return base.build_model(name, info)
    except (RuntimeError, NotImplementedError):
        return base.build_model(name, info)


if __name__ == "__main__":
    CATALOG_FILE.write_text(json.dumps(build(), indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {CATALOG_FILE}")
