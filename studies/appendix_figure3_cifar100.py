"""Appendix of the seed paper: Figure 3 on CIFAR-100 ("We also conduct experiments on the CIFAR-100
dataset. The results are deferred to Appendix"): initial tickets (LT, SNIP, GraSP) pruned with the
original data, with corrupted data (random labels + random pixels), and after a layerwise
rearrange, on VGG19 and ResNet32, at Figure 3's sparsities."""
from tickets.study import Grid, Study

study = Study(
    "appendix_figure3_cifar100",
    Grid(datasets=("cifar100",), models=("vgg19", "resnet32"), methods=("dense",), sparsities=(0.0,),
         seeds=(0, 1, 2)),
    Grid(datasets=("cifar100",), models=("vgg19", "resnet32"), methods=("lt", "snip", "grasp"),
         checks=("none", "corrupt", "rearrange"), sparsities=(0.6, 0.8, 0.9, 0.95, 0.98),
         seeds=(0, 1, 2)),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "06:00:00"}},
    description="Initial tickets on CIFAR-100 under the same sanity checks as Figure 3.",
)
