""""Rethinking the Value of Network Pruning", Table 2 (ThiNet, ImageNet): the published ThiNet
architectures VGG-Conv, VGG-GAP, VGG-Tiny (from VGG-16 without BN) and ThiNet-30/50/70 (from
ResNet-50) trained from scratch (method `predefined`): Scratch-E 90 epochs, Scratch-B int(90 x FLOPs
ratio) epochs, at most 180 (the released README: 141 for ThiNet-70, 180 for the others). The
fine-tuned numbers are the ThiNet authors' released Caffe models, imported as the paper did
(reports/paper/rethinking_imagenet_thinet.csv). The VGG networks train at lr 0.01 (the released
README's commands). One seed.

    tickets study plan studies/rethinking_imagenet_thinet.py
    tickets report rethinking_imagenet_thinet --compare paper"""
from tickets.pruning.structured.predefined import Predefined
from tickets.recipes import recipe
from tickets.study import Grid, Study

GRIDS = []
for model, archs, training in (
        ('vgg16_imagenet', ('thinet_conv', 'thinet_gap', 'thinet_tiny'), 'rethinking_imagenet_vgg'),
        ('resnet50_imagenet', ('thinet30', 'thinet50', 'thinet70'), 'rethinking_imagenet'),
):
    GRIDS += [Grid(datasets=("imagenet",), models=(model,), methods=("dense",), sparsities=(0.0,),
                   train=recipe(training)),
              Grid(datasets=("imagenet",), models=(model,), sparsities=(0.0,), train=recipe(training),
                   methods=[Predefined(arch=a, retrain=r) for a in archs for r in ("scratch_e", "scratch_b")])]

study = Study(
    "rethinking_imagenet_thinet",
    *GRIDS,
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 16, "mem": "128G", "time": "14-00:00:00"}},
    description="ThiNet architectures on ImageNet (VGG-16, ResNet-50): Scratch-E and Scratch-B.",
)
