"""Names shared by the paper's report declarations: printed labels, chance levels, the sparsity axis."""
from __future__ import annotations

from registry.report import Axis, Row

DATASETS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "tinyimagenet": "Tiny-ImageNet",
            "fashionmnist": "Fashion-MNIST", "mnist": "MNIST", "synthetic": "Synthetic"}
MODELS = {"vgg19": "VGG19", "resnet32": "ResNet32", "lenet5": "LeNet5", "lenet300": "LeNet-300-100"}
# Chance accuracy in percent (100 / classes): a cell sitting there with no spread has collapsed.
CHANCE = {"cifar10": 10.0, "cifar100": 1.0, "tinyimagenet": 0.5, "fashionmnist": 10.0, "mnist": 10.0}
PAPER_SPARSITIES = (0.9, 0.95, 0.98)


def sparsity_axis(values=PAPER_SPARSITIES) -> Axis:
    return Axis("sparsity", values, fmt="{:.0%}")


def dataset_axis(values) -> Axis:
    return Axis("dataset", tuple(values), labels=DATASETS, title="Dataset")


def model_axis(values) -> Axis:
    return Axis("model", tuple(values), labels=MODELS, title="Network")


def full_network(label: str = "{group} (Full Network)") -> Row:
    """The dense network trained on the original data (pretraining on corrupted or half data is a
    stage of its own with that check): one value per column group, never bold; the paper prints one run."""
    return Row("full", label, {"method": "dense", "check": "none"}, reference=True, seeds=1)


def method(key: str, label: str, method_name: str | None = None, check: str = "none", **kw) -> Row:
    return Row(key, label, {"method": method_name or key, "check": check}, **kw)
