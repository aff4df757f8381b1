""""Rethinking the Value of Network Pruning", Section 6 (released cifar/lottery-ticket/): is the
winning ticket's initialisation better than a random one?

- Unstructured (weight-level/): VGG-16 on CIFAR-10, one-shot (`lt`) and iterative (`imp`, 20 % of
  the remaining weights per round: sparsity 1 - 0.8^k after k rounds) magnitude pruning of the conv
  weights, trained from the original initialisation (check none: the winning ticket) or from a
  random re-initialisation (check reinit), at initial learning rates 0.1 and 0.01 (the paper's
  point: with lr 0.1 the winning ticket brings no gain).
- Structured (l1-norm-pruning/): the L1-norm networks VGG-16-A, ResNet-56-A/B, ResNet-110-A/B
  started from the large network's initial weights of the kept filters (`retrain=lottery`) vs a
  random initialisation (`retrain=scratch_e`), same two learning rates.
Training: the released defaults (160 epochs, batch 64, /10 at 80 and 120, weight decay 1e-4), the
learning rate as given; 5 seeds."""
from tickets.pruning.methods import IterativeMagnitude, LotteryTicket
from tickets.pruning.structured.methods import L1Filter
from tickets.study import Grid, Study

SEEDS = range(5)
ROUNDS = range(1, 10)  # 20 % ... 86.6 %
LRS = (0.1, 0.01)


def _unstructured(lr):
    grids = []
    for k in ROUNDS:
        sparsity = round(1 - 0.8 ** k, 6)
        grids.append(Grid(datasets=("cifar10",), models=("vgg16",), methods=[LotteryTicket(), IterativeMagnitude(rounds=k)],
                          checks=("none", "reinit"), sparsities=(sparsity,), seeds=SEEDS, train={"lr": lr}))
    return grids


def _structured(lr):
    return [
        Grid(datasets=("cifar10",), models=("vgg16_l1",), sparsities=(0.0,), seeds=SEEDS, train={"lr": lr},
             methods=[L1Filter(variant="A", retrain=r) for r in ("lottery", "scratch_e")]),
        Grid(datasets=("cifar10",), models=("resnet56_l1", "resnet110_l1"), sparsities=(0.0,), seeds=SEEDS,
             train={"lr": lr}, methods=[L1Filter(variant=v, retrain=r) for v in ("A", "B")
                                        for r in ("lottery", "scratch_e")]),
    ]


study = Study(
    "rethinking_lottery_cifar",
    *[g for lr in LRS for g in (Grid(datasets=("cifar10",), models=("vgg16", "vgg16_l1", "resnet56_l1", "resnet110_l1"),
                                     methods=("dense",), sparsities=(0.0,), seeds=SEEDS, train={"lr": lr}),
                                *_unstructured(lr), *_structured(lr))],
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 4, "mem": "16G", "time": "12:00:00"}},
    description="Winning-ticket vs random initialisation, unstructured and structured, lr 0.1 and 0.01.",
)
