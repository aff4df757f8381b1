"""Table 3: sanity checks on partially-trained tickets (learning-rate rewinding) on CIFAR-10."""
from registry.report import Report

from ._common import CHANCE, full_network, method, model_axis, sparsity_axis

REPORT = Report(
    name="table3",
    title="Sanity-check on partially-trained tickets on CIFAR-10",
    caption="Sanity-check on partially-trained tickets on CIFAR-10 dataset.",
    filters={"dataset": "cifar10", "model": ["vgg19", "resnet32"], "variant": ""},  # the paper's settings
    columns=(model_axis(["vgg19", "resnet32"]), sparsity_axis()),
    rows=(
        full_network("VGG19/ResNet32 (Full Network)"),
        method("lt", "LT [9]"),
        method("shuffle_weights", "Shuffle Weights", "lrr", check="shuffle_weights"),
        # the paper's row came from the seed code's fixed half (docs/FIDELITY.md item 6)
        method("half_data", "Half Dataset", "lrr", check="half_data_seed"),
        method("lrr", "Learning Rate Rewinding [37]"),
    ),
    seeds=3,
    chance=CHANCE,
    study="studies/table3_partial_sanity.py",
    paper="paper/table3.csv",
    # the seed code prints "Best acc" (best test accuracy over epochs); see docs/FIDELITY.md item 7
    metric="best_test_acc",
    paper_metric="best_test_acc",
)
