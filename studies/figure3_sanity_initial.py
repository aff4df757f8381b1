"""Figure 3 of the seed paper: initial tickets under the sanity checks, accuracy vs sparsity.
Original data vs corrupted data (random labels + random pixels) vs layerwise rearrange."""
from tickets.study import Grid, Study

study = Study(
    "figure3_sanity_initial",
    Grid(datasets=("cifar10",), models=("vgg19", "resnet32"), methods=("dense",), sparsities=(0.0,),
         seeds=(0, 1, 2)),
    Grid(datasets=("cifar10",), models=("vgg19", "resnet32"), methods=("lt", "snip", "grasp"),
         checks=("none", "corrupt", "rearrange"), sparsities=(0.6, 0.8, 0.9, 0.95, 0.98),
         seeds=(0, 1, 2)),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "06:00:00"}},
    description="Initial tickets barely use the data or the per-layer structure of their masks.",
)
