""""Rethinking the Value of Network Pruning", soft filter pruning (He et al., 2018; released
cifar/soft-filter-pruning/): ResNet-20/32/56/110 on CIFAR-10, every conv loses the prune ratio of
its filters (smallest L2 norm, zeroed after every epoch); the soft-pruned network vs its
architecture trained from scratch (Scratch-E, Scratch-B). Prune ratios: 10/20/30 % for ResNet-20
and -32, 30/40 % for ResNet-56, 30 % for ResNet-110 (the SFP paper's CIFAR-10 settings; the
released README shows --rate 0.7, i.e. 30 %).

Training as the released README: 200 epochs, batch 128, weight decay 5e-4, Nesterov momentum 0.9,
lr x0.2 at 60, 120, 160, for the baseline, the soft-pruned training and the scratch runs alike. Its
first epoch runs at lr/10 (`--schedule 1 ... --gammas 10 ...`), which a TrainConfig cannot express:
here every epoch before 60 runs at lr 0.1 (docs/FIDELITY.md). The networks are the parameter-free
shortcut CIFAR ResNets (`resnet*_l1`). 5 seeds as the paper."""
from tickets.pruning.soft_filter import SoftFilter
from tickets.study import Grid, Study

SEEDS = range(5)
TRAIN = {"epochs": 200, "batch_size": 128, "lr": 0.1, "weight_decay": 5e-4, "nesterov": True,
         "milestones": (60, 120, 160), "gamma": 0.2}
PIPELINES = [SoftFilter(retrain=r) for r in ("soft", "scratch_e", "scratch_b")]
C = dict(datasets=("cifar10",), seeds=SEEDS, train=TRAIN)

study = Study(
    "rethinking_sfp_cifar",
    Grid(models=("resnet20_l1", "resnet32_l1", "resnet56_l1", "resnet110_l1"), methods=("dense",),
         sparsities=(0.0,), **C),
    Grid(models=("resnet20_l1", "resnet32_l1"), methods=PIPELINES, sparsities=(0.1, 0.2, 0.3), **C),
    Grid(models=("resnet56_l1",), methods=PIPELINES, sparsities=(0.3, 0.4), **C),
    Grid(models=("resnet110_l1",), methods=PIPELINES, sparsities=(0.3,), **C),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Soft filter pruning on CIFAR-10: soft-pruned vs Scratch-E vs Scratch-B.",
)
