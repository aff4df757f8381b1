"""The Random Pruning paper (Liu et al., ICLR 2022), CIFAR depth sweep: CIFAR ResNets of depth
20, 32, 44, 56, 110 at the standard width (16-32-64; the released code's `cifar_resnet_N`), trained
sparse from a random mask fixed at initialisation with the paper's seven layer
ratios (uniform, uniform+, ER, ERK, ERK+, SNIP ratio, GraSP ratio) at sparsities 0.1..0.9, against the dense network of the same depth; CIFAR-10 and CIFAR-100.

Training as the paper's Table 1 and the released CIFAR/main.py: 160 epochs, batch 128, SGD lr 0.1
with Nesterov momentum 0.9, weight decay 5e-4, lr ×0.1 at epochs 80 and 120. Three seeds (the
paper's figures show mean and spread). Every trained network is also evaluated: calibration (ECE,
NLL, Brier), OoD detection against SVHN and the other CIFAR, FGSM and PGD (L∞, ε 8/255).

    tickets study plan studies/random_pruning_depth.py
    tickets report random_pruning_depth --compare paper
    tickets figure random_pruning_depth -o depth.png"""
from tickets.pruning.methods import RandomTickets
from tickets.study import Grid, Study

TRAIN = {"epochs": 160, "milestones": (80, 120), "batch_size": 128, "weight_decay": 5e-4, "nesterov": True}
MODELS = ("resnet20", "resnet32", "resnet44", "resnet56", "resnet110")
# the paper's seven layer-wise ratios (ERK+ with the released fc_density 1; SNIP/GraSP ratio: a
# SNIP/GraSP mask's per-layer counts at initialisation, positions re-drawn)
RULES = tuple(RandomTickets(rule=r) for r in ("erk", "er", "uniform", "uniform_plus", "erk_plus",
                                                "snip_ratio", "grasp_ratio"))
SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SEEDS = (0, 1, 2)
EVALS = {"cifar10": ("calibration", "ood:svhn", "ood:cifar100", "fgsm", "pgd"),
         "cifar100": ("calibration", "ood:svhn", "ood:cifar10", "fgsm", "pgd")}


def grids(dataset: str, models, model_options) -> tuple[Grid, Grid]:
    common = dict(datasets=(dataset,), models=models, seeds=SEEDS, train=TRAIN, model_options=model_options,
                  evals=EVALS[dataset])
    return (Grid(methods=("dense",), sparsities=(0.0,), **common),
            Grid(methods=RULES, sparsities=SPARSITIES, **common))


study = Study(
    "random_pruning_depth",
    *[g for dataset in EVALS for g in grids(dataset, MODELS, {"width": 16})],
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Random pruning at initialisation vs dense across ResNet depths on CIFAR-10/100.",
)
