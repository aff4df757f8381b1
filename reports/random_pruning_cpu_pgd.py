"""The CPU-sized Random Pruning study: accuracy (%) under PGD L∞ (ε 8/255, step 2/255, 10 steps, 2000 test images)."""
from registry.report import Report

from .random_pruning_cpu import CPU

REPORT = Report(
    name="random_pruning_cpu_pgd",
    title="Random pruning vs dense MLPs on Fashion-MNIST: accuracy (%) under PGD L∞ (ε 8/255, step 2/255, 10 steps, 2000 test images)",
    caption="accuracy (%) under PGD L∞ (ε 8/255, step 2/255, 10 steps, 2000 test images) of dense and randomly pruned MLPs on Fashion-MNIST, mean ± std over 2 seeds.",
    eval="pgd:samples=2000,steps=10",
    metric="adv_acc",
    lower_is_better=False,
    decimals=2,
    **CPU,
)
