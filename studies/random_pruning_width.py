"""The Random Pruning paper (Liu et al., ICLR 2022), CIFAR width sweep: ResNet-20 with first-stage
width 8, 16, 24 (the released code's `resnet20_width_8_16_24` script: `cifar_resnet_20_W`, stages
W-2W-4W) and, beyond it, 32, 48, 64 to follow the trend further. Random masks fixed at
initialisation with the paper's seven layer ratios (uniform, uniform+, ER, ERK, ERK+,
SNIP ratio, GraSP ratio) at sparsities 0.1..0.9 against the dense
network of the same width, CIFAR-10 and CIFAR-100; training and evaluations as
studies/random_pruning_depth.py (160 epochs, batch 128, Nesterov SGD 0.1, wd 5e-4, ×0.1 at 80/120).

    tickets study plan studies/random_pruning_width.py
    tickets report random_pruning_width; tickets figure random_pruning_width -o width.png"""
from tickets.pruning.methods import RandomTickets
from tickets.study import Grid, Study

TRAIN = {"epochs": 160, "milestones": (80, 120), "batch_size": 128, "weight_decay": 5e-4, "nesterov": True}
WIDTHS = (8, 16, 24, 32, 48, 64)
# the paper's seven layer-wise ratios (ERK+ with the released fc_density 1; SNIP/GraSP ratio: a
# SNIP/GraSP mask's per-layer counts at initialisation, positions re-drawn)
RULES = tuple(RandomTickets(rule=r) for r in ("erk", "er", "uniform", "uniform_plus", "erk_plus",
                                                "snip_ratio", "grasp_ratio"))
SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SEEDS = (0, 1, 2)
EVALS = {"cifar10": ("calibration", "ood:svhn", "ood:cifar100", "fgsm", "pgd"),
         "cifar100": ("calibration", "ood:svhn", "ood:cifar10", "fgsm", "pgd")}


def grids(dataset: str, width: int) -> tuple[Grid, Grid]:
    common = dict(datasets=(dataset,), models=("resnet20",), seeds=SEEDS, train=TRAIN,
                  model_options={"width": width}, evals=EVALS[dataset])
    return (Grid(methods=("dense",), sparsities=(0.0,), **common),
            Grid(methods=RULES, sparsities=SPARSITIES, **common))


study = Study(
    "random_pruning_width",
    *[g for dataset in EVALS for width in WIDTHS for g in grids(dataset, width)],
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Random pruning at initialisation vs dense across ResNet-20 widths on CIFAR-10/100.",
)
