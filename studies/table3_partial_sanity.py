"""Table 3 of the seed paper: sanity checks on partially-trained tickets (learning-rate rewinding)
on CIFAR-10. Shuffle Weights and Half Dataset are LRR under the weaker attacks; LT for reference."""
from tickets.study import Grid, Study

MODELS = ("vgg19", "resnet32")
SPARSITIES = (0.9, 0.95, 0.98)
SEEDS = (0, 1, 2)

study = Study(
    "table3_partial_sanity",
    Grid(datasets=("cifar10",), models=MODELS, methods=("dense",), sparsities=(0.0,), seeds=SEEDS),
    Grid(datasets=("cifar10",), models=MODELS, methods=("lt", "lrr"), sparsities=SPARSITIES, seeds=SEEDS),
    Grid(datasets=("cifar10",), models=MODELS, methods=("lrr",), checks=("shuffle_weights", "half_data_seed"),
         sparsities=SPARSITIES, seeds=SEEDS),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "06:00:00"}},
    description="LRR passes the sanity checks: weight shuffling and half the data both hurt it.",
)
