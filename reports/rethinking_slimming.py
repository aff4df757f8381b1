""""Rethinking the Value of Network Pruning", Table 4 (CIFAR-10 part): network slimming (Liu et al.,
2017) on VGG-19 and PreResNet-164 at the paper's channel ratios."""
from registry.report import Axis, Group, Report

from ._rethinking import MODELS, rows

REPORT = Report(
    name="rethinking_slimming",
    title="Network slimming: fine-tuned vs trained from scratch (CIFAR-10)",
    caption="Test accuracy (%) of network slimming on CIFAR-10 (Liu et al., 2019, Table 4): channels "
            "with the globally smallest BN scales removed after sparsity-regularised training; the "
            "pruned network fine-tuned, or trained from scratch (Scratch-E, Scratch-B).",
    filters={"dataset": "cifar10", "model": ["vgg19_slim", "preresnet164"]},
    columns=(Axis("sparsity", (0.4, 0.6, 0.7), fmt="{:.0%}", title="Prune ratio"),),
    groups=tuple(Group(MODELS[m], {"model": m}) for m in ("vgg19_slim", "preresnet164")),
    rows=rows("slimming"),
    row_title="Pipeline",
    seeds=5,
    chance={"cifar10": 10.0},
    study="studies/rethinking_slimming_cifar.py",
    paper="paper/rethinking_slimming.csv",
)
