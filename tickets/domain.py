"""The pruning domain as the registry sees it: a study cell becomes stages, a stage runs a recipe.

A cell is a plain dict:

    {"dataset": "cifar10", "model": "resnet32", "method": "lt" | RandomTickets(rule="erk"),
     "check": "none", "sparsity": 0.9, "seed": 0,
     "method_options": {}, "model_options": {}, "train": {TrainConfig overrides}}

Stages (in dependency order; the last one carries the cell's result):

- ``pretrain``: the dense network trained with the cell's schedule. Method `dense` IS this stage, and
  every method that needs a trained network (lt, imp, wr, lrr, hybrid, obd, scratch_e, scratch_b)
  depends on it, so the Full Network row and all of those runs share one training per
  (dataset, model, seed, training, data check). Identity:
      {dataset, model, seed, train?, model_options?, data_check?}
  `train` holds only the TrainConfig fields that differ from `tickets.config.defaults_for(dataset)`,
  `model_options` only options that differ from the model's defaults, `data_check` only for checks
  that change the pretraining data (half_data, random_labels, random_pixels, corrupt). Columns:
  method "dense", check = data_check or "none", sparsity 0.0. It saves weight snapshots for
  rewinding (epochs of `steps.snapshot_epochs`: 0, 1, 2, 3, 5, every 10th and the last; not identity).
- ``ticket``: a pruned network. Identity:
      {dataset, model, method: {name, options not at default}, sparsity, seed, check?, train?,
       model_options?}  + deps {"pretrain": key} for methods that need it.
- ``eval``: one evaluation (`tickets.evals`) of the cell's trained network, one stage per entry
  of the cell's `evals`. Identity {eval: {name, options not at default}} + deps {"run": key of the
  training stage}; columns are the evaluated run's. They follow the training stage, so the
  stage carrying the cell's training result is the last one that is not an eval; a cell without
  `evals` expands exactly as before (same stages, same keys).

The stage spec is the fully resolved cell (every option, every training field) plus what the stage
needs to run (`snapshot_epochs`, `data_check`); `run` rebuilds everything from it."""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from registry.domain import Stage
from registry.errors import UserError
from registry.identity import to_plain

CELL_KEYS = ("dataset", "model", "method", "check", "sparsity", "seed", "method_options",
             "model_options", "train", "retrain", "evals")
RESULT_FIELDS = ("test_acc", "best_test_acc", "train_loss", "test_loss", "achieved_sparsity",
                 "collapsed", "seconds", "epochs", "val_selected_test_acc")


