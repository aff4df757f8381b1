"""The Random Pruning paper (Liu et al., ICLR 2022), VGG depth sweep: VGG-11/13/16/19 (BN, four
max-pools, one linear classifier; the released CIFAR/models/vgg.py configurations) trained sparse
from a random mask fixed at initialisation with the paper's seven layer ratios (uniform, uniform+,
ER, ERK, ERK+, SNIP ratio, GraSP ratio) at sparsities 0.1..0.9, against the dense network of the
same depth; CIFAR-10 and CIFAR-100. Training, seeds and evaluations as the ResNet depth study
(studies/random_pruning_depth.py): 160 epochs, batch 128, Nesterov SGD lr 0.1, wd 5e-4, ×0.1 at
80 and 120; calibration, OoD (SVHN, the other CIFAR), FGSM and PGD.

Our VGGs' convolutions carry a bias (the seed paper's network); the released Random_Pruning VGG's
do not. Its uniform+ names the ResNet's `conv`/`fc` layers, ours the first and last prunable layer.

    tickets study plan studies/random_pruning_vgg_depth.py
    tickets report random_pruning_vgg_depth; tickets figure random_pruning_vgg_depth -o vgg.png"""
from tickets.pruning.methods import RandomTickets
from tickets.study import Grid, Study

TRAIN = {"epochs": 160, "milestones": (80, 120), "batch_size": 128, "weight_decay": 5e-4, "nesterov": True}
MODELS = ("vgg11", "vgg13", "vgg16", "vgg19")
RULES = tuple(RandomTickets(rule=r) for r in ("erk", "er", "uniform", "uniform_plus", "erk_plus",
                                                "snip_ratio", "grasp_ratio"))
SPARSITIES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
SEEDS = (0, 1, 2)
EVALS = {"cifar10": ("calibration", "ood:svhn", "ood:cifar100", "fgsm", "pgd"),
         "cifar100": ("calibration", "ood:svhn", "ood:cifar10", "fgsm", "pgd")}


def grids(dataset: str) -> tuple[Grid, Grid]:
    common = dict(datasets=(dataset,), models=MODELS, seeds=SEEDS, train=TRAIN, evals=EVALS[dataset])
    return (Grid(methods=("dense",), sparsities=(0.0,), **common),
            Grid(methods=RULES, sparsities=SPARSITIES, **common))


study = Study(
    "random_pruning_vgg_depth",
    *[g for dataset in EVALS for g in grids(dataset)],
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Random pruning at initialisation vs dense across VGG depths on CIFAR-10/100.",
)
