"""Table 4: partially-trained tickets and hybrid tickets of VGG19 and ResNet32 on CIFAR-10/100."""
from registry.report import Group, Report

from ._common import CHANCE, MODELS, dataset_axis, full_network, method, sparsity_axis

REPORT = Report(
    name="table4",
    title="Partially-trained tickets and hybrid tickets on CIFAR-10 and CIFAR-100",
    caption="Test accuracy of partially-trained tickets and our hybrid tickets of VGG19 and ResNet32 "
            "on CIFAR-10 and CIFAR-100 datasets.",
    filters={"dataset": ["cifar10", "cifar100"], "model": ["vgg19", "resnet32"], "variant": ""},  # the paper's settings
    columns=(dataset_axis(["cifar10", "cifar100"]), sparsity_axis()),
    groups=tuple(Group(MODELS[m], {"model": m}) for m in ("vgg19", "resnet32")),
    rows=(
        full_network(),
        method("obd", "OBD [22]", seeds=1),  # the paper cites single numbers
        method("lrr", "Learning Rate Rewinding [37]"),
        method("hybrid", "Hybrid Tickets (Ours)"),
    ),
    seeds=3,
    chance=CHANCE,
    study="studies/table4_hybrid.py",
    paper="paper/table4.csv",
    # the seed code prints "Best acc" (best test accuracy over epochs); see docs/FIDELITY.md item 7
    metric="best_test_acc",
    paper_metric="best_test_acc",
)
