""""Rethinking the Value of Network Pruning", Table 2 (ThiNet on ImageNet): Scratch-E/B top-1 (%) of
the published ThiNet architectures; fine-tuned values are the ThiNet authors', imported (`--compare
paper`; those recalled but not re-read are marked "?")."""
from registry.report import Axis, Group, Report

from ._rethinking import rows

MODELS = {'vgg16_imagenet': 'VGG-16', 'resnet50_imagenet': 'ResNet-50'}

REPORT = Report(
    name="rethinking_imagenet_thinet",
    title="ThiNet architectures on ImageNet: fine-tuned vs trained from scratch",
    caption="Top-1 accuracy (%) on ImageNet of the ThiNet architectures (Luo et al., 2017; Liu et al., 2019, Table 2) trained from scratch (Scratch-E: 90 epochs; Scratch-B: the large model's FLOPs budget, at most 180 epochs); VGG at lr 0.01.",
    filters={"dataset": "imagenet", "model": list(MODELS)},
    columns=(Axis("spec.method.arch", ('thinet_conv', 'thinet_gap', 'thinet_tiny', 'thinet30', 'thinet50', 'thinet70'), labels={'thinet_conv': 'VGG-Conv', 'thinet_gap': 'VGG-GAP', 'thinet_tiny': 'VGG-Tiny', 'thinet30': 'ThiNet-30', 'thinet50': 'ThiNet-50', 'thinet70': 'ThiNet-70'}, title="Pruned model"),),
    groups=tuple(Group(label, {"model": m}) for m, label in MODELS.items()),
    rows=rows('predefined'),
    reference_axis='spec.method.arch',
    row_title="Pipeline",
    seeds=1,
    chance={"imagenet": 0.1},
    study="studies/rethinking_imagenet_thinet.py",
    paper="paper/rethinking_imagenet_thinet.csv",
)
