"""Shared pieces of the Random Pruning (Liu et al., ICLR 2022) report declarations: rows per ratio
rule, network-size groups, and the scale figures (accuracy and gap to dense against width/depth)."""
from __future__ import annotations

from registry.report import Axis, Group, Row
from registry.report.scale import ScaleFigure

RULES = {"erk": "ERK", "er": "ER", "uniform": "Uniform", "uniform_plus": "Uniform+"}
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
