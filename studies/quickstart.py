"""The quick start: a real, small study on Fashion-MNIST (the Debian package's files) that finishes
in about two minutes on a 2-core CPU.

LeNet-300-100 at 90/95/98 % sparsity, two seeds: the full network, random tickets with smart
ratios, SNIP, GraSP and one-shot lottery tickets (sharing the full network's training), plus the
paper's data sanity check on SNIP (random labels + random pixels in the pruning step).
Three epochs with the lr dropped ×0.1 after the second: short, but the paper's optimiser."""
from tickets.study import Grid, Study

COMMON = dict(datasets=("fashionmnist",), models=("lenet300",), seeds=(0, 1),
              train={"epochs": 3, "milestones": (2,)})
SPARSITIES = (0.9, 0.95, 0.98)

study = Study(
    "quickstart",
    Grid(methods=("dense",), sparsities=(0.0,), **COMMON),
    Grid(methods=("random_tickets", "snip", "grasp", "lt"), sparsities=SPARSITIES, **COMMON),
    Grid(methods=("snip",), checks=("corrupt",), sparsities=SPARSITIES, **COMMON),
    description="Random tickets vs initial tickets on Fashion-MNIST, with SNIP's data sanity check.",
)
