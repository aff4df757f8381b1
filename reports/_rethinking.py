"""Rows shared by the "Rethinking the Value of Network Pruning" reports: the unpruned network, then
the pipelines of one method (rows select on the method's `retrain` option)."""
from __future__ import annotations

from registry.report import Row

PIPELINES = (("finetune", "Fine-tuned"), ("scratch_e", "Scratch-E"), ("scratch_b", "Scratch-B"))
SOFT = ("soft", "Soft filter pruned")  # soft filter pruning's own result
LOTTERY = ("lottery", "Lottery ticket (initial weights)")
MODELS = {"vgg16_l1": "VGG-16", "resnet56_l1": "ResNet-56", "resnet110_l1": "ResNet-110",
          "vgg19_slim": "VGG-19", "preresnet164": "PreResNet-164", "mlp_bn": "MLP-300-100 (BN)",
          "vgg19": "VGG-19", "vgg16": "VGG-16", "preresnet110": "PreResNet-110", "densenet40_slim": "DenseNet-40",
          "densenet40": "DenseNet-40", "densenet_bc100": "DenseNet-BC-100", "resnet20_l1": "ResNet-20",
          "resnet32_l1": "ResNet-32", "cnn_small": "CNN 16-32 (BN)"}
METHODS = {"l1_filter": "L1-norm", "slimming": "Network slimming", "channel_scale": "Uniform scaling",
           "weight_level": "Weight-level", "sfp": "Soft filter pruning"}
DATASETS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}


def rows(method: str | None = None, pipelines=PIPELINES) -> tuple[Row, ...]:
    """Unpruned (the plain large-model training, never bold) + one row per pipeline."""
    only = {"method": method} if method else {}
    # the large model's ordinary training: not network slimming's penalised one (spec.bn_l1 set),
    # nor soft filter pruning's soft-pruned one (spec.soft_filter set)
    return (Row("full", "Unpruned", {"method": "dense", "spec.bn_l1": None, "spec.soft_filter": None},
                reference=True),
            *(Row(key, label, {**only, "spec.method.retrain": key}) for key, label in pipelines))


def imagenet_report(name: str, title: str, caption: str, models: dict[str, str], column, method: str):
    """A Rethinking ImageNet table: one column per value of `column` (an Axis: the pruned architecture,
    variant or ratio; the unpruned row sits under its first value), one block per large network
    (`models`: name -> printed label), `method`'s pipelines as rows; study and paper file are named
    after the report."""
    from registry.report import Group, Report

    return Report(
        name=name, title=title, caption=caption,
        filters={"dataset": "imagenet", "model": list(models)},
        columns=(column,),
        groups=tuple(Group(label, {"model": m}) for m, label in models.items()),
        rows=rows(method),
        reference_axis=column.field,
        row_title="Pipeline",
        seeds=1,
        chance={"imagenet": 0.1},
        study=f"studies/{name}.py",
        paper=f"paper/{name}.csv",
    )


def predefined_imagenet(name: str, title: str, caption: str, models: dict[str, str], archs: dict[str, str]):
    """Rethinking's predefined ImageNet architectures (ThiNet, regression, SSS): one column per pruned
    architecture (`archs`: name -> printed label)."""
    from registry.report import Axis

    return imagenet_report(name, title, caption, models,
                           Axis("spec.method.arch", tuple(archs), labels=dict(archs), title="Pruned model"),
                           "predefined")
