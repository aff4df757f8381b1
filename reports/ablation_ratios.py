"""The seed paper's appendix ablation of layer-wise ratios: random tickets whose keep ratios ascend,
or decay linearly, quadratically (the smart ratios), cubically, or stay uniform (classifier 0.3),
on CIFAR-10 with VGG19 and ResNet32 (studies/ablation_ratios.py). Each row is one `rule` of
random_tickets, selected by the run's variant ("" is the default rule, smart)."""
from registry.report import Group, Report, Row

from ._common import CHANCE, MODELS, sparsity_axis

RULES = {  # rule -> printed label, in the order of the decay rate
    "ascend": "Ascending (l² + l)",
    "smart_uniform": "Uniform (classifier 0.3)",
    "linear": "Linear decay",
    "smart": "Smart ratios (quadratic decay)",
    "cubic": "Cubic decay",
}


def _rule_row(rule: str, label: str) -> Row:
    variant = "" if rule == "smart" else f"rule={rule}"  # the domain's variant label of a non-default rule
    return Row(rule, label, {"method": "random_tickets", "check": "none", "variant": variant})


REPORT = Report(
    name="ablation_ratios",
    title="Ablation of the layer-wise keep ratios of random tickets on CIFAR-10",
    caption="Test accuracy (%) of random tickets on CIFAR-10 with ascending, uniform and decaying keep ratios "
            "of different rates (appendix ablation of the seed paper), mean ± std over seeds.",
    filters={"dataset": "cifar10", "model": ["resnet32", "vgg19"]},
    columns=(sparsity_axis(),),
    groups=tuple(Group(MODELS[m], {"model": m}) for m in ("resnet32", "vgg19")),
    rows=(Row("full", "{group} (Full Network)", {"method": "dense", "check": "none", "variant": ""},
              reference=True, seeds=3),
          *(_rule_row(rule, label) for rule, label in RULES.items())),
    row_title="Keep ratios",
    seeds=3,
    chance=CHANCE,
    study="studies/ablation_ratios.py",
)

