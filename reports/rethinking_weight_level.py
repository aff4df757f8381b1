""""Rethinking the Value of Network Pruning", non-structured pruning (Han et al., 2015): conv weights
below one global magnitude threshold removed from the trained network; the sparse network
fine-tuned, or trained from scratch under the same mask (Scratch-E, Scratch-B). `--metric
flops_reduction` / `params_reduction` show the sizes (this project's FLOPs convention: conv and
linear multiply-accumulates; Scratch-B's epochs use the released count_flops.py's, see
tickets/pruning/weight_level.py)."""
from registry.report import Axis, Group, Report

from ._rethinking import DATASETS, MODELS, rows

NETS = ("vgg19", "preresnet110", "densenet_bc100")

REPORT = Report(
    name="rethinking_weight_level",
    title="Weight-level pruning: fine-tuned vs trained from scratch (CIFAR-10/100)",
    caption="Test accuracy (%) of non-structured weight pruning on CIFAR (Liu et al., 2019): the "
            "prune ratio of all conv weights removed by magnitude, fine-tuned 40 epochs at lr 0.001, "
            "or trained from scratch for the same epochs (Scratch-E) or the same FLOPs (Scratch-B).",
    filters={"dataset": ["cifar10", "cifar100"], "model": list(NETS)},
    columns=(Axis("sparsity", (0.3, 0.8), fmt="{:.0%}", title="Prune ratio"),),
    groups=tuple(Group(f"{MODELS[m]} ({DATASETS[d]})", {"dataset": d, "model": m})
                 for d in ("cifar10", "cifar100") for m in NETS),
    rows=rows("weight_level"),
    row_title="Pipeline",
    seeds=5,
    chance={"cifar10": 10.0, "cifar100": 1.0},
    study="studies/rethinking_weight_level_cifar.py",
    paper="paper/rethinking_weight_level.csv",
)
