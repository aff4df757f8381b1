""""Rethinking the Value of Network Pruning", Table 4 (CIFAR-10): network slimming on VGG-19 (70 %
of channels) and PreResNet-164 (40 % and 60 %). The sparsity-regularised training (bn_l1 1e-4 for
VGG, 1e-5 for ResNet, as the released code) is one shared stage per network and seed, used by
every ratio and pipeline; the unpruned row is the ordinary training. 5 seeds as the paper."""
from tickets.pruning.structured.methods import NetworkSlimming
from tickets.study import Grid, Study

SEEDS = range(5)
PIPELINES = ("finetune", "scratch_e", "scratch_b")

study = Study(
    "rethinking_slimming_cifar",
    Grid(datasets=("cifar10",), models=("vgg19_slim", "preresnet164"), methods=("dense",),
         sparsities=(0.0,), seeds=SEEDS),
    Grid(datasets=("cifar10",), models=("vgg19_slim",), sparsities=(0.7,), seeds=SEEDS,
         methods=[NetworkSlimming(bn_l1=1e-4, retrain=r) for r in PIPELINES]),
    Grid(datasets=("cifar10",), models=("preresnet164",), sparsities=(0.4, 0.6), seeds=SEEDS,
         methods=[NetworkSlimming(bn_l1=1e-5, retrain=r) for r in PIPELINES]),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Network slimming on CIFAR-10: fine-tuned vs Scratch-E vs Scratch-B.",
)
