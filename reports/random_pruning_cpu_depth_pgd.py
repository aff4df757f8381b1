"""random_pruning_cpu_depth (the Fashion-MNIST stand-in, its layout) showing pgd: adversarial robustness of every trained
network, with the dense network of the same size as the figure's reference."""
from ._random_pruning import evaluation_report
from .random_pruning_cpu_depth import REPORT as ACCURACY

REPORT = evaluation_report(ACCURACY, "pgd", "pgd:samples=2000,steps=10",
                           what="accuracy (%) under PGD L∞ (ε 8/255, step 2/255, 10 steps, 2000 test images)")
