"""Per-cell statistics in one DuckDB GROUP BY: n, mean, sample std, range and collapse flags.

The same SQL runs against the store's `run_results` view or against any pandas frame of that
shape (registered in an in-memory DuckDB), so the engine is testable without a store and fast on a
store of 100,000 runs: only a few hundred aggregated rows ever reach Python.
Failed runs and runs without the metric are left out."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from registry.errors import UserError
from registry.report.spec import Report, Where

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

Query = Callable[[str, Sequence[Any] | None], "pd.DataFrame"]
# What a cell can show: accuracies (test_acc: final epoch; best_test_acc: best epoch on the test set,
# the seed paper's "Best acc"; val_selected_test_acc: test accuracy at the best epoch on a held-out
# validation split), and the model size of every run ("Params", "FLOPs ↓" columns).
METRIC_SQL = {
    "test_acc": '"test_acc"',
    "best_test_acc": '"best_test_acc"',
    "val_selected_test_acc": '"val_selected_test_acc"',
    "test_top5": '"test_top5"',  # final-epoch top-5 test accuracy (ImageNet tables)
    "params": '"params"',
    "flops": '"flops"',
    "params_reduction": '100.0 * (1 - "params" / nullif("dense_params", 0))',  # percent removed
    "flops_reduction": '100.0 * (1 - "flops" / nullif("dense_flops", 0))',
}
METRICS = tuple(METRIC_SQL)
# sizes describe a network; they are not results to rank, so tables bold none of them
SIZE_METRICS = ("params", "flops", "params_reduction", "flops_reduction")
METRIC_LABELS = {"test_acc": "final-epoch test accuracy",
                 "best_test_acc": "best-epoch test accuracy (epoch selected on the test set)",
                 "val_selected_test_acc": "test accuracy at the best validation epoch",
                 "test_top5": "final-epoch top-5 test accuracy",
                 "params": "parameters", "flops": "FLOPs (conv/linear multiply-accumulates per input)",
                 "params_reduction": "Params ↓ (% of the unpruned network's parameters removed)",
                 "flops_reduction": "FLOPs ↓ (% of the unpruned network's FLOPs removed; conv/linear multiply-accumulates)"}
PLAIN_FIELDS = ("key", "kind", "status", "source", "dataset", "model", "method", "check", "sparsity",
                "seed", "variant", "test_acc", "best_test_acc", "achieved_sparsity", "collapsed",
                "params", "flops", "dense_params", "dense_flops", "val_selected_test_acc",
                "test_top5")
SPARSITY_DIGITS = 6


def field_sql(name: str) -> str:
    """SQL expression for a report field: a plain column, or `spec.<path>` read from the spec JSON."""
    if name.startswith("spec."):
        path = name[len("spec."):]
        if not path.replace("_", "").replace(".", "").isalnum():
            raise UserError(f"bad spec field {name!r}: use letters, digits, '_' and '.'")
        return f"json_extract_string(spec, '$.{path}')"
    if name not in PLAIN_FIELDS:
        raise UserError(f"unknown report field {name!r}; known: {', '.join(PLAIN_FIELDS)}, spec.<name>")
    if name == "sparsity":
        return f'round("sparsity", {SPARSITY_DIGITS})'
    if name == "variant":  # rows from before variants existed, or frames without one: the defaults
        return "coalesce(\"variant\", '')"
    return f'"{name}"'


def where_sql(where: Where) -> tuple[list[str], list[Any]]:
    """SQL conditions and parameters for a filter mapping."""
    clauses, params = [], []
    for name, value in where.items():
        if name == "study":  # runs a study asked for (`report --study`): membership, not a spec field
            names = [value] if isinstance(value, str) else list(value)
            clauses.append("(" + " OR ".join(["list_contains(string_split(coalesce(studies, ''), ','), ?)"]
                                             * len(names)) + ")")
            params.extend(names)
            continue
        expr = field_sql(name)
        if name.startswith("spec.") and _numeric(value):
            # the spec JSON is read as text: compare numbers as numbers, so 0.1 matches "0.1" and 1 matches 1.0
            expr = f"TRY_CAST({expr} AS DOUBLE)"
            value = float(value) if not isinstance(value, (list, tuple, set, frozenset)) else [float(v) for v in value]
        elif name.startswith("spec.") and isinstance(value, bool):
            value = "true" if value else "false"  # JSON's spelling
        if value is None:
            clauses.append(f"{expr} IS NULL")
        elif isinstance(value, (list, tuple, set, frozenset)):
            values = list(value)
            clauses.append(f"{expr} IN ({', '.join('?' for _ in values)})")
            params.extend(_param(name, v) for v in values)
        else:
            clauses.append(f"{expr} = ?")
            params.append(_param(name, value))
    return clauses, params


def _numeric(value: Any) -> bool:
    """A number (not a bool), or a non-empty list of numbers."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return bool(value) and all(_numeric(v) for v in value)
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _param(name: str, value: Any) -> Any:
    if name == "sparsity":
        return round(float(value), SPARSITY_DIGITS)
    return value


