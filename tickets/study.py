"""The typed study declarations researchers write in `studies/*.py`.

    from tickets.study import Grid, Study
    from tickets.pruning.methods import RandomTickets

    study = Study("table1",
        Grid(datasets=["cifar10"], models=["vgg19", "resnet32"], methods=["dense"], sparsities=[0.0],
             seeds=[0, 1, 2]),
        Grid(datasets=["cifar10"], models=["vgg19", "resnet32"],
             methods=["lt", "snip", "grasp", RandomTickets(rule="smart")],
             sparsities=[0.9, 0.95, 0.98], seeds=[0, 1, 2]))

A study compiles to `registry.grid.Study`; names and ranges are checked by the domain when the
cells are expanded (`registry.plan`), so errors name the offending cell."""
from __future__ import annotations

import dataclasses
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence, Union

from registry import grid as generic
from registry.errors import UserError
from registry.identity import to_plain
from registry.plugins import resolve as resolve_plugins

DEFAULT_DOMAIN = "tickets.domain:DOMAIN"
SEED_LIMIT = 2 ** 63  # seeds are stored as BIGINT; torch.manual_seed takes the same range
Exclusion = Union[Mapping[str, Any], Callable[[Mapping[str, Any]], bool]]


def _values(name: str, values: Any) -> tuple:
    if name == "seeds" and isinstance(values, int):  # seeds=3 reads like "three seeds": say which
        raise UserError(f"seeds must be a list of seeds, got {values!r}; e.g. seeds=(0, 1, 2) or seeds=range(3)")
    if isinstance(values, (str, int, float)) or dataclasses.is_dataclass(values):
        return (values,)
    try:
        out = tuple(values)
    except TypeError:
        raise UserError(f"{name} must be a list of values, got {values!r}") from None
    if not out:
        raise UserError(f"{name} is empty; give at least one value")
    # numpy scalars (np.arange, np.linspace) become plain numbers so cells stay JSON
    out = tuple(v.item() if hasattr(v, "item") and not isinstance(v, (str, bytes)) else v for v in out)
    if name == "seeds":
        for seed in out:  # refused here, not after training: the store holds seeds as BIGINT
            if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < SEED_LIMIT:
                raise UserError(f"seed {seed!r} is not an integer in [0, 2**63); e.g. seeds=(0, 1, 2)")
    return out


def _method_name(method: Any) -> str:
    name = getattr(method, "name", None)
    if not isinstance(name, str) or not name:
        raise UserError(f"method {method!r} is neither a name nor a method dataclass with a name")
    return name


