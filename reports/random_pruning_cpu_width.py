"""The CPU-sized Random Pruning study against width (2 hidden layers of 16, 64, 256 units): table and
figure of accuracy and of the gap to the dense network of the same width."""
from registry.report import Report

from ._common import CHANCE, sparsity_axis
from ._random_pruning import CPU_RULES, DEPTH, WIDTH, rule_rows, scale_figure, size_axis

REPORT = Report(
    name="random_pruning_cpu_width",
    title="Fashion-MNIST MLP (2 hidden layers): accuracy against width",
    filters={"dataset": "fashionmnist", "model": "mlp", DEPTH: "2"},
    columns=(sparsity_axis((0.5, 0.9)),),
    group_by=size_axis(WIDTH, (16, 64, 256), "width"),
    rows=rule_rows(CPU_RULES, dense_label="Dense (width {group})"),
    seeds=2,
    chance=CHANCE,
    study="studies/random_pruning_cpu.py",
    figure=scale_figure(WIDTH, ("16", "64", "256"), "hidden units per layer", panels=("dataset", "sparsity")),
)
