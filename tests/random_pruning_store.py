"""A store shaped like finished Random Pruning scale studies, for figure and report tests: dense and
randomly pruned networks of several sizes (the seven layer ratios at 50/70/90 %), three seeds, on
CIFAR-10 and CIFAR-100, each with its evaluations (calibration, OoD against SVHN, FGSM, PGD).
Numbers follow the paper's trends: the gap to dense shrinks as the network grows, sparser is worse."""
from __future__ import annotations

import json

import pandas as pd

from registry.store import Store

RULES = ("uniform", "uniform_plus", "er", "erk", "erk_plus", "snip_ratio", "grasp_ratio")
SPARSITIES = (0.5, 0.7, 0.9)
DATASETS = {"cifar10": 92.0, "cifar100": 70.0}


DEPTH = tuple(("resnet" + d, {"width": 16}) for d in ("20", "32", "56"))
VGG = tuple((f"vgg{d}", {"width": 1.0}) for d in (11, 13, 16, 19))
WIDTH = tuple(("resnet20", {"width": w}) for w in (8, 16, 32))


CHANCE = {"cifar10": 10.0, "cifar100": 1.0}


def scale_runs(networks=DEPTH, collapsed=()):
    """(runs, evals) frames for `networks` [(model, model options)], smallest first; the cells
    `collapsed` [(dataset, network index, rule, sparsity)] train to chance accuracy."""
    runs, evals = [], []

    def add(key, dataset, model, method, rule, sparsity, seed, acc, model_options):
        spec = {"model_options": model_options, "method": {"name": method, **({"rule": rule} if rule else {})}}
        runs.append(dict(key=key, kind="ticket" if method != "dense" else "pretrain", status="done",
                         source="local", dataset=dataset, model=model, method=method, check="none",
                         sparsity=sparsity, seed=seed, variant="", test_acc=acc, best_test_acc=acc + 0.2,
                         collapsed=False, spec=json.dumps(spec)))
        err = (100 - acc) / 100
        trained = runs[-1]
        for label in ("calibration", "ood:svhn", "fgsm", "pgd"):  # the evaluation stages
            runs.append(dict(trained, key=f"e-{label}-{key}", kind="eval"))
        for label, metric, value in (("calibration", "ece", 0.02 + 0.3 * err * err),
                                     ("calibration", "nll", 0.2 + 1.5 * err),
                                     ("ood:svhn", "auroc", 0.95 - 0.4 * err), ("ood:svhn", "fpr95", 0.2 + 0.8 * err),
                                     ("fgsm", "adv_acc", acc * 0.2), ("pgd", "adv_acc", acc * 0.05)):
            evals.append(dict(key=f"e-{label}-{key}", run_key=key, eval=label, metric=metric,
                              value=value + 0.001 * seed))

    for dataset, top in DATASETS.items():
        for n, (model, mo) in enumerate(networks):
            size = n / max(1, len(networks) - 1)
            dense = top + 2 * size
            for seed in range(3):
                add(f"d-{dataset}-{model}-{n}-{seed}", dataset, model, "dense", None, 0.0, seed, dense + 0.1 * seed, mo)
                for i, rule in enumerate(RULES):
                    for sparsity in SPARSITIES:
                        gap = (1 - 0.7 * size) * (1 + 0.15 * i) * (4 * sparsity ** 3)
                        acc = (CHANCE[dataset] if (dataset, n, rule, sparsity) in collapsed
                               else dense - gap + 0.1 * seed)
                        add(f"{dataset}-{model}-{n}-{rule}-{sparsity}-{seed}", dataset, model, "random_tickets",
                            rule, sparsity, seed, acc, mo)
    return pd.DataFrame(runs), pd.DataFrame(evals)


def scale_store(home, networks=DEPTH, collapsed=()) -> Store:
    runs, evals = scale_runs(networks, collapsed)
    store = Store(home)
    trained = runs[runs["kind"] != "eval"]
    store.add_new_runs({"runs": runs, "results": trained[["key", "test_acc", "best_test_acc", "collapsed"]],
                        "evals": evals})
    return store
