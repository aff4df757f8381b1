"""The CPU-sized rethinking study: an MLP's neurons pruned by three structured rules on
Fashion-MNIST, fine-tuned vs Scratch-E vs Scratch-B (studies/rethinking_fashionmnist.py)."""
from registry.report import Axis, Report

from ._rethinking import LOTTERY, METHODS, PIPELINES, rows

REPORT = Report(
    name="rethinking_fashionmnist",
    title="Structured pruning on Fashion-MNIST: fine-tuned vs trained from scratch",
    caption="Test accuracy (%) of mlp_bn (784-300-100-10 with BN) with half its hidden neurons removed, "
            "mean ± std over seeds.",
    filters={"dataset": "fashionmnist", "model": "mlp_bn"},
    columns=(Axis("method", ("l1_filter", "slimming", "channel_scale"), labels=METHODS, title="Method"),),
    rows=rows(None, (*PIPELINES, LOTTERY)),
    reference_axis="method",
    row_title="Pipeline",
    seeds=2,
    chance={"fashionmnist": 10.0},
    study="studies/rethinking_fashionmnist.py",
)
