"""Benchmark: how long the commands a user types every day take, whole process, beside `import torch`.

    python bench/cli_latency.py [--repeat 3] [--home DIR]

Each command runs as its own process (the `tickets` entry point, i.e. `python -m tickets.cli.main`),
`--repeat` times; the median wall time is printed next to its target. The home is a fresh empty one
unless `--home` names one; `report quickstart` gets a small quickstart-shaped store of its own (so the
report has rows to lay out). `import torch` / `import torchvision` are timed in the same run: the
targets only make sense relative to what the machine takes to import them (2.9 s and 6.1 s on the
2-core machine the targets were set on)."""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TICKETS = [sys.executable, "-m", "tickets.cli.main"]

# (label, argv after `tickets`, target seconds, needs the quickstart store)
COMMANDS = (
    ("tickets run … --method snipp (typo)", ["run", "--dataset", "fashionmnist", "--model", "lenet300",
                                             "--method", "snipp", "--sparsity", "0.9"], 0.5, False),
    ("tickets sql 'SELECT 1'", ["sql", "SELECT 1"], 0.6, False),
    ("tickets report quickstart", ["report", "quickstart"], 0.8, True),
    ("tickets study plan studies/quickstart.py (empty home)", ["study", "plan", "studies/quickstart.py"], 1.0,
     False),
    ("tickets models", ["models"], 1.5, False),
)
BASELINES = (("python -c 'import torch'", [sys.executable, "-c", "import torch"]),
             ("python -c 'import torchvision'", [sys.executable, "-c", "import torchvision"]),
             ("python -c 'pass'", [sys.executable, "-c", "pass"]))


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode, (done.stdout + done.stderr).strip()


def quickstart_store(home: Path) -> None:
    """A finished two-seed quickstart's rows (dense + 4 methods + SNIP corrupted, three sparsities)."""
    import pandas as pd

    from registry.store import Store

    rows = []
    for seed in (0, 1):
        rows.append(dict(key=f"dense-{seed}", method="dense", check="none", sparsity=0.0, seed=seed))
        for method, check in (("lt", "none"), ("snip", "none"), ("grasp", "none"), ("random_tickets", "none"),
                              ("snip", "corrupt")):
            for sparsity in (0.9, 0.95, 0.98):
                rows.append(dict(key=f"{method}-{check}-{sparsity}-{seed}", method=method, check=check,
                                 sparsity=sparsity, seed=seed))
    runs = pd.DataFrame(rows)
    runs["test_acc"] = 86.0 - 10 * runs["sparsity"] ** 4 + 0.2 * runs["seed"]
    runs["best_test_acc"] = runs["test_acc"] + 0.1
    runs["collapsed"] = False
    for name, value in (("dataset", "fashionmnist"), ("model", "lenet300"), ("kind", "ticket"), ("status", "done"),
                        ("source", "local"), ("variant", "epochs=3 milestones=2"), ("spec", "{}")):
        runs[name] = value
    Store(home).add_new_runs({"runs": runs, "results": runs[["key", "test_acc", "best_test_acc", "collapsed"]]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--home", type=Path, default=None, help="Home for every command but the report "
                                                                  "(default: a fresh empty one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        empty, filled = Path(args.home or Path(tmp) / "empty"), Path(tmp) / "quickstart"
        sys.path.insert(0, str(ROOT))
        quickstart_store(filled)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
        rows = []
        for label, argv in BASELINES:
            times = [timed(argv, env)[0] for _ in range(args.repeat)]
            rows.append((label, statistics.median(times), None, ""))
        for label, argv, target, needs_store in COMMANDS:
            home_env = {**env, "TICKETS_HOME": str(filled if needs_store else empty)}
            results = [timed(TICKETS + argv, home_env) for _ in range(args.repeat)]
            median = statistics.median(t for t, _, _ in results)
            last_line = results[-1][2].splitlines()[-1][:70] if results[-1][2] else ""
            rows.append((label, median, target, last_line))
    print(f"median of {args.repeat}, whole process, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    width = max(len(r[0]) for r in rows)
    for label, median, target, last in rows:
        verdict = "" if target is None else (f"target < {target:g} s  {'ok' if median < target else 'OVER'}")
        print(f"  {label:<{width}}  {median:6.2f} s  {verdict}")
    torch_s = rows[0][1]
    print("  (each command as a fraction of `import torch`: "
          + ", ".join(f"{r[0].split(' ')[1]} {r[1] / torch_s:.2f}" for r in rows[3:]) + ")")


if __name__ == "__main__":
    main()
