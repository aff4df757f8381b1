"""Appendix ablation of the seed paper: random tickets with ascending, linearly, quadratically
(smart) and cubically decaying, and uniform keep ratios on CIFAR-10."""
from tickets.pruning.methods import RandomTickets
from tickets.study import Grid, Study

RULES = ("smart", "ascend", "linear", "cubic", "smart_uniform")  # smart_uniform: classifier 0.3, rest equal

study = Study(
    "ablation_ratios",
    Grid(datasets=("cifar10",), models=("vgg19", "resnet32"), methods=("dense",), sparsities=(0.0,),
         seeds=(0, 1, 2)),
    Grid(datasets=("cifar10",), models=("vgg19", "resnet32"),
         methods=tuple(RandomTickets(rule=rule) for rule in RULES),
         sparsities=(0.9, 0.95, 0.98), seeds=(0, 1, 2)),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "06:00:00"}},
    description="The descending order and the decay rate of the keep ratios carry random tickets.",
)
