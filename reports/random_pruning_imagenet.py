"""The Random Pruning paper on ImageNet (studies/random_pruning_imagenet.py): top-1 accuracy of the dense
and randomly pruned Wide ResNet-50-2 and ResNet-50 (ERK, ERK+, uniform) at sparsity 0.7/0.8/0.9.
`--metric test_top5` shows top-5. No `--compare paper` file: the paper's ImageNet figures could not
be read here (its text was not at hand and the released README prints no accuracies), so none is
shipped rather than values from memory."""
from registry.report import Group, Report, Row

from ._common import sparsity_axis

RULE = "spec.method.rule"
RULES = (("erk", "ERK"), ("erk_plus", "ERK+"), ("uniform", "Uniform"))
MODELS = {"wide_resnet50_2_imagenet": "Wide ResNet-50-2", "resnet50_imagenet": "ResNet-50"}

REPORT = Report(
    name="random_pruning_imagenet",
    title="Random pruning vs dense on ImageNet",
    caption="Top-1 accuracy (%) on the ImageNet validation set of Wide ResNet-50-2 and ResNet-50 trained dense "
            "(90 epochs) or sparse from a random mask fixed at initialisation (100 epochs) with the ERK, ERK+ "
            "(classifier dense) and uniform layer ratios; the released code's recipe (batch 768, lr 0.4, "
            "5 warmup epochs, label smoothing 0.1, fp16). One run per cell.",
    filters={"dataset": "imagenet", "model": list(MODELS)},
    columns=(sparsity_axis((0.7, 0.8, 0.9)),),
    groups=tuple(Group(label, {"model": m}) for m, label in MODELS.items()),
    rows=(Row("dense", "{group} (dense)", {"method": "dense", "check": "none"}, reference=True),
          *(Row(r, label, {"method": "random_tickets", RULE: r, "check": "none"}) for r, label in RULES)),
    seeds=1,
    chance={"imagenet": 0.1},
    study="studies/random_pruning_imagenet.py",
)
