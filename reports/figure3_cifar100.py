"""Figure 3 on CIFAR-100 (the seed paper's appendix; studies/appendix_figure3_cifar100.py) as a table:
initial tickets pruned with the original data, corrupted data, and after a layerwise rearrange.
`tickets figure figure3_cifar100` draws it."""
from registry.report import FigureSpec, Group, Report

from ._common import CHANCE, MODELS, method, sparsity_axis

CHECKS = {"none": "original", "corrupt": "corrupted data", "rearrange": "layerwise rearrange"}
METHODS = {"lt": "LT", "snip": "SNIP", "grasp": "GraSP"}

REPORT = Report(
    name="figure3_cifar100",
    title="Sanity checks of the initial tickets of ResNet32 and VGG19 on CIFAR-100",
    caption="Sanity checks of the initial tickets of ResNet32 and VGG19 on CIFAR-100 (the appendix's Figure 3 "
            "as a table).",
    filters={"dataset": "cifar100", "model": ["resnet32", "vgg19"], "method": list(METHODS),
             "check": list(CHECKS), "variant": ""},
    columns=(sparsity_axis((0.6, 0.8, 0.9, 0.95, 0.98)),),
    groups=tuple(Group(MODELS[m], {"model": m}) for m in ("resnet32", "vgg19")),
    rows=tuple(method(f"{m}/{c}" if c != "none" else m, f"{label} ({CHECKS[c]})", m, check=c)
               for m, label in METHODS.items() for c in CHECKS),
    row_title="Method (data used for pruning)",
    seeds=3,
    chance=CHANCE,
    study="studies/appendix_figure3_cifar100.py",
    metric="best_test_acc",  # as Figure 3 (the seed code's "Best acc"): one metric for both panels' figures
    figure=FigureSpec(panels=("model", "dataset", "method"), series="check", x="sparsity",
                      series_labels=CHECKS, panel_labels={**METHODS, **MODELS, "cifar100": "CIFAR-100"}),
)
