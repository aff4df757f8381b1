"""A store shaped like a finished sanity-check study, for figure and page tests: Figure 3's grid
(two networks x LT/SNIP/GraSP x original/corrupted/rearranged x five sparsities x three seeds, one
panel lacking a series), dense runs, per-layer keep ratios (one collapsed layer) and learning curves."""
from __future__ import annotations

import pandas as pd

from registry.store import Store

SPARSITIES = (0.6, 0.8, 0.9, 0.95, 0.98)
METHODS = {"lt": 93.0, "snip": 92.0, "grasp": 92.5}
CHECKS = {"none": 0.0, "corrupt": -1.5, "rearrange": -2.5}
LACKING = ("vgg19", "grasp", "rearrange")  # the panel of the issue: one series has no runs


def sanity_runs() -> pd.DataFrame:
    runs = []
    for model in ("resnet32", "vgg19"):
        for seed in range(3):
            runs.append(dict(key=f"d-{model}-{seed}", method="dense", check="none", sparsity=0.0, model=model,
                             seed=seed, test_acc=94.0 + 0.1 * seed))
        for method, base in METHODS.items():
            for check, shift in CHECKS.items():
                if (model, method, check) == LACKING:
                    continue
                for sparsity in SPARSITIES:
                    for seed in range(3):
                        acc = base + shift - 10 * sparsity ** 4 + 0.2 * (seed - 1)
                        runs.append(dict(key=f"{model}-{method}-{check}-{sparsity}-{seed}", method=method,
                                         check=check, sparsity=sparsity, model=model, seed=seed, test_acc=acc))
    frame = pd.DataFrame(runs)
    frame["dataset"] = "cifar10"
    frame["kind"] = "ticket"
    frame["status"] = "done"
    frame["source"] = "local"
    frame["variant"] = ""
    frame["best_test_acc"] = frame["test_acc"] + 0.3
    return frame


def keep_ratios(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    chosen = runs[(runs["model"] == "resnet32") & (runs["check"] == "none")
                  & (runs["sparsity"].isin([0.0, 0.98]))]
    for run in chosen.itertuples():
        for idx in range(6):
            if run.method == "dense":
                ratio = 1.0
            elif run.method == "snip" and idx == 4:
                ratio = 0.0  # a collapsed layer
            else:
                ratio = min(1.0, 0.002 * (idx + 1) ** 2 + 0.001 * run.seed + (0.3 if idx == 5 else 0))
            rows.append(dict(key=run.key, idx=idx, layer=f"layer{idx}.weight", weights=1000,
                             kept=int(round(1000 * ratio)), keep_ratio=ratio))
    return pd.DataFrame(rows)


def curves(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    chosen = runs[(runs["model"] == "resnet32") & (runs["check"] == "none") & (runs["sparsity"].isin([0.0, 0.9]))]
    for run in chosen.itertuples():
        phases = ("pretrain",) if run.method == "dense" else ("pretrain", "retrain")
        for phase in phases:
            for epoch in range(1, 11):
                acc = run.test_acc * (1 - 0.5 ** epoch)
                rows.append(dict(key=run.key, phase=phase, epoch=epoch, train_acc=min(100.0, acc + 3),
                                 test_acc=acc, train_loss=2.3 * 0.7 ** epoch, test_loss=2.3 * 0.75 ** epoch,
                                 lr=0.1, seconds=1.0))
    return pd.DataFrame(rows)


def build(home) -> Store:
    runs = sanity_runs()
    store = Store(home)
    store.add_new_runs({"runs": runs, "results": runs[["key", "test_acc", "best_test_acc"]],
                        "layers": keep_ratios(runs), "epochs": curves(runs)})
    return store


def add_size_columns(store: Store) -> None:
    """Give every run `params` and `flops`, as runs trained by this version record them."""
    import duckdb

    con = duckdb.connect(str(store.path))
    try:
        view = con.execute("SELECT sql FROM duckdb_views() WHERE view_name = 'run_results'").fetchone()[0]
        for column in ("params", "flops"):
            con.execute(f"ALTER TABLE results ADD COLUMN IF NOT EXISTS {column} BIGINT")
        con.execute("UPDATE results SET params = CAST(2000000 * (1 - r.sparsity) AS BIGINT) + 1000, "
                    "flops = CAST(70000000 * (1 - r.sparsity) AS BIGINT) + 5000 FROM runs r WHERE r.key = results.key")
        if "s.params" not in view:
            view = view.replace("s.collapsed,", "s.collapsed, s.params, s.flops,")
            con.execute(view.replace("CREATE VIEW", "CREATE OR REPLACE VIEW"))
    finally:
        con.close()
