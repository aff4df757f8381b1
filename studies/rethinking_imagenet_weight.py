""""Rethinking the Value of Network Pruning", Table 6's ImageNet rows: non-structured (weight-level)
magnitude pruning of VGG-16 (BN) and ResNet-50 at 30 % and 60 % (imagenet/weight-level of the
released code): the trained network's smallest weights removed by one global threshold, the mask
trained from a fresh initialisation for the same epochs (`scratch_e`) or the same FLOPs
(`scratch_b`). The fine-tuned numbers are the released README's, imported. The released code
prunes convolution weights only; `scratch_e`/`scratch_b` spare the classifier (prune_classifier
false), which for ResNet-50 is the same and for VGG-16 also prunes its two hidden 4096 layers.
Training: the PyTorch ImageNet example (recipe "rethinking_imagenet"). One seed.

    tickets study plan studies/rethinking_imagenet_weight.py
    tickets report rethinking_imagenet_weight --compare paper"""
from tickets.recipes import recipe
from tickets.study import Grid, Study

COMMON = dict(datasets=("imagenet",), models=("vgg16_bn_imagenet", "resnet50_imagenet"),
              train=recipe("rethinking_imagenet"))
study = Study(
    "rethinking_imagenet_weight",
    Grid(methods=("dense",), sparsities=(0.0,), **COMMON),
    Grid(methods=("scratch_e", "scratch_b"), sparsities=(0.3, 0.6), **COMMON),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 16, "mem": "128G", "time": "14-00:00:00"}},
    description="Weight-level pruning on ImageNet (VGG-16, ResNet-50): Scratch-E and Scratch-B.",
)
