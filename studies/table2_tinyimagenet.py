"""Table 2 of the seed paper: Tiny-ImageNet, VGG19 and ResNet32 (300 epochs, lr x0.1 at 150/225:
the dataset's training defaults)."""
from tickets.study import Grid, Study

MODELS = ("vgg19", "resnet32")
SEEDS = (0, 1, 2)

study = Study(
    "table2_tinyimagenet",
    Grid(datasets=("tinyimagenet",), models=MODELS, methods=("dense",), sparsities=(0.0,), seeds=SEEDS),
    Grid(datasets=("tinyimagenet",), models=MODELS, methods=("snip", "grasp", "random_tickets"),
         sparsities=(0.9, 0.95, 0.98), seeds=SEEDS),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="SNIP and GraSP against random tickets on Tiny-ImageNet.",
)