def stats_sql(report: Report, metric: str | None = None, table: str = "run_results") -> tuple[str, list[Any]]:
    """The GROUP BY that turns runs into per-cell statistics for `report`. A report with `eval`
    reads the store's `eval_results` view instead: the evaluation's `metric` of each run."""
    metric = metric or report.metric
    if report.eval is not None:  # eval_results: the evaluated run's columns + eval, eval_metric, value
        return _stats_sql(report, "value", "eval_results", ["eval = ?", "eval_metric = ?"], [report.eval, metric],
                          # the evaluated networks' own accuracy: one at chance collapsed, whatever its ECE
                          'avg(test_acc) AS acc_mean, min(test_acc) AS acc_lo, max(test_acc) AS acc_hi, ')
    if metric not in METRICS:
        raise UserError(f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    return _stats_sql(report, metric, table, [], [])


def _stats_sql(report: Report, metric: str, table: str, extra: list[str], extra_params: list[Any],
               accuracy: str = ""):
    fields = report.fields()
    # Runs of different variants (non-default options) come back as separate records of one cell,
    # and `seeds` counts distinct seeds, so the table can tell pooled configurations and repeated
    # seeds from a complete cell instead of silently averaging them.
    select = ", ".join([f'{field_sql(f)} AS "{f}"' for f in fields]
                       + ([] if "variant" in fields else [f"{field_sql('variant')} AS variant"]))
    clauses, params = where_sql(report.filters)
    value = METRIC_SQL.get(metric, f'"{metric}"')
    clauses = [*extra, "status IS DISTINCT FROM 'failed'", f'({value}) IS NOT NULL', *clauses]
    sql = (f"SELECT {select}, count(*) AS n, count(DISTINCT seed) AS seeds, {PROVENANCE_SQL}, "
           f"avg({value}) AS mean, stddev_samp({value}) AS std, "
           f"min({value}) AS lo, max({value}) AS hi, {accuracy}"
           f"bool_and(coalesce(collapsed, false)) AS all_collapsed "
           f"FROM {table} WHERE {' AND '.join(clauses)} GROUP BY ALL")
    return sql, [*extra_params, *params]


# What made each cell's runs besides their spec (registry/provenance.py): the code (version string
# plus the hash of uncommitted changes), the installed environment, the data. The table marks a cell
# whose runs differ in any of them (table._mixture); runs that did not record one are not counted.
PROVENANCE_COLUMNS = ("code_version", "git_diff_hash", "env_hash", "data_fingerprint")
PROVENANCE_SQL = ("list_distinct(list(CASE WHEN code_version IS NULL THEN NULL "
                  "ELSE concat_ws(' dirty ', code_version, git_diff_hash) END)) AS code_versions, "
                  "list_distinct(list(env_hash)) AS envs, list_distinct(list(data_fingerprint)) AS datas")


def stats_from_query(report: Report, query: Query, metric: str | None = None) -> "pd.DataFrame":
    """Per-cell statistics through a query function such as `Store(home).frame`."""
    sql, params = stats_sql(report, metric)
    return query(sql, params or None)


def stats_from_frame(report: Report, runs: "pd.DataFrame", metric: str | None = None) -> "pd.DataFrame":
    """Per-cell statistics of a frame of `run_results` rows (missing columns count as null)."""
    import duckdb
    import pandas as pd

    runs = runs.copy()
    for name in PLAIN_FIELDS:
        if name not in runs.columns:
            runs[name] = "local" if name == "source" else None
    if "spec" not in runs.columns:
        runs["spec"] = "{}"
    if "studies" not in runs.columns:
        runs["studies"] = None
    for name in PROVENANCE_COLUMNS:  # frames from before provenance, or made by hand
        runs[name] = runs[name].astype("string") if name in runs.columns else pd.Series(
            [None] * len(runs), index=runs.index, dtype="string")
    runs["spec"] = runs["spec"].map(lambda s: s if isinstance(s, str) or s is None else json.dumps(s))
    runs = runs.astype({"sparsity": "float64", "test_acc": "float64", "best_test_acc": "float64",
                        "val_selected_test_acc": "float64", "test_top5": "float64",
                        **{c: "float64" for c in ("params", "flops", "dense_params", "dense_flops")}})
    runs["collapsed"] = runs["collapsed"].astype("boolean")
    con = duckdb.connect(":memory:")
    try:
        con.register("run_results", runs)
        sql, params = stats_sql(report, metric)
        return con.execute(sql, params).df()
    finally:
        con.close()


def records(stats: "pd.DataFrame") -> list[dict[str, Any]]:
    """The statistics as plain dicts (missing values as None): layout matches a few hundred of them
    against a few hundred cells, which plain Python does far faster than pandas indexing."""
    if hasattr(stats, "records"):  # registry.store.Rows: already plain Python values (NULL as None)
        return [{k: (None if isinstance(v, float) and v != v else v) for k, v in rec.items()}
                for rec in stats.records()]
    out = stats.astype(object).where(stats.notna(), None).to_dict("records")
    return out


def _matches(value: Any, wanted: Any, name: str) -> bool:
    if isinstance(wanted, (list, tuple, set, frozenset)):
        return any(_matches(value, w, name) for w in wanted)
    if wanted is None:
        return value is None
    if name == "sparsity":
        return value is not None and round(float(value), SPARSITY_DIGITS) == round(float(wanted), SPARSITY_DIGITS)
    if name.startswith("spec.") and isinstance(value, str) and _numeric(wanted):
        try:  # spec fields come back as JSON text
            return float(value) == float(wanted)
        except ValueError:
            return False
    return value == wanted


def matching(stats: list[dict[str, Any]], where: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The statistics records whose fields match `where` (values or lists of values)."""
    items = list(where.items())
    return [rec for rec in stats if all(_matches(rec.get(k), v, k) for k, v in items)]
