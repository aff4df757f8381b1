""""Rethinking the Value of Network Pruning", Table 1's ImageNet rows: L1-norm filter pruning of
ResNet-34 to the predefined ResNet-34-A and -B (imagenet/l1-norm-pruning of the released code),
Scratch-E (90 epochs) and Scratch-B (int(90 x FLOPs ratio) epochs) from a fresh initialisation.
The fine-tuned numbers are imported from the released README, as the paper's own tables cite them
(reports/paper/rethinking_imagenet_l1.csv); `L1Filter(retrain="finetune")` would also run here (it
trains the large ResNet-34 first: 90 epochs, then 20 epochs of fine-tuning in the released code,
our fine-tuning default is the CIFAR code's 40 epochs at lr 0.001, see `Grid(retrain=...)`).

Training: the PyTorch ImageNet example (tickets/recipes.py, "rethinking_imagenet"). One seed.

    tickets study plan studies/rethinking_imagenet_l1.py
    tickets report rethinking_imagenet_l1 --compare paper"""
from tickets.pruning.structured.methods import L1Filter
from tickets.recipes import recipe
from tickets.study import Grid, Study

study = Study(
    "rethinking_imagenet_l1",
    Grid(datasets=("imagenet",), models=("resnet34_imagenet",), methods=("dense",), sparsities=(0.0,),
         train=recipe("rethinking_imagenet")),
    Grid(datasets=("imagenet",), models=("resnet34_imagenet",), sparsities=(0.0,), train=recipe("rethinking_imagenet"),
         methods=[L1Filter(variant=v, retrain=r) for v in ("A", "B") for r in ("scratch_e", "scratch_b")]),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 16, "mem": "128G", "time": "14-00:00:00"}},
    description="L1-norm filter pruning on ImageNet (ResNet-34-A/B): Scratch-E and Scratch-B.",
)
