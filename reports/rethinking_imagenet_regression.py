""""Rethinking the Value of Network Pruning", Table 3 (regression-based feature reconstruction on
ImageNet): Scratch-E/B top-1 (%) of VGG-16-5x and ResNet-50-2x; `--compare paper` shows the
released README's values (the fine-tuned figures could not be re-read and are not shipped)."""
from ._rethinking import predefined_imagenet

REPORT = predefined_imagenet(
    'rethinking_imagenet_regression',
    title='Regression-based channel pruning on ImageNet: trained from scratch',
    caption="Top-1 accuracy (%) on ImageNet of the architectures of He et al. (2017) (Liu et al., 2019, Table 3) trained from scratch (Scratch-E: 90 epochs; Scratch-B: the large model's FLOPs budget).",
    models={'vgg16_imagenet': 'VGG-16', 'resnet50_imagenet': 'ResNet-50'},
    archs={'vgg16_5x': 'VGG-16-5x', 'resnet50_2x': 'ResNet-50-2x'},
)
