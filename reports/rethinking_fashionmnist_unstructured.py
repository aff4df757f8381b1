"""The CPU-sized stand-in for the weight-level and soft-filter-pruning tables: cnn_small on
Fashion-MNIST (studies/rethinking_fashionmnist.py)."""
from registry.report import Axis, Report, Row

from ._rethinking import METHODS, PIPELINES, SOFT, rows

# soft filter pruning is never fine-tuned and weight-level pruning has no soft-pruned result: each row
# names its method, so the other method's cell prints "-" (no such pipeline) rather than n/a
ONLY = {"soft": "sfp", "finetune": "weight_level"}
ROWS = tuple(Row(r.key, r.label, {**r.where, "method": ONLY[r.key]}, r.reference) if r.key in ONLY else r
             for r in rows(None, (SOFT, *PIPELINES)))

REPORT = Report(
    name="rethinking_fashionmnist_unstructured",
    title="Weight-level and soft filter pruning on Fashion-MNIST: pruned vs trained from scratch",
    caption="Test accuracy (%) of cnn_small (two 3x3 convs with BN, 16-32 channels) on Fashion-MNIST: "
            "80 % of its conv weights removed by magnitude (weight-level) or half of every conv's "
            "filters zeroed after each epoch (soft filter pruning); the pruned network fine-tuned or "
            "soft-pruned, and its mask trained from scratch (Scratch-E, Scratch-B).",
    filters={"dataset": "fashionmnist", "model": "cnn_small"},
    columns=(Axis("method", ("weight_level", "sfp"), labels=METHODS, title="Method"),),
    rows=ROWS,
    reference_axis="method",
    row_title="Pipeline",
    seeds=1,
    chance={"fashionmnist": 10.0},
    study="studies/rethinking_fashionmnist.py",
)
