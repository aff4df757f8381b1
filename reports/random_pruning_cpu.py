"""The CPU-sized Random Pruning study (studies/random_pruning_cpu.py): test accuracy of dense and
randomly pruned MLPs on Fashion-MNIST, one block per network size. The evaluations have their own
declarations (random_pruning_cpu_ece, _auroc, _pgd); any other metric: `--eval NAME --metric M`."""
from registry.report import Report

from ._common import CHANCE, sparsity_axis
from ._random_pruning import CPU_RULES, mlp_groups, rule_rows

SIZES = ((2, 16), (2, 64), (2, 256), (1, 64), (4, 64))
CPU = dict(
    filters={"dataset": "fashionmnist", "model": "mlp"},
    columns=(sparsity_axis((0.5, 0.9)),),
    groups=mlp_groups(SIZES),
    rows=rule_rows(CPU_RULES),
    row_title="Network",
    seeds=2,
    chance=CHANCE,
    study="studies/random_pruning_cpu.py",
)

REPORT = Report(
    name="random_pruning_cpu",
    title="Random pruning vs dense MLPs on Fashion-MNIST: test accuracy",
    caption="Test accuracy (%) of dense and randomly pruned (ERK, uniform, ERK+, SNIP-ratio, GraSP-ratio) MLPs of several "
            "widths and depths on Fashion-MNIST, mean ± std over 2 seeds.",
    **CPU,
)
