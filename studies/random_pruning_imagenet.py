"""The Random Pruning paper (Liu et al., ICLR 2022) on ImageNet: Wide ResNet-50-2 and ResNet-50
trained sparse from a random mask fixed at initialisation, with the ERK, ERK+ (classifier dense,
the released code's `--sparse_init ERK_plus --fc_density 1.0`) and uniform layer ratios, against
the dense network of the same architecture.

Training: the released ImageNet command and ImageNet/main.py (tickets/recipes.py,
"random_pruning_imagenet"): global batch 768 (4 x 192), lr 0.4 with 5 linear warmup epochs, label
smoothing 0.1, lr x0.1 at 30/60/80, weight decay 1e-4 without BN parameters, fp16 with loss scaling,
`-c fanin` initialisation; sparse networks 100 epochs, the dense ones 90 (`method_train`).

Sparsities: 0.8 is the README's `--density 0.2` (confirmed); 0.7 and 0.9 are the neighbouring points
of the paper's ImageNet comparison as we recall it (not confirmed against the paper's table). One
seed (ImageNet runs in the paper are single runs).

The ratio rule `erk_plus` is registered by the Random Pruning ratios work (issue 20); on a checkout
without it, planning names the missing rule in one line.

    tickets study plan studies/random_pruning_imagenet.py
    tickets report random_pruning_imagenet --compare paper"""
from tickets.pruning.methods import RandomTickets
from tickets.recipes import RANDOM_PRUNING_DENSE, recipe
from tickets.study import Grid, Study

MODELS = ("wide_resnet50_2_imagenet", "resnet50_imagenet")
RULES = tuple(RandomTickets(rule=r) for r in ("erk", "erk_plus", "uniform"))
SPARSITIES = (0.7, 0.8, 0.9)
COMMON = dict(datasets=("imagenet",), models=MODELS, seeds=(0,), train=recipe("random_pruning_imagenet"),
              model_options={"init": "fanin"})

study = Study(
    "random_pruning_imagenet",
    Grid(methods=("dense",), sparsities=(0.0,), method_train={"dense": RANDOM_PRUNING_DENSE}, **COMMON),
    Grid(methods=RULES, sparsities=SPARSITIES, **COMMON),
    resources={"slurm": {"gpus_per_run": 1, "cpus_per_run": 16, "mem": "128G", "time": "14-00:00:00"}},
    description="Random pruning at initialisation vs dense: Wide ResNet-50-2 and ResNet-50 on ImageNet.",
)