@dataclass(frozen=True, kw_only=True)
class Grid:
    """datasets × models × methods × checks × sparsities × seeds, with options and exclusions.

    `methods` holds names ("snip") or configured method dataclasses (`Snip(samples_per_class=5)`).
    `method_options` is either options for every method, or {method name: options}.
    `exclude` holds cell patterns ({"method": "dense", "sparsity": 0.9}) or predicates on the cell."""

    datasets: Sequence[str]
    models: Sequence[str]
    methods: Sequence[Any]
    sparsities: Sequence[float]
    checks: Sequence[str] = ("none",)
    seeds: Sequence[int] = (0,)
    method_options: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    # per-method training overrides on top of `train`, e.g. {"dense": {"epochs": 90}} (Random
    # Pruning's ImageNet table: dense 90 epochs, sparse 100): one study, one epoch count per method
    method_train: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    model_options: Mapping[str, Any] = field(default_factory=dict)
    exclude: Sequence[Exclusion] = ()
    # the fine-tuning schedule of structured pipelines (tickets.domain_structured), e.g. {"epochs": 40}
    retrain: Mapping[str, Any] = field(default_factory=dict)
    # evaluations of every trained network (tickets.evals): ("calibration", "ood:mnist", "pgd")
    evals: Sequence[Any] = ()

    def _method_values(self) -> list[dict[str, Any]]:
        names = [m if isinstance(m, str) else _method_name(m) for m in _values("methods", self.methods)]
        per_method = bool(self.method_options) and all(
            k in names and isinstance(v, Mapping) for k, v in self.method_options.items())
        out = []
        for method, name in zip(_values("methods", self.methods), names):
            options = dict(self.method_options.get(name, {})) if per_method else dict(self.method_options)
            if not isinstance(method, str):
                options.update(to_plain(method))
            value = {"method": name, "method_options": options}
            if name in self.method_train:  # the axis value wins over the grid's fixed `train`
                value["train"] = {**dict(self.train), **dict(self.method_train[name])}
            out.append(value)
        unknown = sorted(set(self.method_train) - set(names))
        if unknown:
            raise UserError(f"method_train names method {unknown[0]!r}, which this grid does not have; "
                            f"methods: {', '.join(dict.fromkeys(names))}")
        return out

    def compile(self) -> generic.Grid:
        axes = {
            "dataset": _values("datasets", self.datasets),
            "model": _values("models", self.models),
            "method": self._method_values(),
            "check": _values("checks", self.checks),
            "sparsity": tuple(_sparsity(s) for s in _values("sparsities", self.sparsities)),
            "seed": _values("seeds", self.seeds),
        }
        fixed = {"train": dict(self.train), "model_options": dict(self.model_options)}
        if self.retrain:  # only when given, so the cells of every other study stay as they were
            fixed["retrain"] = dict(self.retrain)
        if self.evals:  # only when asked: cells without evals stay exactly as before
            fixed["evals"] = [e if isinstance(e, str) else e.identity() if hasattr(e, "identity") else
                              dict(e) if isinstance(e, Mapping) else _not_an_evaluation(e)
                              for e in _values("evals", self.evals)]
        return generic.Grid(axes=axes, fixed=fixed, exclude=tuple(self.exclude))


def _not_an_evaluation(value: Any) -> Any:
    from tickets.evals.specs import parse_eval

    return parse_eval(value)  # raises the one line naming what an evaluation is


