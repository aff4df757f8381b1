""""Rethinking the Value of Network Pruning" on this CPU: structured pruning of an MLP's neurons on
Fashion-MNIST, fine-tuned vs trained from scratch (Scratch-E, Scratch-B), in a few minutes.

mlp_bn (784-300-100-10 with BN) loses half its hidden neurons by three rules: L1-norm (every layer
loses 50 %, largest-norm neurons kept), network slimming (the 50 % of all neurons with the smallest
BN scales, after training with the L1 penalty on those scales: a second shared large-model
training) and uniform channel scaling. Two epochs for the large models, one of fine-tuning at the
paper's lr 0.001; Scratch-B trains up to twice the epochs (the FLOPs ratio, capped)."""
from tickets.pruning.structured.methods import ChannelScale, L1Filter, NetworkSlimming
from tickets.study import Grid, Study

COMMON = dict(datasets=("fashionmnist",), models=("mlp_bn",), seeds=(0, 1),
              train={"epochs": 2, "milestones": (1,)}, retrain={"epochs": 1})
PIPELINES = ("finetune", "scratch_e", "scratch_b")

study = Study(
    "rethinking_fashionmnist",
    Grid(methods=("dense",), sparsities=(0.0,), **COMMON),
    Grid(methods=[cls(retrain=r, **kw) for cls, kw in ((L1Filter, {"variant": ""}), (NetworkSlimming, {}),
                                                       (ChannelScale, {}))
                  for r in PIPELINES],
         sparsities=(0.5,), **COMMON),
    description="Structured pruning (L1-norm, network slimming, uniform) of an MLP on Fashion-MNIST: "
                "fine-tuned vs Scratch-E vs Scratch-B.",
)
