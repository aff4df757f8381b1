""""Rethinking the Value of Network Pruning", Table 1: L1-norm filter pruning (Li et al., 2017) on
CIFAR-10 (and CIFAR-100, same presets, no published numbers), predefined architectures VGG-16-A,
ResNet-56-A/B, ResNet-110-A/B. `--metric
flops_reduction` or `params_reduction` shows the same layout as "FLOPs ↓" / "Params ↓"."""
from registry.report import Axis, Group, Report

from ._rethinking import DATASETS, MODELS, rows

REPORT = Report(
    name="rethinking_l1",
    title="L1-norm filter pruning: fine-tuned vs trained from scratch (CIFAR-10/100)",
    caption="Test accuracy (%) of L1-norm based filter pruning on CIFAR-10 (Liu et al., 2019, Table 1): "
            "the pruned architectures fine-tuned from the trained large model (40 epochs, lr 0.001), "
            "trained from scratch for the same epochs (Scratch-E) and for the same FLOPs (Scratch-B).",
    filters={"dataset": ["cifar10", "cifar100"], "model": ["vgg16_l1", "resnet56_l1", "resnet110_l1"]},
    columns=(Axis("spec.method.variant", ("A", "B"), labels={"A": "pruned -A", "B": "pruned -B"},
                  title="Pruned model"),),
    groups=tuple(Group(f"{MODELS[m]} ({DATASETS[d]})", {"dataset": d, "model": m})
                 for d in ("cifar10", "cifar100") for m in ("vgg16_l1", "resnet56_l1", "resnet110_l1")),
    rows=rows("l1_filter"),
    reference_axis="spec.method.variant",
    row_title="Pipeline",
    seeds=5,
    chance={"cifar10": 10.0, "cifar100": 1.0},
    study="studies/rethinking_l1_cifar.py",
    paper="paper/rethinking_l1.csv",
)
