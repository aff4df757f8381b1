"""The model registry and the few functions every other part uses to build and inspect networks.

A model is registered as a builder `fn(info, **options) -> nn.Module`; its registry metadata says
its family, the options it accepts (with defaults) and, for fixed-input models, which input
shape it needs. `build_model` validates options and the dataset/model pairing before building."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from registry.errors import UserError
from registry.naming import Registry
from tickets.data.info import DatasetInfo
from tickets.models import catalog

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

# The families the built-in models belong to. A family is a free label: ratio rules consult it only
# for VGG's extra 1/l^2 in the smart ratios; a model of any other family (a plugin's, "other" by
# default) works with every rule, which then treats it as a plain stack of layers.
FAMILIES = ("vgg", "resnet", "mlp", "lenet")
DEFAULT_FAMILY = "other"

# The built-in model modules import torch; they load on the registry's first use. Names, options,
# families and layer shapes of the built-in models come from `catalog` until then, so validating
# and planning never import torch (tickets/models/catalog.py).
MODELS: Registry[Callable[..., "nn.Module"]] = Registry("model", loader=catalog.load_builtin_modules)


def _meta(name: str) -> dict[str, Any]:
    """Registry metadata of `name`: from the catalog while the model modules are not imported."""
    if not MODELS.loaded:
        meta = catalog.meta(name)
        if meta is not None:
            return meta
        known = catalog.names()
        if known is not None:  # nothing but the built-in models registers before the registry loads
            from registry.naming import UnknownName, unknown_message

            raise UnknownName(unknown_message("model", name, known))
    return MODELS.meta(name)


def _prunable_types() -> tuple[type, ...]:
    from torch import nn

    return (nn.Conv2d, nn.Linear)


def register_model(name: str, *, family: str = DEFAULT_FAMILY, options: dict[str, Any] | None = None,
                   input_shape: tuple[int, int, int] | None = None, description: str = "",
                   identity_defaults: dict[str, Any] | None = None, structure=None):
    """Decorator: register `fn(info, **options)` under `name`.

    `family` is a label ("vgg" gets VGG's ratio-rule specifics; any other name, e.g. a plugin's
    "transformer", is a plain stack of prunable layers); `options` maps each accepted option to its
    default; `input_shape` (C, H, W), when given, is the only dataset shape the model accepts.
    `identity_defaults` overrides, for run identity only, the defaults an option is omitted at (when a
    default changed meaning, old keys keep the old one); `structure(options) -> dict` describes the
    network (depth, block, widths) for `tickets models`."""
    if not isinstance(family, str) or not family.strip():
        raise ValueError(f"model {name!r}: family must be a non-empty label, got {family!r}")
    return MODELS.register(name, family=family, options=dict(options or {}),
                           input_shape=input_shape, description=description,
                           identity_defaults=dict(identity_defaults or {}), structure=structure)


def model_names() -> list[str]:
    if not MODELS.loaded and catalog.names() is not None:
        return catalog.names()
    return MODELS.names()


def model_family(name: str) -> str:
    """The model's family label: "vgg" | "resnet" | "mlp" | "lenet" for the built-in models,
    anything for a plugin's ("other" by default)."""
    return _meta(name)["family"]


def model_options(name: str) -> dict[str, Any]:
    """The options `name` accepts, with their defaults."""
    return dict(_meta(name)["options"])


def model_identity_defaults(name: str) -> dict[str, Any]:
    """The option values run identity omits: the defaults, except where `identity_defaults` keeps
    the value an earlier meaning of the name had (see tickets/models/resnet.py)."""
    meta = _meta(name)
    return {**meta["options"], **(meta.get("identity_defaults") or {})}


def model_structure(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """Depth, block and widths where the model says (ResNets); {} otherwise."""
    if not options or options == model_options(name):
        known = catalog.structure(name) if not MODELS.loaded else None
        if known is not None:
            return dict(known)
    fn = MODELS.meta(name).get("structure")
    return dict(fn({**model_options(name), **(options or {})})) if fn else {}


def check_compatible(name: str, info: DatasetInfo) -> None:
    """Raise UserError when `name` cannot run on `info`'s input shape."""
    meta = _meta(name)
    need = meta["input_shape"]
    if need is not None and tuple(need) != info.shape:
        c, h, w = need
        kind = "grayscale" if c == 1 else f"{c}-channel"
        raise UserError(f"model {name} needs {h}x{w} {kind} input; "
                        f"dataset {info.name} is {info.describe_shape()}")


def compatible(name: str, info: DatasetInfo) -> bool:
    try:
        check_compatible(name, info)
    except UserError:
        return False
    return True


def build_model(name: str, info: DatasetInfo, **options: Any) -> nn.Module:
    """Build model `name` for dataset `info` (channels, input size and class count come from it).

    Weights are initialised from torch's global RNG: seed it first for a reproducible network."""
    builder = MODELS.get(name)
    accepted = model_options(name)
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        known = ", ".join(f"{k} (default {v})" for k, v in accepted.items()) or "none"
        raise UserError(f"unknown option {unknown[0]!r} for model {name}; accepted options: {known}")
    check_compatible(name, info)
    return builder(info, **{**accepted, **options})


def prunable_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Conv and linear layers in module registration order (the classifier is last)."""
    types = _prunable_types()
    return [(name, m) for name, m in model.named_modules() if isinstance(m, types)]


def prunable_weights(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The prunable weights keyed as in a mask: `"<layer name>.weight"`, same order as the layers."""
    return [(f"{name}.weight", m.weight) for name, m in prunable_layers(model)]


def layer_shapes(name: str, info: DatasetInfo, **options: Any) -> tuple[tuple[str, str, tuple[int, ...]], ...]:
    """(weight name, layer type, weight shape) of the prunable layers of `name` built for `info`:
    from the catalog where it holds them (built-in models at their defaults), else by building the
    network on the CPU once."""
    known = catalog.layers(name, info, {**model_options(name), **options})
    if known is not None:
        check_compatible(name, info)
        return known
    if name.endswith("_imagenet"):  # 11-138 M parameters each: shapes only, no weights drawn
        import torch

        with torch.device("meta"):
            net = build_model(name, info, **options)
    else:
        net = build_model(name, info, **options)
    return tuple((f"{lname}.weight", type(m).__name__, tuple(m.weight.shape)) for lname, m in prunable_layers(net))


def count_prunable(model: nn.Module) -> int:
    """Number of conv + linear weights (no biases, no BN): the denominator of sparsity."""
    return sum(m.weight.numel() for _, m in prunable_layers(model))
