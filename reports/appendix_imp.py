"""IMP against one-shot LT under the sanity checks, on CIFAR-10 (studies/appendix_imp_oneshot.py):
does iterating the prune-retrain loop help an initial ticket? Rows are method × check."""
from registry.report import Group, Report

from ._common import CHANCE, MODELS, full_network, method, sparsity_axis

CHECKS = {"none": "original", "corrupt": "corrupted data", "rearrange": "layerwise rearrange"}
METHODS = {"lt": "LT (one-shot)", "imp": "IMP (5 rounds)"}

REPORT = Report(
    name="appendix_imp",
    title="Iterative magnitude pruning against one-shot LT under the sanity checks (CIFAR-10)",
    caption="Test accuracy (%) of LT (one-shot) and IMP tickets of VGG19 and ResNet32 on CIFAR-10, pruned with "
            "the original or corrupted data or layerwise rearranged, mean ± std over seeds.",
    filters={"dataset": "cifar10", "model": ["resnet32", "vgg19"], "variant": ""},
    columns=(sparsity_axis(),),
    groups=tuple(Group(MODELS[m], {"model": m}) for m in ("resnet32", "vgg19")),
    rows=(full_network(), *(method(f"{m}/{c}" if c != "none" else m, f"{label} ({CHECKS[c]})", m, check=c)
                            for m, label in METHODS.items() for c in CHECKS)),
    row_title="Method (check)",
    seeds=3,
    chance=CHANCE,
    study="studies/appendix_imp_oneshot.py",
)
