""""Rethinking the Value of Network Pruning", Table 1: L1-norm filter pruning to the predefined
architectures VGG-16-A, ResNet-56-A/B, ResNet-110-A/B; fine-tuned (40 epochs, lr 0.001) vs Scratch-E
vs Scratch-B, on CIFAR-10 (the paper's table) and CIFAR-100 (the same presets; no published numbers
to compare with). The large models are the shared pretrain stages (160 epochs); the scratch
pipelines need no large model (the architecture is predefined). 5 seeds as the paper."""
from tickets.pruning.structured.methods import L1Filter
from tickets.study import Grid, Study

SEEDS = range(5)
PIPELINES = ("finetune", "scratch_e", "scratch_b")


def _grids(dataset):
    return (
        Grid(datasets=(dataset,), models=("vgg16_l1", "resnet56_l1", "resnet110_l1"), methods=("dense",),
             sparsities=(0.0,), seeds=SEEDS),
        Grid(datasets=(dataset,), models=("vgg16_l1",), sparsities=(0.0,), seeds=SEEDS,
             methods=[L1Filter(variant="A", retrain=r) for r in PIPELINES]),
        Grid(datasets=(dataset,), models=("resnet56_l1", "resnet110_l1"), sparsities=(0.0,), seeds=SEEDS,
             methods=[L1Filter(variant=v, retrain=r) for v in ("A", "B") for r in PIPELINES]),
    )


study = Study(
    "rethinking_l1_cifar",
    *_grids("cifar10"),
    *_grids("cifar100"),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "08:00:00"}},
    description="L1-norm filter pruning on CIFAR-10/100: fine-tuned vs Scratch-E vs Scratch-B.",
)
