""""Rethinking the Value of Network Pruning", Table 2 (ThiNet on ImageNet): Scratch-E/B top-1 (%) of
the published ThiNet architectures; fine-tuned values are the ThiNet authors', imported (`--compare
paper`; those recalled but not re-read are marked "?")."""
from ._rethinking import predefined_imagenet

REPORT = predefined_imagenet(
    'rethinking_imagenet_thinet',
    title='ThiNet architectures on ImageNet: fine-tuned vs trained from scratch',
    caption="Top-1 accuracy (%) on ImageNet of the ThiNet architectures (Luo et al., 2017; Liu et al., 2019, Table 2) trained from scratch (Scratch-E: 90 epochs; Scratch-B: the large model's FLOPs budget, at most 180 epochs); VGG at lr 0.01.",
    models={'vgg16_imagenet': 'VGG-16', 'resnet50_imagenet': 'ResNet-50'},
    archs={'thinet_conv': 'VGG-Conv', 'thinet_gap': 'VGG-GAP', 'thinet_tiny': 'VGG-Tiny', 'thinet30': 'ThiNet-30', 'thinet50': 'ThiNet-50', 'thinet70': 'ThiNet-70'},
)
