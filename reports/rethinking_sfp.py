""""Rethinking the Value of Network Pruning", soft filter pruning (He et al., 2018) on CIFAR-10:
the soft-pruned network (its L2-norm smallest filters zeroed after every epoch) against its
architecture trained from scratch (Scratch-E, Scratch-B)."""
from registry.report import Axis, Group, Report

from ._rethinking import MODELS, SOFT, rows

NETS = ("resnet20_l1", "resnet32_l1", "resnet56_l1", "resnet110_l1")

REPORT = Report(
    name="rethinking_sfp",
    title="Soft filter pruning: soft-pruned vs trained from scratch (CIFAR-10)",
    caption="Test accuracy (%) of soft filter pruning on CIFAR-10 (Liu et al., 2019): every conv "
            "loses the prune ratio of its filters, zeroed (softly) after every epoch of training; "
            "the resulting architecture trained from scratch for the same epochs (Scratch-E) or the "
            "same FLOPs (Scratch-B).",
    filters={"dataset": "cifar10", "model": list(NETS)},
    columns=(Axis("sparsity", (0.1, 0.2, 0.3, 0.4), fmt="{:.0%}", title="Prune ratio"),),
    groups=tuple(Group(MODELS[m], {"model": m}) for m in NETS),
    rows=rows("sfp", (SOFT, ("scratch_e", "Scratch-E"), ("scratch_b", "Scratch-B"))),
    row_title="Pipeline",
    seeds=5,
    chance={"cifar10": 10.0},
    study="studies/rethinking_sfp_cifar.py",
)
