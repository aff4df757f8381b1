"""Figure 3 as a table: initial tickets (LT, SNIP, GraSP) on CIFAR-10 pruned with the original data,
corrupted data (random labels + random pixels) and after a layerwise rearrange, at every sparsity
present. `tickets figure figure3` draws it."""
from registry.report import FigureSpec, Group, Report

from ._common import CHANCE, MODELS, method, sparsity_axis

CHECKS = {"none": "original", "corrupt": "corrupted data", "rearrange": "layerwise rearrange"}
METHODS = {"lt": "LT", "snip": "SNIP", "grasp": "GraSP"}

REPORT = Report(
    name="figure3",
    title="Sanity checks of the initial tickets of ResNet32 and VGG19 on CIFAR-10",
    caption="Sanity checks of the initial tickets of ResNet32 and VGG19 on CIFAR-10 (Figure 3 as a table).",
    filters={"dataset": "cifar10", "model": ["resnet32", "vgg19"], "method": list(METHODS),
             "check": list(CHECKS), "variant": ""},  # the paper's settings
    columns=(sparsity_axis((0.6, 0.8, 0.9, 0.95, 0.98)),),  # the grid of studies/figure3_sanity_initial.py
    groups=tuple(Group(MODELS[m], {"model": m}) for m in ("resnet32", "vgg19")),
    rows=tuple(method(f"{m}/{c}" if c != "none" else m, f"{label} ({CHECKS[c]})", m, check=c)
               for m, label in METHODS.items() for c in CHECKS),
    row_title="Method (data used for pruning)",
    seeds=3,
    chance=CHANCE,
    metric="best_test_acc",  # what the seed code prints ("Best acc"); docs/FIDELITY.md item 7
    study="studies/figure3_sanity_initial.py",
    figure=FigureSpec(panels=("model", "dataset", "method"), series="check", x="sparsity",
                      series_labels=CHECKS, panel_labels={**METHODS, **MODELS, "cifar10": "CIFAR-10"}),
)
