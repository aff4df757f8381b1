"""The Random Pruning paper's VGG depth sweep (studies/random_pruning_vgg_depth.py): test accuracy of
dense and randomly pruned VGG-11/13/16/19 on CIFAR-10/100 with the paper's seven layer ratios, and
the figure of accuracy and gap to dense against depth. No published values to compare with here."""
from registry.report import Group, Report

from ._common import CHANCE, dataset_axis, sparsity_axis
from ._random_pruning import SEVEN, rule_rows, scale_figure

MODELS = ("vgg11", "vgg13", "vgg16", "vgg19")
LABELS = {m: f"VGG-{m[3:]}" for m in MODELS}

REPORT = Report(
    name="random_pruning_vgg_depth",
    title="Random pruning vs dense VGGs of increasing depth",
    caption="Test accuracy (%) of VGG-11/13/16/19 trained dense or sparse from a random mask with the "
            "paper's seven layer ratios (uniform, uniform+, ER, ERK, ERK+, SNIP and GraSP ratio); "
            "mean ± std over 3 seeds.",
    filters={"dataset": ["cifar10", "cifar100"], "model": list(MODELS)},
    columns=(dataset_axis(["cifar10", "cifar100"]), sparsity_axis((0.5, 0.7, 0.9))),
    groups=tuple(Group(LABELS[m], {"model": m}) for m in MODELS),
    rows=rule_rows(SEVEN, dense_label="{group} (dense)"),
    seeds=3,
    chance=CHANCE,
    study="studies/random_pruning_vgg_depth.py",
    figure=scale_figure("model", MODELS, "depth", labels=LABELS, panels=("dataset", "sparsity")),
)
