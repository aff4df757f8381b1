""""Rethinking the Value of Network Pruning", Table 5 (sparse structure selection, Huang & Wang 2018,
ImageNet): ResNet-26, -32 and -41 (ResNet-50 with residual blocks removed, the block counts of the
released README) trained from scratch (method `predefined`) with sparse structure selection's own
schedule: 100 epochs, lr /10 at 30, 60, 90 (recipe "rethinking_imagenet_sss"); Scratch-B 117 / 145 /
179 epochs as the README's table (FLOPs ratio x 100). The pruned models' accuracies are the original
paper's, imported as Rethinking did. One seed.

    tickets study plan studies/rethinking_imagenet_sss.py
    tickets report rethinking_imagenet_sss --compare paper"""
from tickets.pruning.structured.predefined import Predefined
from tickets.recipes import recipe
from tickets.study import Grid, Study

GRIDS = []
for model, archs, training in (
        ('resnet50_imagenet', ('resnet26_sss', 'resnet32_sss', 'resnet41_sss'), 'rethinking_imagenet_sss'),
):
    GRIDS += [Grid(datasets=("imagenet",), models=(model,), methods=("dense",), sparsities=(0.0,),
                   train=recipe(training)),
              Grid(datasets=("imagenet",), models=(model,), sparsities=(0.0,), train=recipe(training),
                   methods=[Predefined(arch=a, retrain=r) for a in archs for r in ("scratch_e", "scratch_b")])]

study = Study(
    "rethinking_imagenet_sss",
    *GRIDS,
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 16, "mem": "128G", "time": "14-00:00:00"}},
    description="Sparse structure selection ResNet-26/32/41 on ImageNet: Scratch-E and Scratch-B.",
)
