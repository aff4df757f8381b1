"""Table 2: pruned VGG19 and ResNet32 on Tiny-ImageNet."""
from registry.report import Report

from ._common import CHANCE, full_network, method, model_axis, sparsity_axis

REPORT = Report(
    name="table2",
    title="Test accuracy of pruned VGG19 and ResNet32 on Tiny-ImageNet",
    caption="Test accuracy of pruned VGG19 and ResNet32 on Tiny-Imagenet dataset.",
    filters={"dataset": "tinyimagenet", "model": ["vgg19", "resnet32"], "variant": ""},  # the paper's settings
    columns=(model_axis(["vgg19", "resnet32"]), sparsity_axis()),
    rows=(
        full_network("VGG19/ResNet32 (Full Network)"),
        method("snip", "SNIP [23]"),
        method("grasp", "GraSP [41]"),
        method("random_tickets", "Random Tickets (Ours)"),
    ),
    seeds=3,
    chance=CHANCE,
    study="studies/table2_tinyimagenet.py",
    paper="paper/table2.csv",
    # the seed code prints "Best acc" (best test accuracy over epochs); see docs/FIDELITY.md item 7
    metric="best_test_acc",
    paper_metric="best_test_acc",
)
