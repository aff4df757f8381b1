""""Rethinking the Value of Network Pruning", Section 6, structured half: the L1-norm networks of
Li et al. started from the large network's initial weights of the kept filters (lottery ticket)
or from a random initialisation (Scratch-E), at initial learning rates 0.1 and 0.01."""
from registry.report import Axis, Group, Report, Row

from ._rethinking import MODELS

NETS = ("vgg16_l1", "resnet56_l1", "resnet110_l1")

REPORT = Report(
    name="rethinking_lottery_l1",
    title="Structured lottery tickets: initial weights vs random initialisation (CIFAR-10)",
    caption="Test accuracy (%) of the L1-norm pruned architectures on CIFAR-10 (Liu et al., 2019, "
            "Section 6) trained from the large model's initial weights of the kept filters or from a "
            "random initialisation, initial lr 0.1 and 0.01.",
    filters={"dataset": "cifar10", "model": list(NETS), "method": "l1_filter"},
    columns=(Axis("spec.method.variant", ("A", "B"), labels={"A": "pruned -A", "B": "pruned -B"},
                  title="Pruned model"),),
    groups=tuple(Group(f"{MODELS[m]}, lr {lr}", {"model": m, "spec.train.lr": lr})
                 for lr in (0.1, 0.01) for m in NETS),
    rows=(Row("lottery", "Lottery ticket", {"spec.method.retrain": "lottery"}),
          Row("scratch_e", "Random init", {"spec.method.retrain": "scratch_e"})),
    row_title="Initialisation",
    seeds=5,
    chance={"cifar10": 10.0},
    study="studies/rethinking_lottery_cifar.py",
)
