"""Table 4 of the seed paper: OBD, learning-rate rewinding and hybrid tickets on CIFAR-10/100.
All three share one dense pretraining per (dataset, network, seed)."""
from tickets.study import Grid, Study

DATASETS = ("cifar10", "cifar100")
MODELS = ("vgg19", "resnet32")
SEEDS = (0, 1, 2)

study = Study(
    "table4_hybrid",
    Grid(datasets=DATASETS, models=MODELS, methods=("dense",), sparsities=(0.0,), seeds=SEEDS),
    Grid(datasets=DATASETS, models=MODELS, methods=("obd", "lrr", "hybrid"),
         sparsities=(0.9, 0.95, 0.98), seeds=SEEDS),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "06:00:00"}},
    description="Hybrid tickets: LRR pretraining, layer-wise magnitude pruning with smart ratios.",
)
