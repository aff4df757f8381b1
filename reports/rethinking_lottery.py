""""Rethinking the Value of Network Pruning", Section 6, unstructured half: VGG-16 on CIFAR-10
pruned by magnitude one-shot (lt) or iteratively (imp), trained from the winning ticket's
initialisation or a random re-initialisation (check reinit), at initial learning rates 0.1 and
0.01. The paper's finding: with lr 0.1 the winning ticket is no better than random."""
from registry.report import Axis, Group, Report, Row

GROUPS = tuple(Group(f"{label}, lr {lr}", {"method": m, "spec.train.lr": lr})
               for lr in (0.1, 0.01) for m, label in (("lt", "One-shot"), ("imp", "Iterative")))

REPORT = Report(
    name="rethinking_lottery",
    title="Winning ticket vs random initialisation (VGG-16, CIFAR-10)",
    caption="Test accuracy (%) of magnitude-pruned VGG-16 on CIFAR-10 (Liu et al., 2019, Section 6): "
            "the sparse network trained from the original initialisation (winning ticket) or from a "
            "random re-initialisation, one-shot and iterative pruning, initial lr 0.1 and 0.01.",
    filters={"dataset": "cifar10", "model": "vgg16", "method": ["lt", "imp"]},
    columns=(Axis("sparsity", tuple(round(1 - 0.8 ** k, 6) for k in range(1, 10)), fmt="{:.0%}",
                  title="Prune ratio"),),
    groups=GROUPS,
    rows=(Row("winning", "Winning ticket", {"check": "none"}), Row("random", "Random init", {"check": "reinit"})),
    row_title="Initialisation",
    seeds=5,
    chance={"cifar10": 10.0},
    study="studies/rethinking_lottery_cifar.py",
)
