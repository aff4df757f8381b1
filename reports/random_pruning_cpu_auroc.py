"""The CPU-sized Random Pruning study: OoD AUROC (MSP score; Fashion-MNIST test vs scikit-learn digits)."""
from registry.report import Report

from .random_pruning_cpu import CPU

REPORT = Report(
    name="random_pruning_cpu_auroc",
    title="Random pruning vs dense MLPs on Fashion-MNIST: OoD AUROC (MSP score; Fashion-MNIST test vs scikit-learn digits)",
    caption="OoD AUROC (MSP score; Fashion-MNIST test vs scikit-learn digits) of dense and randomly pruned MLPs on Fashion-MNIST, mean ± std over 2 seeds.",
    eval="ood:digits",
    metric="auroc",
    lower_is_better=False,
    decimals=4,
    **CPU,
)
