""""Rethinking the Value of Network Pruning", Table 4 (CIFAR): network slimming (Liu et al., 2017) on
VGG-19, PreResNet-164 and DenseNet-40 at the paper's channel ratios, CIFAR-10 and CIFAR-100."""
from registry.report import Axis, Group, Report

from ._rethinking import DATASETS, MODELS, rows

NETS = ("vgg19_slim", "preresnet164", "densenet40_slim")

REPORT = Report(
    name="rethinking_slimming",
    title="Network slimming: fine-tuned vs trained from scratch (CIFAR-10/100)",
    caption="Test accuracy (%) of network slimming on CIFAR (Liu et al., 2019, Table 4): channels "
            "with the globally smallest BN scales removed after sparsity-regularised training; the "
            "pruned network fine-tuned, or trained from scratch (Scratch-E, Scratch-B).",
    filters={"dataset": ["cifar10", "cifar100"], "model": list(NETS)},
    columns=(Axis("sparsity", (0.4, 0.5, 0.6, 0.7), fmt="{:.0%}", title="Prune ratio"),),
    groups=tuple(Group(f"{MODELS[m]} ({DATASETS[d]})", {"dataset": d, "model": m})
                 for d in ("cifar10", "cifar100") for m in NETS),
    rows=rows("slimming"),
    row_title="Pipeline",
    seeds=5,
    chance={"cifar10": 10.0, "cifar100": 1.0},
    study="studies/rethinking_slimming_cifar.py",
    paper="paper/rethinking_slimming.csv",
)
