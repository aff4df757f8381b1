"""Benchmark: render every report, in every format, from a store of 100,000 runs.

    python bench/report_bench.py [--runs 100000] [--home DIR] [--repeat 3]

Builds the store through its bulk write path (Store.add_new_runs), with runs for every cell of every
paper table, Figure 3 and the quickstart, plus filler runs of other datasets and sparsities that the
reports must filter out. Then times, per report, the store query + aggregation + layout + all five
formats, and prints the total (target: under one second for all reports)."""
from __future__ import annotations

import argparse
import itertools
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

CELLS = {  # (datasets, models, methods x checks, sparsities)
    "paper": (["cifar10", "cifar100", "tinyimagenet"], ["vgg19", "resnet32"],
              [("lt", "none"), ("snip", "none"), ("grasp", "none"), ("random_tickets", "none"),
               ("lrr", "none"), ("lrr", "shuffle_weights"), ("lrr", "half_data"), ("hybrid", "none"),
               ("obd", "none"), ("lt", "corrupt"), ("lt", "rearrange"), ("snip", "corrupt"),
               ("snip", "rearrange"), ("grasp", "corrupt"), ("grasp", "rearrange")],
              [0.9, 0.95, 0.98]),
    "quickstart": (["fashionmnist"], ["lenet5"],
                   [("random_tickets", "none"), ("snip", "none"), ("grasp", "none"), ("lt", "none"),
                    ("snip", "corrupt")], [0.9, 0.95, 0.98]),
}


def synthetic_runs(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for datasets, models, combos, sparsities in CELLS.values():
        for d, m, (method, check), p, s in itertools.product(datasets, models, combos, sparsities, range(3)):
            rows.append((d, m, method, check, p, s))
        for d, m, s in itertools.product(datasets, models, range(3)):
            rows.append((d, m, "dense", "none", 0.0, s))
    base = pd.DataFrame(rows, columns=["dataset", "model", "method", "check", "sparsity", "seed"])
    filler = n - len(base)
    fill = pd.DataFrame({
        "dataset": rng.choice(["cifar10", "cifar100", "mnist", "synthetic", "tinyimagenet"], filler),
        "model": rng.choice(["vgg19", "resnet32", "resnet20", "vgg16", "lenet300"], filler),
        "method": rng.choice(["snip", "grasp", "synflow", "random", "imp", "random_tickets"], filler),
        "check": rng.choice(["none", "random_labels", "reinit"], filler),
        "sparsity": rng.choice([0.5, 0.8, 0.99, 0.995], filler),
        "seed": rng.integers(3, 1000, filler),
    })
    runs = pd.concat([base, fill], ignore_index=True)
    runs["key"] = [f"{i:016x}" for i in range(len(runs))]
    runs["kind"] = "ticket"
    runs["status"] = np.where(rng.random(len(runs)) < 0.01, "failed", "done")
    runs["source"] = "local"
    runs["test_acc"] = 60 + 30 * rng.random(len(runs))
    runs["best_test_acc"] = runs["test_acc"] + rng.random(len(runs))
    runs["collapsed"] = False
    runs["spec"] = "{}"
    # never fail a run that a report cell needs
    runs.loc[: len(base) - 1, "status"] = "done"
    return runs


def build_store(home: Path, n: int) -> Store:
    store = Store(home)
    runs = synthetic_runs(n)
    started = time.perf_counter()
    store.add_new_runs({"runs": runs, "results": runs[["key", "test_acc", "best_test_acc", "collapsed"]]})
    print(f"built store with {len(runs):,} runs in {time.perf_counter() - started:.2f} s ({store.path})")
    return store


def render_all(store: Store, reports, query=None) -> dict[str, tuple[float, float]]:
    """{report: (wall seconds, CPU seconds of this process, all threads)}; `query` defaults to
    `store.frame` (a fresh read-only connection per report, as each `tickets report` call does)."""
    times = {}
    for report, folder in reports:
        started, cpu = time.perf_counter(), time.process_time()
        table = make_table(report, query=query or store.frame, folder=folder,
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(args.home or Path(tmp) / "home", args.runs)
        reports = load_all(ROOT / "reports")
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
    for name, (wall, cpu) in best.items():
        print(f"  {name:<12} {wall * 1000:7.1f} ms wall {cpu * 1000:7.1f} ms CPU"
              f"  (store query + aggregate + layout + {len(FORMATS)} formats)")
    total = sum(w for w, _ in best.values())
    cpu = sum(c for _, c in best.values())
    print(f"  all {len(best)} reports x {len(FORMATS)} formats from {runs:,} runs: {total:.3f} s wall, "
          f"{cpu:.3f} s CPU ({'under' if total < 1 else 'OVER'} the 1 s target; best of {len(trials)})")

if __name__ == "__main__":
    main()
