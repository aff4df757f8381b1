"""Ratio rules that empty a layer, found before anything runs (docs/FIDELITY.md item 9).

`study plan` calls `study_ratio_warnings(stages)`: for every distinct (dataset, model, model
options, rule, sparsity) among the stages of methods with a ratio rule, the plan's warnings (see
`RatioPlan.warnings`), each naming the stages' method so the researcher knows which rows will read
chance accuracy."""
from __future__ import annotations

import json
from typing import Any, Iterable

from registry.errors import UserError


def study_ratio_warnings(stages: Iterable[Any]) -> list[str]:
    from tickets.data import dataset_info
    from tickets.domain import _layers
    from tickets.models import model_family
    from tickets.pruning.ratios import plan_ratios

    seen: dict[tuple, set[str]] = {}
    for stage in stages:
        spec = stage.spec if isinstance(getattr(stage, "spec", None), dict) else {}
        method = spec.get("method") or {}
        if not isinstance(method, dict):  # a stage of another domain (a plugin's, the tests' fake one)
            continue
        rule = method.get("rule")
        if not rule or not spec.get("sparsity"):
            continue
        key = (spec["dataset"], spec["model"], json.dumps(spec.get("model_options") or {}, sort_keys=True),
               rule, float(spec["sparsity"]))
        seen.setdefault(key, set()).add(method.get("name", "?"))
    out = []
    for (dataset, model, options, rule, sparsity), methods in sorted(seen.items()):
        try:
            layers = _layers(model, dataset_info(dataset), options)
            plan = plan_ratios(rule, list(layers), sparsity, family=model_family(model))
        except UserError:  # not this domain's names: expansion already said what it had to
            continue
        for line in plan.warnings():
            out.append(f"{model} on {dataset} ({', '.join(sorted(methods))}): {line}")
    return out
