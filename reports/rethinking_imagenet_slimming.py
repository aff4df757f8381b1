""""Rethinking the Value of Network Pruning", Table 4's ImageNet row: network slimming of VGG-11 at
50 %: fine-tuned, Scratch-E, Scratch-B top-1 (%); `--compare paper` shows the released README's."""
from registry.report import Axis

from ._rethinking import imagenet_report

REPORT = imagenet_report(
    'rethinking_imagenet_slimming',
    title='Network slimming on ImageNet: fine-tuned vs trained from scratch',
    caption='Top-1 accuracy (%) on ImageNet of VGG-11 (BN) pruned by network slimming at 50 % of its channels (Liu et al., 2017; 2019, Table 4): fine-tuned, or trained from scratch (Scratch-E, Scratch-B).',
    models={'vgg11_slim_imagenet': 'VGG-11'},
    column=Axis("sparsity", (0.5,), fmt="{:.0%}", title="Prune ratio"),
    method='slimming',
)
