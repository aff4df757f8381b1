""""Rethinking the Value of Network Pruning", Table 4 (CIFAR): network slimming on VGG-19 (70 % of
channels on CIFAR-10, 50 % on CIFAR-100), PreResNet-164 and DenseNet-40 (40 % and 60 %). The
sparsity-regularised training (bn_l1 1e-4 for VGG, 1e-5 for ResNet and DenseNet, as the released
code) is one shared stage per network and seed, used by every ratio and pipeline; the unpruned row
is the ordinary training. 5 seeds as the paper."""
from tickets.pruning.structured.methods import NetworkSlimming
from tickets.study import Grid, Study

SEEDS = range(5)
PIPELINES = ("finetune", "scratch_e", "scratch_b")


def _grids(dataset, vgg_ratio):
    return (
        Grid(datasets=(dataset,), models=("vgg19_slim", "preresnet164", "densenet40_slim"), methods=("dense",),
             sparsities=(0.0,), seeds=SEEDS),
        Grid(datasets=(dataset,), models=("vgg19_slim",), sparsities=(vgg_ratio,), seeds=SEEDS,
             methods=[NetworkSlimming(bn_l1=1e-4, retrain=r) for r in PIPELINES]),
        Grid(datasets=(dataset,), models=("preresnet164", "densenet40_slim"), sparsities=(0.4, 0.6), seeds=SEEDS,
             methods=[NetworkSlimming(bn_l1=1e-5, retrain=r) for r in PIPELINES]),
    )


study = Study(
    "rethinking_slimming_cifar",
    *_grids("cifar10", 0.7),
    *_grids("cifar100", 0.5),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Network slimming on CIFAR-10/100: fine-tuned vs Scratch-E vs Scratch-B.",
)
