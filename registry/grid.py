"""Generic grids of experiment cells: axes × fixed values, minus exclusions; studies are unions.

A cell is a plain dict. An axis value that is a dict is merged into the cell instead of being
stored under the axis name, so one axis can set several coupled fields (a method's name and its
options). Domain knowledge (which names exist, what ranges are legal) lives in the domain's
`expand`, not here."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence, Union

from registry.errors import UserError
from registry.identity import canonical_json

Exclusion = Union[Mapping[str, Any], Callable[[Mapping[str, Any]], bool]]


def _matches(cell: Mapping[str, Any], rule: Exclusion) -> bool:
    if callable(rule):
        return bool(rule(cell))
    for name, wanted in rule.items():
        value = cell.get(name)
        if isinstance(wanted, (list, tuple, set, frozenset)):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def describe_cell(cell: Mapping[str, Any]) -> str:
    """Short human form: 'dataset=cifar10 model=vgg19 ...' (dict-valued fields left out)."""
    return " ".join(f"{k}={v}" for k, v in cell.items() if not isinstance(v, Mapping))


def label_cell(cell: Mapping[str, Any]) -> str:
    """Compact form for progress lines: 'cifar10/vgg19 snip/corrupt p=0.98 seed=1'. Cells without
    the usual axes fall back to `describe_cell`."""
    if not {"dataset", "model", "method"} <= set(cell):
        return describe_cell(cell)
    check = cell.get("check")
    text = f"{cell['dataset']}/{cell['model']} {cell['method']}" + (f"/{check}" if check not in (None, "none") else "")
    if cell.get("sparsity") not in (None, 0, 0.0):
        text += f" p={cell['sparsity']:g}"
    return text + (f" seed={cell['seed']}" if "seed" in cell else "")


@dataclass(frozen=True)
class Grid:
    """The product of `axes` (in order), each cell completed with `fixed`, minus `exclude`."""

    axes: Mapping[str, Sequence[Any]]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    exclude: Sequence[Exclusion] = ()

    def __post_init__(self) -> None:
        if not self.axes:
            raise UserError("a grid needs at least one axis")
        for name, values in self.axes.items():
            if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, set, frozenset)):
                raise UserError(f"axis {name!r} must be a list of values, got {values!r}")
            if len(values) == 0:
                raise UserError(f"axis {name!r} is empty; give it at least one value")

    def cells(self) -> Iterator[dict[str, Any]]:
        names = list(self.axes)
        for combo in itertools.product(*(list(self.axes[n]) for n in names)):
            cell: dict[str, Any] = {}
            for name, value in zip(names, combo):
                if isinstance(value, Mapping):
                    cell.update(value)
                else:
                    cell[name] = value
            for name, value in self.fixed.items():
                cell.setdefault(name, value)
            if not any(_matches(cell, rule) for rule in self.exclude):
                yield cell


@dataclass(frozen=True)
class Study:
    """A named union of grids. The same cell declared by two grids is a mistake, not a dedupe."""

    name: str
    grids: Sequence[Grid]
    description: str = ""
    domain: str = "tickets.domain:DOMAIN"
    # executor name -> its options (e.g. {"slurm": {"time": "08:00:00", "gpus_per_run": 1}}): what the
    # study needs wherever it runs; options given on the command line win.
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # modules (or .py files) defining the study's own models, datasets, methods...: imported by the
    # plan and by every worker (registry.plugins); not part of any key.
    plugins: Sequence[str] = ()

    def __post_init__(self) -> None:
        if not self.grids:
            raise UserError(f"study {self.name!r} has no grids")

    def cells(self) -> list[dict[str, Any]]:
        seen: dict[str, int] = {}
        out: list[dict[str, Any]] = []
        for index, grid in enumerate(self.grids):
            for cell in grid.cells():
                try:
                    ident = canonical_json(cell)
                except (TypeError, ValueError) as exc:  # NaN, or a value JSON cannot hold
                    raise UserError(f"cell {describe_cell(cell)}: {exc}") from None
                if ident in seen:
                    where = (f"grid {seen[ident] + 1} and grid {index + 1}" if seen[ident] != index
                             else f"grid {index + 1} twice")
                    raise UserError(f"duplicate cell in study {self.name!r} ({where}): {describe_cell(cell)}")
                seen[ident] = index
                out.append(cell)
        if not out:
            raise UserError(f"study {self.name!r} has no cells (every cell was excluded)")
        return out
