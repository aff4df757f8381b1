"""random_pruning_width (its study and layout) showing auroc: OoD detection against SVHN of every trained network, with the
dense network of the same size as the figure's reference (reports/_random_pruning.py)."""
from ._random_pruning import evaluation_report
from .random_pruning_width import REPORT as ACCURACY

REPORT = evaluation_report(ACCURACY, "auroc")
