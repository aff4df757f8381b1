"""Table 1: pruned VGG19 and ResNet32 on CIFAR-10 and CIFAR-100 (initial tickets vs random tickets)."""
from registry.report import Group, Report

from ._common import CHANCE, MODELS, dataset_axis, full_network, method, sparsity_axis

REPORT = Report(
    name="table1",
    title="Test accuracy of pruned VGG19 and ResNet32 on CIFAR-10 and CIFAR-100",
    # the paper's caption, less its bold sentence: the notes under the table state the rule exactly, once
    caption="Test accuracy of pruned VGG19 and ResNet32 on CIFAR-10 and CIFAR-100 datasets.",
    filters={"dataset": ["cifar10", "cifar100"], "model": ["vgg19", "resnet32"], "variant": ""},  # the paper's settings
    columns=(dataset_axis(["cifar10", "cifar100"]), sparsity_axis()),
    groups=tuple(Group(MODELS[m], {"model": m}) for m in ("vgg19", "resnet32")),
    rows=(
        full_network(),
        method("lt", "LT [9]"),
        method("snip", "SNIP [23]"),
        method("grasp", "GraSP [41]"),
        method("random_tickets", "Random Tickets (Ours)"),
    ),
    seeds=3,
    chance=CHANCE,
    study="studies/table1_cifar.py",
    paper="paper/table1.csv",
    # the seed code prints "Best acc" (best test accuracy over epochs); see docs/FIDELITY.md item 7
    metric="best_test_acc",
    paper_metric="best_test_acc",
)
