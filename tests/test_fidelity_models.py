"""Model names mean what the field means (docs/FIDELITY.md item 8), counted independently."""
from __future__ import annotations

from tickets.data import dataset_info
from tickets.domain import DOMAIN
from tickets.models import build_model, count_prunable, model_structure, prunable_weights

CIFAR10 = dataset_info("cifar10")


def basic_resnet_weights(depth, width, classes=10, in_ch=3):
    """He et al.'s CIFAR ResNet with 1x1 projection shortcuts where the shape changes."""
    n = (depth - 2) // 6
    total, prev = in_ch * width * 9, width
    for stage, planes in enumerate((width, 2 * width, 4 * width)):
        for b in range(n):
            total += prev * planes * 9 + planes * planes * 9
            if prev != planes:
                total += prev * planes
            prev = planes
    return total + prev * classes


def seed_bottleneck_weights(depth, classes=10):
    """The seed code's models/resnet.py for depth >= 54: planes 32/64/128, expansion 4, a 1x1
    downsample on every stage's first block (channel count changes there), fc over 512 features."""
    n = (depth - 2) // 6
    total, inplanes = 3 * 32 * 9, 32
    for planes in (32, 64, 128):
        for b in range(n):
            total += inplanes * planes + planes * planes * 9 + planes * planes * 4
            if b == 0:
                total += inplanes * planes * 4
            inplanes = planes * 4
    return total + 512 * classes


def test_standard_names_are_he_et_al_and_resnet32_is_the_seed_papers():
    assert count_prunable(build_model("resnet56", CIFAR10)) == basic_resnet_weights(56, 16) == 851_504
    assert count_prunable(build_model("resnet110", CIFAR10)) == basic_resnet_weights(110, 16)
    assert count_prunable(build_model("resnet20", CIFAR10)) == basic_resnet_weights(20, 16)
    assert count_prunable(build_model("resnet32", CIFAR10)) == basic_resnet_weights(32, 32) == 1_855_584
    assert model_structure("resnet56") == {"depth": 56, "block": "basic", "widths": [16, 32, 64]}
    assert model_structure("resnet32") == {"depth": 32, "block": "basic", "widths": [32, 64, 128]}


def test_seed_code_bottleneck_variant_by_option():
    for depth in (56, 110):
        net = build_model(f"resnet{depth}", CIFAR10, block="bottleneck", width=32)
        assert count_prunable(net) == seed_bottleneck_weights(depth)
    names = [n for n, _ in prunable_weights(build_model("resnet56", CIFAR10, block="bottleneck", width=32))]
    assert names[1:6] == ["layer1.0.conv1.weight", "layer1.0.conv2.weight", "layer1.0.conv3.weight",
                          "layer1.0.shortcut.0.weight", "layer1.1.conv1.weight"]
    assert model_structure("resnet110", {"block": "bottleneck", "width": 32})["widths"] == [128, 256, 512]


def test_old_keys_keep_their_old_network():
    def keys(model, **options):
        cell = {"dataset": "cifar10", "model": model, "method": "lt", "sparsity": 0.9, "seed": 0,
                "model_options": options}
        return [s.key for s in DOMAIN.expand(cell)]

    # pinned from main before names were fixed: resnet32 unchanged; resnet56 then meant width 32
    assert keys("resnet32") == ["0ca71093f680644d", "7a36ebf5cdd6e040"]
    assert keys("resnet56", width=32) == ["4095239be53d4095", "be5a6ec6b628e28f"]
    assert keys("resnet56") != keys("resnet56", width=32)
    assert keys("resnet56") == keys("resnet56", width=16)
    variant = DOMAIN.expand({"dataset": "cifar10", "model": "resnet56", "method": "lt", "sparsity": 0.9})
    assert variant[-1].columns["variant"] == ""  # the standard network is nobody's ablation
