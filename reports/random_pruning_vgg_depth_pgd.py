"""random_pruning_vgg_depth (its study and layout) showing pgd: adversarial robustness of every trained network, with the
dense network of the same size as the figure's reference (reports/_random_pruning.py)."""
from ._random_pruning import evaluation_report
from .random_pruning_vgg_depth import REPORT as ACCURACY

REPORT = evaluation_report(ACCURACY, "pgd")
