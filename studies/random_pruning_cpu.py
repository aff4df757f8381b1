"""The Random Pruning paper's scale study, CPU-sized: Fashion-MNIST, a fully connected network swept
in width (16, 64, 256 units, 2 hidden layers) and in depth (1, 2, 4 hidden layers of 64 units), dense vs
randomly pruned at initialisation with ERK, uniform, ERK+, SNIP-ratio and GraSP-ratio layer ratios
(ER equals ERK on fully connected layers, so it is left out here), 50 % and 90 % sparsity, two seeds; every trained network
is evaluated for calibration, OoD detection (scikit-learn's digits, uniform noise) and FGSM/PGD.

    tickets study run studies/random_pruning_cpu.py --workers 2
    tickets report random_pruning_cpu            # accuracy; --eval calibration --metric ece, ...
    tickets figure random_pruning_cpu_width -o width.png

Three epochs, lr ×0.1 after the second: short, but the paper's optimiser (batch 128, wd 5e-4,
Nesterov momentum, as the released code)."""
from tickets.pruning.methods import RandomTickets
from tickets.study import Grid, Study

TRAIN = {"epochs": 3, "milestones": (2,), "batch_size": 128, "weight_decay": 5e-4, "nesterov": True}
EVALS = ("calibration", "ood:digits", "ood:noise", "fgsm", "pgd:steps=10,samples=2000")
WIDTHS = (16, 64, 256)
DEPTHS = (1, 2, 4)
# ERK and uniform; the paper's ERK+ and SNIP / GraSP ratios (issue 20). Uniform+ needs three layers
# (the 1-hidden-layer MLP has two) and ER equals ERK on fully connected layers.
RULES = tuple(RandomTickets(rule=r) for r in ("erk", "uniform", "erk_plus", "snip_ratio", "grasp_ratio"))
COMMON = dict(datasets=("fashionmnist",), models=("mlp",), seeds=(0, 1), train=TRAIN, evals=EVALS)


def grids(model_options):
    return (Grid(methods=("dense",), sparsities=(0.0,), model_options=model_options, **COMMON),
            Grid(methods=RULES, sparsities=(0.5, 0.9), model_options=model_options, **COMMON))


study = Study(
    "random_pruning_cpu",
    *[g for width in WIDTHS for g in grids({"width": width, "depth": 2})],
    *[g for depth in DEPTHS if depth != 2 for g in grids({"width": 64, "depth": depth})],
    description="Random pruning vs dense across widths and depths of an MLP on Fashion-MNIST, "
                "with calibration, OoD and adversarial evaluations.",
)
