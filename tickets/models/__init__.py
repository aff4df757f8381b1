"""Networks of the paper and their families, looked up by name.

    model = build_model("resnet32", dataset_info("cifar10"))     # width=32: the paper's 2x ResNet
    for name, layer in prunable_layers(model): ...                # conv + linear, classifier last
"""
from tickets.models.base import (
    FAMILIES,
    MODELS,
    build_model,
    check_compatible,
    compatible,
    count_prunable,
    model_family,
    model_identity_defaults,
    model_names,
    model_options,
    model_structure,
    prunable_layers,
    prunable_weights,
    register_model,
)
from tickets.models import vgg, resnet, lenet, wrn, mlp  # noqa: F401,I001  (fill the registry; listing order)
from tickets.models import structured  # noqa: F401,E402  (channel-configurable networks for structured pruning)
from tickets.models import imagenet  # noqa: F401,E402  (torchvision-built ImageNet networks, *_imagenet)

__all__ = [
    "FAMILIES", "MODELS", "build_model", "check_compatible", "compatible", "count_prunable",
    "model_family", "model_identity_defaults", "model_names", "model_options", "model_structure", "prunable_layers", "prunable_weights",
    "register_model",
]
