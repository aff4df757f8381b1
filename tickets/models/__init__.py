"""Networks of the paper and their families, looked up by name.

    model = build_model("resnet32", dataset_info("cifar10"))     # width=32: the paper's 2x ResNet
    for name, layer in prunable_layers(model): ...                # conv + linear, classifier last

Importing this package does not import torch: the model modules (vgg, resnet, lenet, wrn, mlp,
structured) load on the registry's first use, and names, options and layer shapes of the built-in
models come from `tickets.models.catalog` until then."""
from tickets.models.base import (
    FAMILIES,
    MODELS,
    build_model,
    check_compatible,
    compatible,
    count_prunable,
    layer_shapes,
    model_family,
    model_identity_defaults,
    model_names,
    model_options,
    model_structure,
    prunable_layers,
    prunable_weights,
    register_model,
)

__all__ = [
    "FAMILIES", "MODELS", "build_model", "check_compatible", "compatible", "count_prunable", "layer_shapes",
    "model_family", "model_identity_defaults", "model_names", "model_options", "model_structure", "prunable_layers", "prunable_weights",
    "register_model",
]
