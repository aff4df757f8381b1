""""Rethinking the Value of Network Pruning", Table 1's ImageNet rows: L1-norm filter pruning of
ResNet-34 to ResNet-34-A/B, Scratch-E and Scratch-B top-1 (%); the fine-tuned row is the released
README's, imported (`--compare paper`). `--metric test_top5` for top-5, `--metric flops_reduction`
for "FLOPs ↓"."""
from registry.report import Axis

from ._rethinking import imagenet_report

REPORT = imagenet_report(
    'rethinking_imagenet_l1',
    title='L1-norm filter pruning on ImageNet: fine-tuned vs trained from scratch',
    caption="Top-1 accuracy (%) on ImageNet of ResNet-34 pruned to the predefined ResNet-34-A/B (Li et al., 2017; Liu et al., 2019, Table 1), trained from scratch for the large model's 90 epochs (Scratch-E) or its FLOPs budget (Scratch-B); fine-tuned values are the released code's.",
    models={'resnet34_imagenet': 'ResNet-34'},
    column=Axis("spec.method.variant", ("A", "B"), labels={"A": "ResNet-34-A", "B": "ResNet-34-B"}, title="Pruned model"),
    method='l1_filter',
)
