"""The quickstart: every method and sanity check run on Fashion-MNIST, one block per model, the three
sparsities of studies/quickstart.py. Rows are whatever method/check combinations are in the store."""
from registry.report import AutoRows, Axis, Report

from ._common import CHANCE, MODELS, sparsity_axis

LABELS = {
    "dense": "{group} (Full Network)", "random_tickets": "Random Tickets", "random": "Random (global)",
    "snip": "SNIP", "grasp": "GraSP", "synflow": "SynFlow", "lt": "LT", "imp": "IMP", "wr": "Weight Rewinding",
    "lrr": "LR Rewinding", "hybrid": "Hybrid Tickets", "obd": "OBD", "scratch_e": "Scratch-E",
    "scratch_b": "Scratch-B",
    # checks, printed in parentheses after the method
    "random_labels": "random labels", "random_pixels": "random pixels", "corrupt": "corrupted data",
    "half_data": "half data", "rearrange": "layerwise rearrange", "shuffle_weights": "weight shuffle",
    "reinit": "reinit",
}

REPORT = Report(
    name="quickstart",
    title="Quickstart: pruned networks on Fashion-MNIST",
    caption="Test accuracy (%) of pruned networks on Fashion-MNIST, mean ± std over seeds.",
    filters={"dataset": "fashionmnist"},
    columns=(sparsity_axis(),),
    group_by=Axis("model", labels=MODELS),
    auto_rows=AutoRows(fields=("method", "check"), labels=LABELS,
                       order=("dense", "lt", "snip", "grasp", "random_tickets", "random"),
                       reference=("dense",),
                       # the rows studies/quickstart.py runs: n/a and named while they have no runs
                       expected=("dense", "lt", "snip", "snip/corrupt", "grasp", "random_tickets")),
    row_title="Method",
    seeds=2,
    chance=CHANCE,
    study="studies/quickstart.py",
)
