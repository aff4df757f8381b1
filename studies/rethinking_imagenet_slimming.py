""""Rethinking the Value of Network Pruning", Table 4's ImageNet row: network slimming of VGG-11 (BN)
at 50 % of its channels (imagenet/network-slimming of the released code): the large VGG-11 trained
90 epochs with the L1 penalty 1e-5 on BN scales (its README's `--s 0.00001`), one global threshold
over every BN scale (convs and the two 4096 layers), then fine-tuned (5 epochs at lr 0.001, its
main_finetune.py), Scratch-E (90 epochs) and Scratch-B (int(90 x FLOPs ratio) epochs, capped at 180
here as every Rethinking Scratch-B). One seed.

    tickets study plan studies/rethinking_imagenet_slimming.py
    tickets report rethinking_imagenet_slimming --compare paper"""
from tickets.pruning.structured.methods import NetworkSlimming
from tickets.recipes import recipe
from tickets.study import Grid, Study

TRAIN = recipe("rethinking_imagenet")
study = Study(
    "rethinking_imagenet_slimming",
    Grid(datasets=("imagenet",), models=("vgg11_slim_imagenet",), methods=("dense",), sparsities=(0.0,), train=TRAIN),
    Grid(datasets=("imagenet",), models=("vgg11_slim_imagenet",), sparsities=(0.5,), train=TRAIN,
         retrain={"epochs": 5},
         methods=[NetworkSlimming(bn_l1=1e-5, retrain=r) for r in ("finetune", "scratch_e", "scratch_b")]),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 16, "mem": "128G", "time": "14-00:00:00"}},
    description="Network slimming of VGG-11 on ImageNet at 50 %: fine-tuned vs Scratch-E vs Scratch-B.",
)
