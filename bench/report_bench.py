"""Benchmark: render every report, in every format, from a store of 100,000 runs.

    python bench/report_bench.py [--runs 100000] [--home DIR] [--repeat 3] [--reports table1,quickstart]

Builds the store through its bulk write path (Store.add_new_runs), with a run for every stage of every
study a report names (expanded by the domain, so every report, present or future, finds its cells),
evaluation rows for the reports that read one, plus filler runs of other datasets and sparsities that
the reports must filter out. Then times, per report, the store query + aggregation + layout + all five
formats, and prints the slowest (target: every report under 0.3 s, the figure it had at 1,000,000 runs
when there were five reports: `--runs 1000000 --reports table1,table2,table3,table4,quickstart`)."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from registry.report import make_table, render  # noqa: E402
from registry.report.loader import load_all  # noqa: E402
from registry.report.render import FORMATS  # noqa: E402
from registry.store import Store  # noqa: E402

def study_cells(reports) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Runs for every stage of every study a report names (expanded by its domain, so each report's
    filters, variants and spec fields find their cells), and evaluation rows for the reports that
    read an evaluation: (runs, evals)."""
    import json

    from registry.plan import expand
    from tickets.study import load_study

    metrics: dict[str, set[str]] = {}  # evaluation label -> the metrics reports read of it
    for report, _ in reports:
        if report.eval:
            metrics.setdefault(report.eval, set()).add(report.metric)
    runs: dict[str, dict] = {}
    evals = []
    for path in sorted({report.study for report, _ in reports if report.study}):
        study = load_study(ROOT / path)
        _, stages, _ = expand(study)
        for key, stage in stages.items():
            row = runs.setdefault(key, {"key": key, "kind": stage.kind, **stage.columns, "studies": study.name,
                                        "spec": json.dumps(stage.spec, sort_keys=True, default=str)})
            if study.name not in row["studies"].split(","):
                row["studies"] += "," + study.name
            if stage.kind == "eval":
                label = stage.spec.get("label")
                evals += [(key, stage.deps["run"], label, metric) for metric in sorted(metrics.get(label, ()))]
    return (pd.DataFrame(list(runs.values())),
            pd.DataFrame(evals, columns=["key", "run_key", "eval", "metric"]).drop_duplicates(["key", "eval", "metric"]))


def synthetic_runs(n: int, reports, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The study cells of every report, then filler runs of other datasets and sparsities (which
    the reports must filter out) up to `n`: (runs, evals)."""
    rng = np.random.default_rng(seed)
    base, evals = study_cells(reports)
    filler = max(0, n - len(base))
    fill = pd.DataFrame({
        "dataset": rng.choice(["cifar10", "cifar100", "mnist", "synthetic", "tinyimagenet"], filler),
        "model": rng.choice(["vgg19", "resnet32", "resnet20", "vgg16", "lenet300"], filler),
        "method": rng.choice(["snip", "grasp", "synflow", "random", "imp", "random_tickets"], filler),
        "check": rng.choice(["none", "random_labels", "reinit"], filler),
        "sparsity": rng.choice([0.5, 0.8, 0.99, 0.995], filler),
        "seed": rng.integers(3, 1000, filler),
    })
    fill["key"] = [f"{i:016x}" for i in range(filler)]
    fill["kind"] = "ticket"
    fill["variant"] = ""
    fill["spec"] = "{}"
    runs = pd.concat([base, fill], ignore_index=True)
    runs["status"] = np.where(rng.random(len(runs)) < 0.01, "failed", "done")
    runs.loc[: len(base) - 1, "status"] = "done"  # never fail a run that a report cell needs
    runs["source"] = "local"
    runs["test_acc"] = 60 + 30 * rng.random(len(runs))
    runs["best_test_acc"] = runs["test_acc"] + rng.random(len(runs))
    runs["collapsed"] = False
    evals["value"] = rng.random(len(evals))
    return runs, evals


def build_store(home: Path, n: int, reports) -> Store:
    store = Store(home)
    runs, evals = synthetic_runs(n, reports)
    started = time.perf_counter()
    trained = runs[runs["kind"] != "eval"]
    store.add_new_runs({"runs": runs, "results": trained[["key", "test_acc", "best_test_acc", "collapsed"]],
                        "evals": evals})
    print(f"built store with {len(runs):,} runs in {time.perf_counter() - started:.2f} s ({store.path})")
    return store


def render_all(store: Store, reports, query=None) -> dict[str, tuple[float, float]]:
    """{report: (wall seconds, CPU seconds of this process, all threads)}; `query` defaults to
    `store.frame` returning plain rows (a fresh read-only connection per report, as each
    `tickets report` call does)."""
    times = {}
    for report, folder in reports:
        started, cpu = time.perf_counter(), time.process_time()
        table = make_table(report, query=query or (lambda sql, params=None: store.frame(sql, params, rows=True)),
                           folder=folder,
                           compare="paper" if report.paper else None)
        for fmt in FORMATS.names():
            render(table, fmt)
        times[report.name] = (time.perf_counter() - started, time.process_time() - cpu)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reports", default="", help="Comma-separated report names to time (default: all).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reports = load_all(ROOT / "reports")
        if args.reports:
            wanted = {name.strip() for name in args.reports.split(",") if name.strip()}
            unknown = sorted(wanted - {r.name for r, _ in reports})
            if unknown:
                sys.exit(f"unknown report {', '.join(unknown)}; known: {', '.join(sorted(r.name for r, _ in reports))}")
        store = build_store(args.home or Path(tmp) / "home", args.runs, reports)
        if args.reports:  # the store holds every report's runs; only the timing is narrowed
            reports = [(r, f) for r, f in reports if r.name in wanted]
        render_all(store, reports)  # warm-up: imports, Jinja template compilation
        summary(f"fresh read-only connection per report (as `tickets report NAME`)",
                [render_all(store, reports) for _ in range(args.repeat)], args.runs)
        with store.reader() as con:
            shared = lambda sql, params=None: con.execute(sql, params).df()  # noqa: E731
            summary("one read-only connection for all reports",
                    [render_all(store, reports, shared) for _ in range(args.repeat)], args.runs)


def summary(title: str, trials: list[dict[str, tuple[float, float]]], runs: int) -> None:
    best = min(trials, key=lambda t: sum(w for w, _ in t.values()))
    print(title + ":")
    width = max(map(len, best), default=12)
    for name, (wall, cpu) in best.items():
        print(f"  {name:<{width}} {wall * 1000:7.1f} ms wall {cpu * 1000:7.1f} ms CPU"
              f"  (store query + aggregate + layout + {len(FORMATS)} formats)")
    total = sum(w for w, _ in best.values())
    slowest = max(best, key=lambda name: best[name][0])
    wall = best[slowest][0]
    print(f"  all {len(best)} reports x {len(FORMATS)} formats from {runs:,} runs: {total:.3f} s wall; slowest "
          f"{slowest} {wall:.3f} s ({'under' if wall < TARGET_S else 'OVER'} the {TARGET_S} s per-report target; "
          f"best of {len(trials)})")


TARGET_S = 0.3  # per report: what table1-4 and the quickstart took at 1,000,000 runs (0.18-0.28 s)


if __name__ == "__main__":
    main()
