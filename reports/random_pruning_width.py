"""The Random Pruning paper's width sweep (studies/random_pruning_width.py): test accuracy of dense
and randomly pruned ResNet-20 of first-stage width 8..64 on CIFAR-10/100, with the figure of
accuracy and gap to dense against width."""
from registry.report import Report

from ._common import CHANCE, dataset_axis, sparsity_axis
from ._random_pruning import SEVEN, WIDTH, rule_rows, scale_figure, size_axis

WIDTHS = (8, 16, 24, 32, 48, 64)

REPORT = Report(
    name="random_pruning_width",
    title="Random pruning vs dense ResNet-20 of increasing width",
    caption="Test accuracy (%) of ResNet-20 with first-stage width 8..64 trained dense or sparse from a "
            "random mask with the paper's seven layer ratios (uniform, uniform+, ER, ERK, ERK+, SNIP and GraSP ratio); mean ± std over 3 seeds.",
    filters={"dataset": ["cifar10", "cifar100"], "model": "resnet20"},
    columns=(dataset_axis(["cifar10", "cifar100"]), sparsity_axis((0.5, 0.7, 0.9))),
    group_by=size_axis(WIDTH, WIDTHS, "width"),
    rows=rule_rows(SEVEN, dense_label="width {group} (dense)"),
    seeds=3,
    chance=CHANCE,
    study="studies/random_pruning_width.py",
    figure=scale_figure(WIDTH, tuple(str(w) for w in WIDTHS), "first-stage width",
                        panels=("dataset", "sparsity")),
)
