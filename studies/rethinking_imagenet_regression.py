""""Rethinking the Value of Network Pruning", Table 3 (regression-based feature reconstruction, He et
al. 2017, ImageNet): VGG-16-5x and ResNet-50-2x trained from scratch (method `predefined`), Scratch-E
90 epochs and Scratch-B (180 for VGG-16-5x; 134 for ResNet-50-2x here, 132 in the released README,
whose FLOPs count adds BN/ReLU/pooling operations). Fine-tuned numbers are imported from the original
paper as Rethinking did. VGG at lr 0.01 (the released README). One seed.

    tickets study plan studies/rethinking_imagenet_regression.py
    tickets report rethinking_imagenet_regression --compare paper"""
from tickets.pruning.structured.predefined import Predefined
from tickets.recipes import recipe
from tickets.study import Grid, Study

GRIDS = []
for model, archs, training in (
        ('vgg16_imagenet', ('vgg16_5x',), 'rethinking_imagenet_vgg'),
        ('resnet50_imagenet', ('resnet50_2x',), 'rethinking_imagenet'),
):
    GRIDS += [Grid(datasets=("imagenet",), models=(model,), methods=("dense",), sparsities=(0.0,),
                   train=recipe(training)),
              Grid(datasets=("imagenet",), models=(model,), sparsities=(0.0,), train=recipe(training),
                   methods=[Predefined(arch=a, retrain=r) for a in archs for r in ("scratch_e", "scratch_b")])]

study = Study(
    "rethinking_imagenet_regression",
    *GRIDS,
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 16, "mem": "128G", "time": "14-00:00:00"}},
    description="Regression-based channel pruning architectures on ImageNet: Scratch-E and Scratch-B.",
)
