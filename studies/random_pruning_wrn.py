"""Beyond the Random Pruning paper's CIFAR experiments (which sweep CIFAR ResNets; its Wide ResNet is
the ImageNet WRN-50-2): Wide ResNets WRN-28-k (k = 2, 4, 10) on CIFAR-10/100, dense vs random
masks fixed at initialisation (ERK, uniform) at 50/80/90/95 % sparsity, one seed, with the same
training and evaluations as studies/random_pruning_depth.py. The natural next point of the width
sweep: does the gap to dense close further at WRN-28-10's 36.5 M parameters?"""
from tickets.pruning.methods import RandomTickets
from tickets.study import Grid, Study

TRAIN = {"epochs": 160, "milestones": (80, 120), "batch_size": 128, "weight_decay": 5e-4, "nesterov": True}
EVALS = {"cifar10": ("calibration", "ood:svhn", "ood:cifar100", "fgsm", "pgd"),
         "cifar100": ("calibration", "ood:svhn", "ood:cifar10", "fgsm", "pgd")}


def grids(dataset: str, widen: int):
    common = dict(datasets=(dataset,), models=("wrn",), seeds=(0,), train=TRAIN,
                  model_options={"depth": 28, "widen": widen}, evals=EVALS[dataset])
    return (Grid(methods=("dense",), sparsities=(0.0,), **common),
            Grid(methods=(RandomTickets(rule="erk"), RandomTickets(rule="uniform")),
                 sparsities=(0.5, 0.8, 0.9, 0.95), **common))


study = Study(
    "random_pruning_wrn",
    *[g for dataset in EVALS for widen in (2, 4, 10) for g in grids(dataset, widen)],
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 8, "mem": "32G", "time": "24:00:00"}},
    description="Dense vs randomly pruned WRN-28-k on CIFAR-10/100 (beyond the paper).",
)
