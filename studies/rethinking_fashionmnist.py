""""Rethinking the Value of Network Pruning" on this CPU: structured pruning of an MLP's neurons on
Fashion-MNIST, fine-tuned vs trained from scratch (Scratch-E, Scratch-B), in a few minutes.

mlp_bn (784-300-100-10 with BN) loses half its hidden neurons by three rules: L1-norm (every layer
loses 50 %, largest-norm neurons kept), network slimming (the 50 % of all neurons with the smallest
BN scales, after training with the L1 penalty on those scales: a second shared large-model
training) and uniform channel scaling. Two epochs for the large models, one of fine-tuning at the
paper's lr 0.001; Scratch-B trains up to twice the epochs (the FLOPs ratio, capped). The structured
lottery ticket (`retrain=lottery`: the kept neurons' initial weights, the large model's schedule)
is a fourth pipeline of each rule.

The unstructured half (reports/rethinking_fashionmnist_unstructured.py) uses the 2-conv cnn_small,
since both methods prune conv weights as released: weight-level pruning (80 % of the conv weights,
one global threshold) fine-tuned / Scratch-E / Scratch-B, and soft filter pruning (half of every
conv's filters zeroed after each epoch) against its architecture from scratch. One seed, three epochs
for the large models (lr 0.1, then 0.01 for the last): a conv epoch on 60,000 images is the slow part
on a shared CPU (about 18 s); with one epoch Scratch-B's int(1 x FLOPs ratio 1.93) was Scratch-E's
single epoch again, and single-epoch accuracies at lr 0.1 swung by 6 points between two trainings."""
from tickets.pruning.soft_filter import SoftFilter
from tickets.pruning.structured.methods import ChannelScale, L1Filter, NetworkSlimming
from tickets.pruning.weight_level import WeightLevel
from tickets.study import Grid, Study

COMMON = dict(datasets=("fashionmnist",), models=("mlp_bn",), seeds=(0, 1),
              train={"epochs": 2, "milestones": (1,)}, retrain={"epochs": 1})
PIPELINES = ("finetune", "scratch_e", "scratch_b")
RULES = ((L1Filter, {"variant": ""}), (NetworkSlimming, {}), (ChannelScale, {}))
CNN = dict(datasets=("fashionmnist",), models=("cnn_small",), seeds=(0,), train={"epochs": 3, "milestones": (2,)},
           retrain={"epochs": 1})

study = Study(
    "rethinking_fashionmnist",
    Grid(methods=("dense",), sparsities=(0.0,), **COMMON),
    Grid(methods=[cls(retrain=r, **kw) for cls, kw in RULES for r in PIPELINES], sparsities=(0.5,), **COMMON),
    Grid(methods=[cls(retrain="lottery", **kw) for cls, kw in RULES], sparsities=(0.5,), **COMMON),
    Grid(methods=("dense",), sparsities=(0.0,), **CNN),
    Grid(methods=[WeightLevel(retrain=r) for r in PIPELINES], sparsities=(0.8,), **CNN),
    Grid(methods=[SoftFilter(retrain=r) for r in ("soft", "scratch_e", "scratch_b")], sparsities=(0.5,), **CNN),
    description="Structured pruning (L1-norm, network slimming, uniform) of an MLP on Fashion-MNIST: "
                "fine-tuned vs Scratch-E vs Scratch-B vs lottery; weight-level and soft filter pruning "
                "of a small CNN.",
)
