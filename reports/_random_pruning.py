"""Shared pieces of the Random Pruning (Liu et al., ICLR 2022) report declarations: rows per ratio
rule, network-size groups, the scale figures (accuracy and gap to dense against width/depth), and
the evaluation variants of a study's report (`evaluation_report`: ECE, NLL, OoD AUROC / FPR95,
FGSM / PGD accuracy, each a table and a scale figure with the dense network as reference)."""
from __future__ import annotations

import dataclasses

from registry.report import Axis, Group, Report, Row
from registry.report.scale import ScaleFigure

RULES = {"erk": "ERK", "er": "ER", "uniform": "Uniform", "uniform_plus": "Uniform+", "erk_plus": "ERK+",
         "snip_ratio": "SNIP ratio", "grasp_ratio": "GraSP ratio"}
SEVEN = ("uniform", "uniform_plus", "er", "erk", "erk_plus", "snip_ratio", "grasp_ratio")  # the paper's
CPU_RULES = ("erk", "uniform", "erk_plus", "snip_ratio", "grasp_ratio")  # the MLP stand-in's
RULE = "spec.method.rule"  # the ratio rule of a random_tickets run, read from its spec
WIDTH, DEPTH = "spec.model_options.width", "spec.model_options.depth"  # spec values compare as text


def rule_rows(rules=("erk", "uniform"), dense_label: str = "Dense") -> tuple[Row, ...]:
    dense = Row("dense", dense_label, {"method": "dense", "check": "none"}, reference=True)
    return (dense, *(Row(r, RULES[r], {"method": "random_tickets", RULE: r, "check": "none"}) for r in rules))


def mlp_groups(sizes) -> tuple[Group, ...]:
    """One block per (depth, width) of the CPU study's MLP, labelled depth×width."""
    return tuple(Group(f"MLP {d}×{w}", {DEPTH: str(d), WIDTH: str(w)}) for d, w in sizes)


def scale_figure(x: str, values, title: str, labels=None, panels=("sparsity",)) -> ScaleFigure:
    return ScaleFigure(x=x, series=RULE, panels=panels, reference={"method": "dense"},
                       x_values=tuple(values), x_labels=dict(labels or {}), x_title=title,
                       series_labels=RULES, panel_labels={"cifar10": "CIFAR-10", "cifar100": "CIFAR-100",
                                                          "fashionmnist": "Fashion-MNIST"})


def size_axis(field: str, values, title: str) -> Axis:
    return Axis(field, tuple(str(v) for v in values), title=title)


# quantity: (evaluation label, metric, lower is better, decimals, what the cells hold, y axis)
EVALUATIONS = {
    "ece": ("calibration", "ece", True, 4, "ECE (15 bins, fraction; lower is better)", "ECE"),
    "nll": ("calibration", "nll", True, 4, "test NLL (nats; lower is better)", "NLL (nats)"),
    "auroc": ("ood:svhn", "auroc", False, 4, "OoD AUROC (MSP score; test set vs {ood}; higher is better)",
              "AUROC vs {ood}"),
    "fpr95": ("ood:svhn", "fpr95", True, 4, "OoD FPR at 95% TPR (MSP score; test set vs {ood}; lower is better)",
              "FPR95 vs {ood}"),
    "fgsm": ("fgsm", "adv_acc", False, 2, "accuracy (%) under FGSM L∞ (ε 8/255)", "FGSM accuracy (%)"),
    "pgd": ("pgd", "adv_acc", False, 2, "accuracy (%) under PGD L∞ (ε 8/255, step 2/255, 20 steps)",
            "PGD accuracy (%)"),
}


def evaluation_report(base: Report, quantity: str, eval_label: str | None = None, ood: str = "SVHN",
                      what: str | None = None) -> Report:
    """`base` (a study's accuracy report) showing one evaluation quantity instead: the same rows,
    groups, columns and scale figure (gap to the dense network of the same size). `eval_label`:
    the study's label of that evaluation where it is not the default; `ood`: the OoD set's name;
    `what`: the cells' description where the study's options differ from the default's."""
    label, metric, lower, decimals, default, axis = EVALUATIONS[quantity]
    label = eval_label or label
    what, axis = (what or default).format(ood=ood), axis.format(ood=ood)
    figure = dataclasses.replace(base.figure, y_title=axis) if base.figure is not None else None
    return dataclasses.replace(
        base, name=f"{base.name}_{quantity}", figure=figure,
        title=(base.title.replace("accuracy against", f"{axis} against", 1) if "accuracy against" in base.title
               else f"{base.title}: {what}"),
        caption=f"{what} of the networks of {base.name} (dense and randomly pruned), evaluated on the "
                f"test set{'' if label == 'calibration' else f' ({label})'}; mean ± std over {base.seeds} seeds.",
        eval=label, metric=metric, lower_is_better=lower, decimals=decimals, paper=None)
