""""Rethinking the Value of Network Pruning", Table 5 (sparse structure selection on ImageNet):
Scratch-E/B top-1 (%) of ResNet-26/32/41; the pruned models' own accuracies (the "Fine-tuned" row)
are the SSS paper's, imported (`--compare paper`; recalled values are marked "?")."""
from registry.report import Axis, Group, Report

from ._rethinking import rows

MODELS = {'resnet50_imagenet': 'ResNet-50'}

REPORT = Report(
    name="rethinking_imagenet_sss",
    title="Sparse structure selection on ImageNet: pruned vs trained from scratch",
    caption="Top-1 accuracy (%) on ImageNet of ResNet-26/32/41 of sparse structure selection (Huang & Wang, 2018; Liu et al., 2019, Table 5) trained from scratch with its 100-epoch schedule (Scratch-E) or the FLOPs budget (Scratch-B).",
    filters={"dataset": "imagenet", "model": list(MODELS)},
    columns=(Axis("spec.method.arch", ('resnet26_sss', 'resnet32_sss', 'resnet41_sss'), labels={'resnet26_sss': 'ResNet-26', 'resnet32_sss': 'ResNet-32', 'resnet41_sss': 'ResNet-41'}, title="Pruned model"),),
    groups=tuple(Group(label, {"model": m}) for m, label in MODELS.items()),
    rows=rows('predefined'),
    reference_axis='spec.method.arch',
    row_title="Pipeline",
    seeds=1,
    chance={"imagenet": 0.1},
    study="studies/rethinking_imagenet_sss.py",
    paper="paper/rethinking_imagenet_sss.csv",
)
