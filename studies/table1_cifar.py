"""Table 1 of the seed paper: initial tickets vs random tickets on CIFAR-10/100, VGG19 and ResNet32.

Full network once per (dataset, network, seed); LT shares that dense pretraining."""
from tickets.study import Grid, Study

DATASETS = ("cifar10", "cifar100")
MODELS = ("vgg19", "resnet32")
SEEDS = (0, 1, 2)

study = Study(
    "table1_cifar",
    Grid(datasets=DATASETS, models=MODELS, methods=("dense",), sparsities=(0.0,), seeds=SEEDS),
    Grid(datasets=DATASETS, models=MODELS, methods=("lt", "snip", "grasp", "random_tickets"),
         sparsities=(0.9, 0.95, 0.98), seeds=SEEDS),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "06:00:00"}},
    description="Initial tickets (LT, SNIP, GraSP) against random tickets with smart ratios; 160 epochs.",
)