def _sparsity(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UserError(f"sparsity {value!r} is not a number; expected a fraction in [0, 1)") from None


class Study:
    """A named union of grids: `Study("name", grid1, grid2)` or `Study("name", grids=[...])`."""

    def __init__(self, name: str, *grids: Grid, description: str = "", domain: str = DEFAULT_DOMAIN,
                 resources: Mapping[str, Mapping[str, Any]] | None = None, plugins: Sequence[str] = (),
                 track: Sequence[str] | str = (), **kw: Any):
        """`resources` maps an executor to its options, e.g. `{"slurm": {"time": "08:00:00",
        "gpus_per_run": 1}}`; `-X NAME=VALUE` on the command line overrides them.

        `plugins` names modules ("mylab.models") or .py files ("mylab_models.py", relative to the
        study file) that register the study's own models, datasets, methods or checks: the plan and
        every worker import them (registry.plugins)."""
        extra = kw.pop("grids", ())
        if kw:
            raise UserError(f"unknown Study option {sorted(kw)[0]!r}; known: grids, description, domain, "
                            f"resources, plugins, track")
        if isinstance(plugins, str):
            plugins = (plugins,)
        # trackers fed live by every run of this study ("tensorboard", "mlflow:sqlite:///m.db", "wandb");
        # registry/track; never part of a key
        from registry.track.base import joined, parse

        self.track = tuple(e for e in joined(parse(track)).split(",") if e)
        self.plugins = tuple(plugins)
        self.name = name
        self.grids = tuple(grids) + tuple(extra)
        self.description = description
        self.domain = domain
        self.resources = {str(k): dict(v) for k, v in (resources or {}).items()}
        for executor, options in (resources or {}).items():
            if not isinstance(options, Mapping):
                raise UserError(f"study {name!r}: resources[{executor!r}] must be a dict of executor options")
        for g in self.grids:
            if not isinstance(g, Grid):
                raise UserError(f"study {name!r}: expected Grid(...), got {type(g).__name__}")

    def compile(self) -> generic.Study:
        return generic.Study(name=self.name, grids=[g.compile() for g in self.grids],
                             description=self.description, domain=self.domain, resources=self.resources,
                             plugins=self.plugins)

    def cells(self) -> list[dict[str, Any]]:
        return self.compile().cells()


def _user_line(path: Path, exc: BaseException) -> str:
    if isinstance(exc, SyntaxError):
        return f"{path}:{exc.lineno}: {exc.msg}"
    line = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if Path(frame.f_code.co_filename) == path:
            line = lineno
    message = str(exc) if isinstance(exc, UserError) else f"{type(exc).__name__}: {exc}"
    return f"{path}:{line}: {message}" if line else f"{path}: {message}"


def _find_study(path: Path) -> Path:
    """`path` itself, else a built-in study of that name (`table1_cifar`, `studies/table1_cifar.py`),
    which a plain `pip install .` ships under <prefix>/share/tickets/studies."""
    if path.is_file():
        return path
    from registry.resources import shared_dir

    builtin = shared_dir("studies")
    for candidate in (builtin / path.name, builtin / f"{path.name}.py"):
        if len(path.parts) <= 2 and candidate.is_file() and path.parent.name in ("", "studies"):
            return candidate
    names = sorted(p.stem for p in builtin.glob("*.py")) if builtin.is_dir() else []
    raise UserError(f"study file {path} not found" + (f"; built-in studies: {', '.join(names)}" if names else ""))


def load_study(path: str | Path) -> generic.Study:
    """Execute a study file and return its compiled study (the module's `study` or `STUDY`)."""
    path = _find_study(Path(path))
    shown = Path(str(path))
    source = path.read_text()
    module = types.ModuleType(f"tickets_study_{path.stem}")
    module.__file__ = str(path)
    try:
        code = compile(source, str(path), "exec")
        exec(code, module.__dict__)
    except BaseException as exc:  # the user's file: every failure becomes one line
        if isinstance(exc, (KeyboardInterrupt,)):
            raise
        raise UserError(_user_line(shown, exc)) from None
    _refuse_own_registrations(shown, module.__name__)
    study = module.__dict__.get("study", module.__dict__.get("STUDY"))
    if study is None:
        raise UserError(f"{path}: defines no `study` (expected `study = Study(...)`)")
    if not isinstance(study, (Study, generic.Study)):
        raise UserError(f"{path}: `study` is a {type(study).__name__}, expected tickets.study.Study")
    try:
        compiled = study if isinstance(study, generic.Study) else study.compile()
        # plugin files are named relative to the study file; workers get absolute paths
        plugins = resolve_plugins(compiled.plugins, path.resolve().parent)
    except UserError as exc:
        raise UserError(f"{path}: {exc}") from None
    return dataclasses.replace(compiled, plugins=plugins)


def _refuse_own_registrations(path: Path, module_name: str) -> None:
    """A model (dataset, method, check...) registered in the study file itself exists only in the
    process that read the study: every worker would fail with "unknown model". Say so at once."""
    import sys

    registries = []
    for module, attr in (("tickets.models.base", "MODELS"), ("tickets.data.base", "DATASETS"),
                         ("tickets.pruning.methods", "METHODS"), ("tickets.pruning.checks", "CHECKS"),
                         ("tickets.pruning.ratios", "RATIOS"), ("tickets.pruning.scorers", "SCORERS")):
        if module in sys.modules:  # a registry the study file never imported holds none of its names
            registries.append(getattr(sys.modules[module], attr))
    for registry in registries:
        for name, obj in registry.items():
            if getattr(obj, "__module__", None) == module_name:
                raise UserError(f"{path}: {registry.kind} {name!r} is registered in the study file, which "
                                f"workers never read; move it to a module and name that module in "
                                f"Study(..., plugins=[\"mylab_models.py\"])")


def one_cell_study(cell: Mapping[str, Any], domain: str = DEFAULT_DOMAIN) -> generic.Study:
    """The study behind `tickets run`: a single cell, deduped like any other."""
    axes = {k: [v] for k, v in cell.items() if not isinstance(v, Mapping)}
    fixed = {k: v for k, v in cell.items() if isinstance(v, Mapping)}
    return generic.Study(name="run", grids=[generic.Grid(axes=axes, fixed=fixed)], domain=domain)


__all__ = ["Grid", "Study", "load_study", "one_cell_study"]
