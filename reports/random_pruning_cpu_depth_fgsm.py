"""random_pruning_cpu_depth (the Fashion-MNIST stand-in, its layout) showing fgsm: adversarial robustness of every trained
network, with the dense network of the same size as the figure's reference."""
from ._random_pruning import evaluation_report
from .random_pruning_cpu_depth import REPORT as ACCURACY

REPORT = evaluation_report(ACCURACY, "fgsm")
