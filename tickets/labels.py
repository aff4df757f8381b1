"""Printed names for the domain's methods and checks, used by figure legends.

Legends show "SNIP (corrupted data)", not `snip/corrupt` or a run key; a name without a label here
(a researcher's own method) is printed as registered. The order of `METHODS` fixes each method's
figure style, so a method looks the same in every figure of every study."""
from __future__ import annotations

from typing import Any, Mapping

METHOD_LABELS = {
    "dense": "Full network", "random": "Random", "random_tickets": "Random Tickets", "snip": "SNIP",
    "grasp": "GraSP", "synflow": "SynFlow", "lt": "LT", "imp": "IMP", "wr": "Weight rewinding",
    "lrr": "LR rewinding", "hybrid": "Hybrid tickets", "obd": "OBD", "scratch_e": "Scratch-E",
    "scratch_b": "Scratch-B", "l1_filter": "L1-norm", "slimming": "Network slimming",
    "channel_scale": "Uniform scaling",
}
CHECK_LABELS = {
    "random_labels": "random labels", "random_pixels": "random pixels", "corrupt": "corrupted data",
    "half_data": "half data", "rearrange": "layerwise rearrange", "shuffle_weights": "shuffled weights",
    "reinit": "reinitialised", "half_data_seed": "seed code's half data",
}
# option settings a variant string carries that have a printed name (the reports' row labels)
VARIANT_LABELS = {"retrain=finetune": "Fine-tuned", "retrain=scratch_e": "Scratch-E",
                  "retrain=scratch_b": "Scratch-B"}
DATASET_LABELS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "tinyimagenet": "Tiny-ImageNet",
                  "fashionmnist": "Fashion-MNIST", "mnist": "MNIST", "svhn": "SVHN"}
MODEL_LABELS = {"vgg11": "VGG11", "vgg13": "VGG13", "vgg16": "VGG16", "vgg19": "VGG19", "resnet20": "ResNet20",
                "resnet32": "ResNet32", "resnet56": "ResNet56", "resnet110": "ResNet110",
                "lenet300": "LeNet-300-100", "lenet5": "LeNet5",
                # the structured-pruning codes' networks, as the Rethinking reports name them
                "vgg16_l1": "VGG-16", "resnet56_l1": "ResNet-56", "resnet110_l1": "ResNet-110",
                "vgg19_slim": "VGG-19", "preresnet164": "PreResNet-164", "mlp_bn": "MLP-300-100 (BN)"}


def series_label(fields: Mapping[str, Any]) -> str:
    """"SNIP (corrupted data) [epochs=3]" from a run's method, check and variant; option settings
    with a printed name read as it ("L1-norm, Scratch-B", not "l1_filter [retrain=scratch_b]")."""
    method = str(fields.get("method"))
    text = METHOD_LABELS.get(method, method)
    check = fields.get("check")
    if check not in (None, "", "none"):
        text += f" ({CHECK_LABELS.get(str(check), str(check))})"
    if fields.get("variant"):
        tokens = str(fields["variant"]).split()
        named = [VARIANT_LABELS[t] for t in tokens if t in VARIANT_LABELS]
        rest = [t for t in tokens if t not in VARIANT_LABELS]
        if named:
            text += ", " + ", ".join(named)
        if rest:
            text += f" [{' '.join(rest)}]"
    return text


def panel_label(dataset: str, model: str) -> str:
    return f"{MODEL_LABELS.get(model, model)} on {DATASET_LABELS.get(dataset, dataset)}"


def method_order() -> list[str]:
    """Every registered method, in registration order (fixes figure styles)."""
    from tickets.pruning.methods import METHODS

    return list(METHODS.names())
