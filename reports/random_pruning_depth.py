"""The Random Pruning paper's depth sweep (studies/random_pruning_depth.py): test accuracy of dense
and randomly pruned CIFAR ResNets (width 16) of depth 20..110. `--compare paper` shows the CIFAR-10
values of the paper's depth figure (the released repository's depth_cf10-1.png), read off the plot:
the paper prints no table for it, so they carry about ±0.1 points of reading error; CIFAR-100 has
no published values to compare with here."""
from registry.report import Group, Report

from ._common import CHANCE, dataset_axis, sparsity_axis
from ._random_pruning import SEVEN, WIDTH, rule_rows, scale_figure

MODELS = ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110")
LABELS = {m: f"ResNet-{m[6:]}" for m in MODELS}

REPORT = Report(
    name="random_pruning_depth",
    title="Random pruning vs dense CIFAR ResNets of increasing depth",
    caption="Test accuracy (%) of CIFAR ResNets (width 16) trained dense or sparse from a random mask "
            "with the paper's seven layer ratios (uniform, uniform+, ER, ERK, ERK+, SNIP and GraSP ratio); mean ± std over 3 seeds.",
    filters={"dataset": ["cifar10", "cifar100"], "model": list(MODELS), WIDTH: "16"},
    columns=(dataset_axis(["cifar10", "cifar100"]), sparsity_axis((0.5, 0.7, 0.9))),
    groups=tuple(Group(LABELS[m], {"model": m}) for m in MODELS),
    rows=rule_rows(SEVEN, dense_label="{group} (dense)"),
    seeds=3,
    chance=CHANCE,
    study="studies/random_pruning_depth.py",
    paper="paper/random_pruning_depth.csv",
    figure=scale_figure("model", MODELS, "depth", labels=LABELS, panels=("dataset", "sparsity")),
)
