""""Rethinking the Value of Network Pruning", Table 6's ImageNet rows: non-structured magnitude pruning
of VGG-16 and ResNet-50 at 30 % / 60 %, Scratch-E and Scratch-B top-1 (%); the fine-tuned row is the
released README's, imported (`--compare paper`)."""
from registry.report import Group, Report, Row

from ._common import sparsity_axis

MODELS = {"vgg16_bn_imagenet": "VGG-16", "resnet50_imagenet": "ResNet-50"}

REPORT = Report(
    name="rethinking_imagenet_weight",
    title="Weight-level pruning on ImageNet: fine-tuned vs trained from scratch",
    caption="Top-1 accuracy (%) on ImageNet of VGG-16 (BN) and ResNet-50 magnitude-pruned by one global "
            "threshold (Han et al., 2015; Liu et al., 2019, Table 6), the mask trained from scratch for the "
            "large model's 90 epochs (Scratch-E) or its FLOPs budget (Scratch-B); fine-tuned values are the "
            "released code's.",
    filters={"dataset": "imagenet", "model": list(MODELS)},
    columns=(sparsity_axis((0.3, 0.6)),),
    groups=tuple(Group(label, {"model": m}) for m, label in MODELS.items()),
    rows=(Row("full", "Unpruned", {"method": "dense"}, reference=True),
          Row("finetune", "Fine-tuned", {"method": "finetune"}),
          Row("scratch_e", "Scratch-E", {"method": "scratch_e"}),
          Row("scratch_b", "Scratch-B", {"method": "scratch_b"})),
    row_title="Pipeline",
    seeds=1,
    chance={"imagenet": 0.1},
    study="studies/rethinking_imagenet_weight.py",
    paper="paper/rethinking_imagenet_weight.csv",
)