class TicketsDomain:
    """`registry.domain.Domain` for pruning research."""

    name = "tickets"

    # ----------------------------------------------------------------------------- planning
    def resolve(self, cell: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a cell and return it fully resolved (the method as an instance, TrainConfig)."""
        from tickets.config import resolve as resolve_train
        from tickets.pruning.checks import CHECKS
        from tickets.pruning.methods import method_from
        from tickets.pruning.ratios import check_sparsity

        cell = dict(cell)
        unknown = sorted(set(cell) - set(CELL_KEYS))
        if unknown:
            raise UserError(f"unknown cell field {unknown[0]!r}; known: {', '.join(CELL_KEYS)}")
        for required in ("dataset", "model", "method"):
            if cell.get(required) in (None, ""):
                raise UserError(f"a cell needs a {required}")
        dataset, model = str(cell["dataset"]), str(cell["model"])
        info = _dataset_info(dataset)
        model_options = _model_options(model, info, cell.get("model_options") or {})

        # options whose default depends on the dataset/network drop out of the identity at it
        method = method_from(cell["method"], cell.get("method_options") or {}).canonical(dataset, model)
        check_name = str(cell.get("check") or "none")
        check = CHECKS.get(check_name)
        sparsity = check_sparsity(cell.get("sparsity", 0.0))
        seed = _seed(cell.get("seed", 0))
        config = resolve_train(dataset, cell.get("train") or {})
        if config.epochs < 1:  # an untrained network is not a result (its train loss would read NaN)
            raise UserError(f"epochs must be at least 1 for a run, got {config.epochs}")

        structured = getattr(method, "structured", False)
        if structured:
            method.check_sparsity(sparsity)
        elif not method.prunes:
            if sparsity != 0.0:
                raise UserError(f"method {method.name} is the unpruned network: sparsity must be 0, got {sparsity}")
            if check.stage != "none":
                raise UserError(f"check {check_name!r} does not apply to method {method.name!r}: "
                                f"sanity checks test a pruning step and the dense network has none")
        elif sparsity == 0.0:
            raise UserError(f"method {method.name} prunes: sparsity must be in (0, 1), got 0")
        if check.stage == "data" and not method.uses_data:
            raise UserError(f"check {check_name!r} does not apply to method {method.name!r}: "
                            f"it uses no data in its pruning step")
        self._check_feasible(method, model, info, model_options, sparsity, config)
        retrain = None
        if structured:
            from tickets.domain_structured import check_structured

            check_structured(method, model, info, model_options, sparsity)
        if getattr(method, "has_retrain", False):  # structured and weight-level pipelines
            from tickets.domain_structured import retrain_config

            retrain = retrain_config(dataset, cell.get("train") or {}, cell.get("retrain") or {})
        from tickets.evals.stages import resolve_evals

        return {"retrain": retrain,
                "dataset": dataset, "model": model, "model_options": model_options, "method": method,
                "check": check_name, "check_stage": check.stage, "sparsity": sparsity, "seed": seed,
                "train": config, "info": info, "evals": resolve_evals(cell.get("evals"))}

    def _check_feasible(self, method, model, info, model_options, sparsity, config) -> None:
        """Catch at planning time what would fail hours into a run: ratio rules that cannot reach
        the sparsity, rewinding to an epoch the pretraining does not keep."""
        from tickets.pruning import steps

        rule = getattr(method, "rule", None)
        from tickets.pruning.ratios import scored_rule

        if isinstance(rule, str) and sparsity > 0 and not scored_rule(rule):  # scored: counts need data
            from tickets.models import model_family
            from tickets.pruning.ratios import keep_counts

            keep_counts(rule, _layers(model, info, json.dumps(model_options, sort_keys=True)),
                        sparsity, family=model_family(model))
        if hasattr(method, "check_layers"):  # e.g. weight_level: the network has conv weights
            method.check_layers(model, _layers(model, info, json.dumps(model_options, sort_keys=True)))
        for epoch in method.rewind_epochs():
            if not 0 <= epoch < config.epochs:
                raise UserError(f"method {method.name}: rewind_epoch {epoch} must be below the "
                                f"{config.epochs} training epochs")
            if epoch not in steps.snapshot_epochs(config.epochs):
                raise UserError(f"method {method.name}: rewind_epoch {epoch} is not a pretraining snapshot; "
                                f"choose one of {', '.join(map(str, steps.snapshot_epochs(config.epochs)[:-1]))}")
        if getattr(method, "prune_classifier", True) is False and sparsity > 0:
            layers = _layers(model, info, json.dumps(model_options, sort_keys=True))
            total = sum(math.prod(shape) for _, shape in layers)
            classifier = math.prod(layers[-1][1])
            if round(total * (1 - sparsity)) < classifier:
                raise UserError(f"method {method.name}: sparsity {sparsity} cannot be reached without "
                                f"pruning the classifier {layers[-1][0]} ({classifier} of {total} weights); "
                                f"use method option prune_classifier=true")

    def expand(self, cell: Mapping[str, Any]) -> list[Stage]:
        from tickets.evals.stages import eval_stages

        r = self.resolve(cell)
        stages = self.stages(r)
        return stages + [versioned(s) for s in eval_stages(stages[-1], r["evals"], seed=r["seed"])]

    def stages(self, r: Mapping[str, Any]) -> list[Stage]:
        from tickets.config import defaults_for
        from tickets.models import model_options as default_model_options
        from tickets.pruning import steps

        method, config = r["method"], r["train"]
        train_identity = to_plain(config, defaults=defaults_for(r["dataset"]))
        from tickets.models import model_identity_defaults

        def differing(defaults):
            return {k: to_plain(v) for k, v in sorted(r["model_options"].items())
                    if k not in defaults or to_plain(defaults[k]) != to_plain(v)}

        # identity omits the values old keys were computed at; the variant, today's defaults
        options_identity = differing(model_identity_defaults(r["model"]))
        options_variant = differing(default_model_options(r["model"]))
        data_check = r["check"] if r["check_stage"] == "data" else None
        base_spec = {"dataset": r["dataset"], "model": r["model"], "model_options": r["model_options"],
                     "seed": r["seed"], "train": _plain_config(config)}

        from tickets.versions import version_identity

        stages: list[Stage] = []
        if method.needs_pretrain or not method.prunes:
            identity = {"dataset": r["dataset"], "model": r["model"], "seed": r["seed"]}
            if train_identity:
                identity["train"] = train_identity
            if options_identity:
                identity["model_options"] = options_identity
            if data_check:
                identity["data_check"] = data_check
            # network slimming's sparsity-regularised training: the same shared stage, penalised
            pretrain_options = (method.pretrain_options(sparsity=r["sparsity"])
                                if hasattr(method, "pretrain_options") else {})
            identity.update(pretrain_options)
            spec = {**base_spec, "method": {"name": "dense"}, "check": data_check or "none",
                    "sparsity": 0.0, "data_check": data_check,
                    "snapshot_epochs": list(steps.snapshot_epochs(config.epochs)), **pretrain_options}
            columns = {"dataset": r["dataset"], "model": r["model"], "method": "dense",
                       "check": data_check or "none", "sparsity": 0.0, "seed": r["seed"],
                       "variant": variant_label(pretrain_options, train_identity, options_variant)}
            identity.update(version_identity("pretrain", columns))  # absent at version 1: keys unchanged
            stages.append(Stage("pretrain", identity, spec, columns))
        if not method.prunes:
            return stages

        identity = {"dataset": r["dataset"], "model": r["model"], "method": method.identity(),
                    "sparsity": r["sparsity"], "seed": r["seed"]}
        if r["check"] != "none":
            identity["check"] = r["check"]
        if train_identity:
            identity["train"] = train_identity
        if options_identity:
            identity["model_options"] = options_identity
        resolved = method.resolved(r["dataset"], r["model"])
        spec = {**base_spec, "method": {"name": method.name, **resolved.options()}, "check": r["check"],
                "sparsity": r["sparsity"],
                # the data the pruning step reads (scoring batches, imp's rounds); retraining never
                "data_check": data_check}
        if r.get("retrain") is not None and method.uses_retrain_schedule:
            from tickets.domain_structured import retrain_identity

            spec["retrain"] = _plain_config(r["retrain"])
            changed = retrain_identity(r["dataset"], config, r["retrain"])
            if changed:
                identity["retrain"] = changed
        method_identity = method.variant_options()
        columns = {"dataset": r["dataset"], "model": r["model"], "method": method.name,
                   "check": r["check"], "sparsity": r["sparsity"], "seed": r["seed"],
                   "variant": variant_label(method_identity, train_identity, options_variant,
                                            identity.get("retrain", {}))}
        deps = {"pretrain": stages[0].key} if method.needs_pretrain else {}
        identity.update(version_identity("ticket", columns))  # absent at version 1: keys unchanged
        stages.append(Stage("ticket", identity, spec, columns, deps))
        return stages

    def check_ready(self, stages: list[Stage], fetch: bool = False) -> list[str]:
        """Datasets these stages need that are not on this machine. With `fetch`, each missing one
        is loaded once (downloaded where the network allows, decoded into the cache) so workers
        find it ready; what still cannot be had is returned as one line each."""
        from tickets.data.base import locate

        from tickets.evals.stages import datasets_needed

        problems = []
        for name in sorted({str(s.columns["dataset"]) for s in stages} | datasets_needed(stages)):
            if locate(name) is not None:
                continue
            if not fetch:
                problems.append(f"dataset {name} is not on this machine (see `tickets datasets`)")
                continue
            from tickets.data import load_dataset

            try:
                load_dataset(name)
            except UserError as exc:
                problems.append(str(exc))
        return problems

    # ----------------------------------------------------------------------------- running
    def set_threads(self, threads: int) -> None:
        """The registry's worker fixes each stage's CPU threads (the intra-op count changes float
        reductions, so a key's metrics must not depend on how many workers shared the machine)."""
        import torch

        torch.set_num_threads(int(threads))

    def run(self, stage: Mapping[str, Any], rundir: Path, dep_dirs: Mapping[str, Path],
            report: Callable[[Mapping[str, Any]], None], *, device: Any = None,
            data_root: str | Path | None = None, data: Any = None,
            step_interval: float = 2.0, train_hook: Any = None) -> dict[str, Any]:
        """Run one stage in `rundir` (resuming from its checkpoints) and return its result.

        `report` gets {"event": "phase" | "epoch" | "step", "phase", "epoch", "epochs", ...}: every
        phase start and finished epoch, and step counts at most every `step_interval` seconds (the
        registry's worker writes each report to progress.json; a progress bar asks for more often).
        `device` defaults to the GPU when there is one; `data` (already loaded) saves a reload when
        a caller runs several stages of the same dataset in one process."""
        if stage["kind"] == "eval":  # reads a finished training stage, trains nothing
            from tickets.evals.run import run_eval

            return run_eval(stage["spec"], rundir, dep_dirs.get("run"), report, data_root=data_root, device=device)
        import torch

        from tickets.config import TrainConfig
        from tickets.data import load_dataset
        from tickets.pruning import steps
        from tickets.pruning.masks import achieved_sparsity, collapsed
        from tickets.pruning.methods import method_from
        from registry.atomic import read_json

        started = time.perf_counter()
        kind, spec = stage["kind"], stage["spec"]
        seed = int(spec["seed"])
        train_fields = dict(spec["train"])
        train_fields["milestones"] = tuple(train_fields.get("milestones", ()))
        config = TrainConfig(**train_fields).validate()
        method = method_from(spec["method"])
        if data is None:
            data = load_dataset(spec["dataset"], root=data_root)
        rundir = Path(rundir)
        rundir.mkdir(parents=True, exist_ok=True)

        phase = {"name": None, "epochs": 0}

        def phase_started(name: str, epochs: int) -> None:
            phase.update(name=name, epochs=epochs)
            report({"event": "phase", "phase": name, "epochs": epochs})

        def on_epoch(record) -> None:
            report({"event": "epoch", "epochs": phase["epochs"], **record.to_dict()})

        last_step = [-math.inf]

        def on_step(epoch: int, step: int, steps_: int) -> None:
            now = time.monotonic()
            if now - last_step[0] < step_interval:
                return
            last_step[0] = now
            report({"event": "step", "phase": phase["name"], "epoch": epoch,
                    "epochs": phase["epochs"], "step": step, "steps": steps_})

        torch.manual_seed(seed)
        pretrain_dir = dep_dirs.get("pretrain")
        ctx = steps.RunContext(
            dataset=spec["dataset"], model_name=spec["model"], model_options=dict(spec["model_options"]),
            method=method, check=spec["check"], sparsity=float(spec["sparsity"]), seed=seed,
            config=config, info=data.info, data=data, rundir=rundir,
            pretrain_dir=Path(pretrain_dir) if pretrain_dir is not None else None, device=device,
            data_check=spec.get("data_check"), on_epoch=on_epoch, on_step=on_step,
            phase_started=phase_started, bn_l1=float(spec.get("bn_l1") or 0.0),
            soft_filter=float(spec.get("soft_filter") or 0.0),
            retrain_config=_config_from(spec["retrain"]) if spec.get("retrain") else None,
            train_hook=train_hook)
        if kind == "pretrain":
            history = steps.train_dense(ctx)
        elif kind == "ticket":
            history = method.run(ctx)
        else:
            raise UserError(f"domain tickets has no stage kind {kind!r}")

        stats = read_json(rundir / steps.LAYERS_FILE)
        result = {**history.result(), "epochs": history.epochs,
                  "achieved_sparsity": achieved_sparsity(stats), "collapsed": collapsed(stats),
                  "kept_weights": sum(r["kept"] for r in stats),
                  "prunable_weights": sum(r["weights"] for r in stats),
                  "seconds_per_epoch": (history.seconds / len(history.records)) if history.records else 0.0,
                  "wall_seconds": time.perf_counter() - started}
        from tickets.domain_structured import size_columns

        result.update(size_columns(spec, rundir, data.info, stats, result))
        return result


    # ----------------------------------------------------------------------------- GPUs
    def pack_key(self, stage) -> str | None:
        """Stages with one key can train as one stacked model (tickets/train/packing_jobs.py)."""
        from tickets.train.packing_jobs import pack_key

        return pack_key(stage)

    def run_packed(self, stages, rundirs, dep_dirs, reports) -> list:
        from tickets.train.packing_jobs import run_packed

        return run_packed(self, stages, rundirs, dep_dirs, reports)

    def stage_version(self, kind: str, columns: Mapping[str, Any]) -> int:
        """The domain version such a stage is made under today (tickets/versions.py): stored runs
        below it are stale."""
        from tickets.versions import stage_version

        return stage_version(kind, columns)

    def data_fingerprint(self, stage: Mapping[str, Any]) -> str | None:
        """What the run's data was, as found here (tickets/data/fingerprint.py; meta.json, store)."""
        from tickets.data.fingerprint import data_fingerprint

        name = (stage.get("columns") or {}).get("dataset") or (stage.get("spec") or {}).get("dataset")
        return data_fingerprint(str(name)) if name else None

    def runtime_info(self) -> dict[str, Any]:
        """device, gpu_model, torch_version, cuda_version, threads of this process (meta.json, store)."""
        from tickets.train.runtime import runtime_info

        return runtime_info()


def versioned(stage: Stage) -> Stage:
    """`stage` with the domain version its kind and columns get today (none at version 1)."""
    from tickets.versions import version_identity

    extra = version_identity(stage.kind, stage.columns)
    return dataclasses.replace(stage, identity={**stage.identity, **extra}) if extra else stage


def _seed(value: Any) -> int:
    """A seed the store can hold (BIGINT) and torch can take: an integer in [0, 2**63)."""
    raw = value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2 ** 63:
        raise UserError(f"seed must be a non-negative integer below 2**63, got {raw!r}")
    return value


def _config_from(fields: Mapping[str, Any]):
    from tickets.config import TrainConfig

    fields = dict(fields)
    fields["milestones"] = tuple(fields.get("milestones", ()))
    return TrainConfig(**fields).validate()


def _plain_config(config) -> dict[str, Any]:
    return {f.name: to_plain(getattr(config, f.name)) for f in dataclasses.fields(config)}


def variant_label(method_options: Mapping[str, Any], train: Mapping[str, Any],
                  model_options: Mapping[str, Any], retrain: Mapping[str, Any] | None = None) -> str:
    """What a run changes from the defaults, in short: "rule=ascend epochs=3 milestones=2" ("" for
    the papers' settings). Stored as the `variant` column so reports never average different
    configurations together, and readable in `tickets runs ls`."""
    def text(value: Any) -> str:
        if isinstance(value, (list, tuple)):
            return ",".join(map(str, value)) or "none"
        return str(value)

    parts = [f"{k}={text(v)}" for part in (method_options, train) for k, v in sorted(part.items())]
    parts += [f"model.{k}={text(v)}" for k, v in sorted(model_options.items())]
    parts += [f"retrain.{k}={text(v)}" for k, v in sorted((retrain or {}).items())]
    return " ".join(parts)


def _dataset_info(name: str):
    from tickets.data import dataset_info

    return dataset_info(name)


def _model_options(model: str, info, options: Mapping[str, Any]) -> dict[str, Any]:
    """The model's options with defaults filled in; unknown names and dataset mismatches fail here
    (the model is built once per process and its layer shapes cached)."""
    from tickets.models import model_options

    defaults = model_options(model)  # UnknownName lists the models
    full = {**defaults, **dict(options)}
    _layers(model, info, json.dumps(full, sort_keys=True))
    return full


@functools.lru_cache(maxsize=64)
def _layers(model: str, info, options_json: str) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(param name, shape) of the prunable layers: from the model catalog for the built-in models at
    their defaults (no torch), else built on the CPU once per process (vgg19: ~0.3 s; a meta-device
    build would import torch._dynamo, which costs several times more)."""
    from tickets.models import layer_shapes

    return tuple((n, shape) for n, _, shape in layer_shapes(model, info, **json.loads(options_json)))


DOMAIN = TicketsDomain()
