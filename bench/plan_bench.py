"""Planning cost: a 10,000-cell study against a store holding 100,000 runs (target: < 1 s).

    python bench/plan_bench.py [--cells 10000] [--stored 100000] [--home DIR]

The store is filled with bulk inserts (a registered pandas frame, INSERT ... SELECT); half of the
study's stages are among the stored runs (with their run directories and result.json, which
planning checks with one stat each), the other half are missing, so planning does the full
work: expand every cell through a domain, dedupe stages, semi-join the candidate keys against
the store, and look at the run directories of the stages it did not find. The domain is a light
stand-in (no torch) with the real one's shape: a shared pretraining stage plus a ticket stage."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from registry.domain import Stage  # noqa: E402
from registry.grid import Grid, Study  # noqa: E402
from registry.plan import make_plan  # noqa: E402
from registry.store import Store  # noqa: E402


class BenchDomain:
    name = "bench"

    def expand(self, cell):
        base = {"dataset": cell["dataset"], "model": cell["model"], "seed": cell["seed"]}
        pretrain = Stage("pretrain", base, base, {**base, "method": "dense", "check": "none", "sparsity": 0.0})
        ident = {**base, "method": cell["method"], "sparsity": cell["sparsity"], "check": cell["check"]}
        return [pretrain, Stage("ticket", ident, ident, ident, deps={"pretrain": pretrain.key})]


def build_study(cells: int) -> Study:
    # 10 datasets × 10 models × 10 methods × 10 sparsities × (cells / 10,000) seeds
    seeds = max(1, cells // 10_000)
    axes = {"dataset": [f"d{i}" for i in range(10)], "model": [f"m{i}" for i in range(10)],
            "method": [f"x{i}" for i in range(10)], "check": ["none"],
            "sparsity": [round(0.05 + 0.09 * i, 2) for i in range(10)], "seed": list(range(seeds))}
    return Study("bench", [Grid(axes=axes)], domain="bench")


def fill_store(store: Store, stage_keys: list[str], total: int) -> float:
    import pandas as pd

    known = stage_keys[: len(stage_keys) // 2]  # half of the study is done already
    filler = [f"f{i:015d}" for i in range(total - len(known))]
    keys = known + filler
    n = len(keys)
    # The study's done runs have their run directories (planning checks each result.json with a stat
    # against the size and mtime recorded at ingest); the filler's directories were pruned.
    sizes, mtimes = [None] * n, [None] * n
    for i, key in enumerate(known):
        path = store.rundir(key) / "result.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"test_acc": 50.0}\n')
        seen = path.stat()
        sizes[i], mtimes[i] = seen.st_size, seen.st_mtime_ns
    runs = pd.DataFrame({"key": keys, "kind": "ticket", "status": "done", "source": "local",
                         "dataset": "d0", "model": "m0", "method": "x0", "check": "none",
                         "sparsity": [0.9] * n, "seed": [i % 5 for i in range(n)], "spec": "{}", "deps": "{}",
                         "result_bytes": pd.array(sizes, dtype="Int64"), "result_mtime_ns": pd.array(mtimes, dtype="Int64")})
    results = pd.DataFrame({"key": keys, "test_acc": [50.0 + (i % 100) / 10 for i in range(n)]})
    start = time.perf_counter()
    store.add_new_runs({"runs": runs, "results": results})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=10_000)
    parser.add_argument("--stored", type=int, default=100_000)
    parser.add_argument("--home")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = Path(args.home or tempfile.mkdtemp(prefix="plan-bench-"))
    store, study, domain = Store(home), build_study(args.cells), BenchDomain()
    if store.exists():
        fill = float("nan")
    else:
        stage_keys = list(make_plan(study, Store(home / "empty"), domain=domain, ingest=False).stages)
        fill = fill_store(store, stage_keys, args.stored)
    stored = int(store.frame("SELECT count(*) AS n FROM runs")["n"][0])
    print(f"store: {stored} runs inserted in {fill:.2f} s (bulk INSERT ... SELECT) at {store.path}")
    timings = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        plan = make_plan(study, store, domain=domain)
        timings.append(time.perf_counter() - start)
    counts = plan.counts()
    print(f"study: {len(plan.cells)} cells -> {len(plan.stages)} stages "
          f"({plan.unshared_runs} without sharing); done {counts['done']}, missing {counts['missing']}")
    best, worst = min(timings), max(timings)
    print(f"plan: best {best:.3f} s, worst {worst:.3f} s over {args.repeat} runs "
          f"(target < 1 s: {'met' if best < 1 else 'NOT met'})")


if __name__ == "__main__":
    main()
