"""random_pruning_cpu_width (the Fashion-MNIST stand-in, its layout) showing ece: calibration of every trained
network, with the dense network of the same size as the figure's reference."""
from ._random_pruning import evaluation_report
from .random_pruning_cpu_width import REPORT as ACCURACY

REPORT = evaluation_report(ACCURACY, "ece")
