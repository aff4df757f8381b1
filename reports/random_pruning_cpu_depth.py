"""The CPU-sized Random Pruning study against depth (1, 2, 4 hidden layers of 64 units): table and
figure of accuracy and of the gap to the dense network of the same depth."""
from registry.report import Report

from ._common import CHANCE, sparsity_axis
from ._random_pruning import CPU_RULES, DEPTH, WIDTH, rule_rows, scale_figure, size_axis

REPORT = Report(
    name="random_pruning_cpu_depth",
    title="Fashion-MNIST MLP (64 units per layer): accuracy against depth",
    filters={"dataset": "fashionmnist", "model": "mlp", WIDTH: "64"},
    columns=(sparsity_axis((0.5, 0.9)),),
    group_by=size_axis(DEPTH, (1, 2, 4), "hidden layers"),
    rows=rule_rows(CPU_RULES, dense_label="Dense (depth {group})"),
    seeds=2,
    chance=CHANCE,
    study="studies/random_pruning_cpu.py",
    figure=scale_figure(DEPTH, ("1", "2", "4"), "hidden layers", panels=("dataset", "sparsity")),
)
