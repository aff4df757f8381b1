"""Rows shared by the "Rethinking the Value of Network Pruning" reports: the unpruned network, then
the three pipelines of one structured method (rows select on the method's `retrain` option)."""
from __future__ import annotations

from registry.report import Row

PIPELINES = (("finetune", "Fine-tuned"), ("scratch_e", "Scratch-E"), ("scratch_b", "Scratch-B"))
MODELS = {"vgg16_l1": "VGG-16", "resnet56_l1": "ResNet-56", "resnet110_l1": "ResNet-110",
          "vgg19_slim": "VGG-19", "preresnet164": "PreResNet-164", "mlp_bn": "MLP-300-100 (BN)"}
METHODS = {"l1_filter": "L1-norm", "slimming": "Network slimming", "channel_scale": "Uniform scaling"}


def rows(method: str | None = None) -> tuple[Row, ...]:
    """Unpruned (the plain large-model training, never bold) + Fine-tuned / Scratch-E / Scratch-B."""
    only = {"method": method} if method else {}
    # the large model's ordinary training: not network slimming's penalised one (spec.bn_l1 set)
    return (Row("full", "Unpruned", {"method": "dense", "spec.bn_l1": None}, reference=True),
            *(Row(key, label, {**only, "spec.method.retrain": key}) for key, label in PIPELINES))
