"""CIFAR ResNet depths beyond the seed paper's: `resnet44`, the one depth of the Random Pruning
paper's sweep (20, 32, 44, 56, 110; the released code's `cifar_resnet_N`) that `resnet.py` does not
register. Same network class, `width` and `block` options as He et al.'s depths in `resnet.py`
(BasicBlock, 16-32-64 by default); a new name, so its defaults are its identity defaults."""
from __future__ import annotations

from tickets.models.base import register_model
from tickets.models.resnet import _resnet, _structure, describe

STANDARD_WIDTH = 16

for _depth in (44,):
    register_model(f"resnet{_depth}", family="resnet", options={"width": STANDARD_WIDTH, "block": "basic"},
                   structure=lambda options, d=_depth: {"depth": d, **_structure(d, options)},
                   description=f"CIFAR ResNet-{_depth}, {describe(_depth, STANDARD_WIDTH, 'basic')} "
                               f"(He et al.; the Random Pruning paper's depth sweep)")(
        _resnet(_depth, STANDARD_WIDTH))
