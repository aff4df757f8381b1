""""Rethinking the Value of Network Pruning", non-structured (weight-level) pruning (its Table of
Han et al. 2015's method; released cifar/weight-level/): VGG-19, PreResNet-110 and DenseNet-BC-100
on CIFAR-10 and CIFAR-100 at prune ratios 30 % and 80 % of the conv weights (one global magnitude
threshold over every conv layer). Fine-tuned (40 epochs, lr 0.001), Scratch-E, Scratch-B (the FLOPs
ratio of the sparse network as its count_flops.py counts it, capped at 2x). The large models are the
shared pretrain stages (the released cifar.py: 160 epochs, batch 64, lr 0.1, /10 at 80 and 120,
weight decay 1e-4: this project's defaults); 5 seeds as the paper.

`densenet_bc100` is the network the released cifar.py builds for "DenseNet-BC-100" (basic layers,
4.1M parameters); `model_options={"bottleneck": True}` gives the 0.8M bottleneck network the name
usually means (see tickets/models/densenet.py)."""
from tickets.pruning.weight_level import WeightLevel
from tickets.study import Grid, Study

SEEDS = range(5)
PIPELINES = ("finetune", "scratch_e", "scratch_b")
COMMON = dict(datasets=("cifar10", "cifar100"), models=("vgg19", "preresnet110", "densenet_bc100"), seeds=SEEDS)

study = Study(
    "rethinking_weight_level_cifar",
    Grid(methods=("dense",), sparsities=(0.0,), **COMMON),
    Grid(methods=[WeightLevel(retrain=r) for r in PIPELINES], sparsities=(0.3, 0.8), **COMMON),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Weight-level pruning on CIFAR-10/100: fine-tuned vs Scratch-E vs Scratch-B.",
)
