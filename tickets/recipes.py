"""Named training recipes of the papers' ImageNet experiments, as TrainConfig overrides for a study's
`Grid(train=...)` (and `method_train=` where methods train for different epochs).

    from tickets.recipes import recipe
    Grid(datasets=["imagenet"], ..., train=recipe("random_pruning_imagenet"),
         method_train={"dense": {"epochs": 90}})

Facts carried over (released code and READMEs; never their code):
- `rethinking_imagenet`: the PyTorch ImageNet example (pytorch/examples 0.3.1 imagenet/main.py) that
  "Rethinking the Value of Network Pruning" trains with: 90 epochs, SGD momentum 0.9, lr 0.1 divided
  by 10 every 30 epochs, batch 256, weight decay 1e-4; these are also the `imagenet` dataset defaults.
  Scratch-B (its main_B.py): int(90 x FLOPs ratio) epochs, 180 when the ratio is >= 2 (method option
  `max_scale`=2, milestones scaled along; the released code decays every int(epochs / 3) epochs).
- `rethinking_imagenet_vgg`: the same with lr 0.01, as its ThiNet and regression READMEs run VGG-16.
- `rethinking_imagenet_sss`: sparse structure selection's schedule as that README states it: 100
  epochs, decay at 30, 60, 90.
- `random_pruning_imagenet`: the Random Pruning README's WRN-50-2 command and ImageNet/main.py:
  4 GPUs x 192 = global batch 768, lr 0.4, 5 warmup epochs ((e + 1) / 6 of the rate), label
  smoothing 0.1, 100 epochs, step decay x0.1 at 30, 60 and 80 (its `adjust_learning_rate`),
  momentum 0.9, weight decay 1e-4 not applied to BN parameters, fp16 with loss scaling. Its
  networks use `-c fanin` (model option init="fanin") and ERK+ with fc_density 1.0 (ratio rule
  `erk_plus`, which keeps the classifier dense), density 0.2."""
from __future__ import annotations

from typing import Any

from registry.errors import UserError

_PYTORCH_EXAMPLE = {"epochs": 90, "lr": 0.1, "milestones": [30, 60], "batch_size": 256, "weight_decay": 1e-4,
                    "momentum": 0.9}
RECIPES: dict[str, dict[str, Any]] = {
    "rethinking_imagenet": dict(_PYTORCH_EXAMPLE),
    "rethinking_imagenet_vgg": {**_PYTORCH_EXAMPLE, "lr": 0.01},
    "rethinking_imagenet_sss": {**_PYTORCH_EXAMPLE, "epochs": 100, "milestones": [30, 60, 90]},
    "random_pruning_imagenet": {"epochs": 100, "batch_size": 768, "lr": 0.4, "warmup_epochs": 5,
                                "label_smoothing": 0.1, "milestones": [30, 60, 80], "momentum": 0.9,
                                "weight_decay": 1e-4, "bn_weight_decay": False, "precision": "fp16"},
}
# the dense network of Random Pruning's ImageNet table trains 90 epochs (sparse ones 100)
RANDOM_PRUNING_DENSE = {"epochs": 90}


def recipe(name: str, **overrides: Any) -> dict[str, Any]:
    """The recipe's TrainConfig overrides, with `overrides` on top."""
    if name not in RECIPES:
        raise UserError(f"unknown training recipe {name!r}; known: {', '.join(RECIPES)}")
    return {**RECIPES[name], **overrides}
