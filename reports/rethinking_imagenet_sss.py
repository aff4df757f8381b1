""""Rethinking the Value of Network Pruning", Table 5 (sparse structure selection on ImageNet):
Scratch-E/B top-1 (%) of ResNet-26/32/41; the pruned models' own accuracies (the "Fine-tuned" row)
are the SSS paper's, imported (`--compare paper`; recalled values are marked "?")."""
from ._rethinking import predefined_imagenet

REPORT = predefined_imagenet(
    'rethinking_imagenet_sss',
    title='Sparse structure selection on ImageNet: pruned vs trained from scratch',
    caption='Top-1 accuracy (%) on ImageNet of ResNet-26/32/41 of sparse structure selection (Huang & Wang, 2018; Liu et al., 2019, Table 5) trained from scratch with its 100-epoch schedule (Scratch-E) or the FLOPs budget (Scratch-B).',
    models={'resnet50_imagenet': 'ResNet-50'},
    archs={'resnet26_sss': 'ResNet-26', 'resnet32_sss': 'ResNet-32', 'resnet41_sss': 'ResNet-41'},
)
