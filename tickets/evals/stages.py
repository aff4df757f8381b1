"""Evaluation stages of a cell: one `eval` stage per declared evaluation, depending on the stage
that trained the cell's network. Kept out of `tickets.domain` so the domain adds them in a line."""
from __future__ import annotations

from typing import Any, Iterable, Sequence

from registry.domain import Stage
from registry.errors import UserError

KIND = "eval"


def resolve_evals(values: Any) -> tuple:
    """The cell's `evals` (names, mappings or Evaluation instances) as Evaluations, deduped by label."""
    from tickets.evals.specs import parse_eval

    if values in (None, "", (), []):
        return ()
    if isinstance(values, str):
        values = (values,)
    try:
        items = list(values)
    except TypeError:
        raise UserError(f"evals must be a list such as ('calibration', 'ood:mnist'), got {values!r}") from None
    out, seen = [], set()
    for value in items:
        evaluation = parse_eval(value)
        if evaluation.label() not in seen:
            seen.add(evaluation.label())
            out.append(evaluation)
    return tuple(out)


def eval_stages(trained: Stage, evaluations: Sequence[Any], *, seed: int) -> list[Stage]:
    """One stage per evaluation of the `trained` stage (a pretrain or ticket stage)."""
    stages = []
    for evaluation in evaluations:
        identity = {"eval": evaluation.identity()}
        spec = {"eval": {"name": evaluation.name, **evaluation.options()}, "label": evaluation.label(),
                "seed": seed, "dataset": trained.columns.get("dataset"), "model": trained.columns.get("model")}
        stages.append(Stage(KIND, identity, spec, dict(trained.columns), {"run": trained.key}))
    return stages


def datasets_needed(stages: Iterable[Stage]) -> set[str]:
    """Registered datasets the OoD evaluations among `stages` read (so readiness checks fetch them)."""
    from tickets.data import dataset_names

    known = set(dataset_names())
    return {str(s.spec["eval"]["dataset"]) for s in stages
            if s.kind == KIND and s.spec["eval"].get("name") == "ood" and s.spec["eval"].get("dataset") in known}
