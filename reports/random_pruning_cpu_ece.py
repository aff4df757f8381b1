"""The CPU-sized Random Pruning study: ECE (15 bins, fraction; lower is better)."""
from registry.report import Report

from .random_pruning_cpu import CPU

REPORT = Report(
    name="random_pruning_cpu_ece",
    title="Random pruning vs dense MLPs on Fashion-MNIST: ECE (15 bins, fraction; lower is better)",
    caption="ECE (15 bins, fraction; lower is better) of dense and randomly pruned MLPs on Fashion-MNIST, mean ± std over 2 seeds.",
    eval="calibration",
    metric="ece",
    lower_is_better=True,
    decimals=4,
    **CPU,
)
