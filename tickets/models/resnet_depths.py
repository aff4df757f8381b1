"""CIFAR ResNet depths beyond the seed paper's: `resnet44`, the one depth of the Random Pruning
paper's sweep (20, 32, 44, 56, 110; the released code's `cifar_resnet_N`) that `resnet.py` does not
register. Same network class and `width` option as the other depths (`tickets.models.resnet`)."""
from __future__ import annotations

from tickets.models.base import MODELS, register_model
from tickets.models.resnet import _resnet

for _depth in (44,):
    if f"resnet{_depth}" not in MODELS:  # resnet.py may register it itself one day
        _default = dict(MODELS.meta("resnet20")["options"]).get("width", 32)
        register_model(f"resnet{_depth}", family="resnet", options={"width": _default},
                       description=f"CIFAR ResNet-{_depth} (width = first-stage channels, as resnet20)")(
            _resnet(_depth))
