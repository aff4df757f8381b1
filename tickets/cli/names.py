"""Filter values that name a registered thing (a method, check, model, dataset) checked before a
figure or listing says "no runs match": a typo gets "unknown method 'snipp' (did you mean 'snip'?)".

A value counts as known when a registry has it or some run in the store carries it (results imported
from elsewhere may name methods this installation does not have)."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from registry.errors import UserError


def _known(field: str) -> list[str]:
    if field == "method":
        from tickets.pruning.methods import METHODS

        return METHODS.names()
    if field == "check":
        from tickets.pruning.checks import CHECKS

        return CHECKS.names()
    if field == "model":
        from tickets.models import model_names

        return model_names()
    from tickets.data import dataset_names

    return dataset_names()


def check_names(where: Mapping[str, Any], query: Callable) -> None:
    """Raise a UserError naming the first filter value no registry and no stored run knows."""
    from registry.naming import unknown_message

    for field in ("method", "check", "model", "dataset"):
        values = where.get(field) or []
        values = [values] if isinstance(values, str) else list(values)
        known = _known(field)
        for value in values:
            if value in known:
                continue
            stored = query(f'SELECT DISTINCT "{field}" AS v FROM runs WHERE "{field}" IS NOT NULL', None)
            names = [row[0] for row in stored.rows] if hasattr(stored, "rows") else list(stored["v"])
            if value in names:
                continue
            raise UserError(unknown_message(field, value, sorted(set(known) | set(names))))
