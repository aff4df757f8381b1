"""VGG for small images as in the paper: conv (with bias) + BN + ReLU, four max-pools (no fifth),
average pooling over what remains of the feature map, and one linear classifier.

`width` multiplies every conv's channel count (default 1.0 = the paper). With 10 classes vgg19
has 20,024,000 conv + linear weights. The final pooling covers the remaining feature map: 2x2 at
32x32 input (AvgPool2d(2) as in the paper), 4x4 at 64x64, 1x1 at 28x28."""
from __future__ import annotations

import math

import torch
from torch import nn

from registry.errors import UserError
from tickets.data.info import DatasetInfo
from tickets.models.base import register_model

CONFIGS: dict[int, list[int | str]] = {
    11: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512],
    13: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512],
    16: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512],
    19: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
         512, 512, 512, 512],
}


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


class VGG(nn.Module):
    def __init__(self, config: list[int | str], in_channels: int, size: int, num_classes: int,
                 width: float = 1.0):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(2, 2))
                size //= 2
            else:
                out = _scaled(int(item), width)
                layers += [nn.Conv2d(channels, out, 3, padding=1, bias=True),
                           nn.BatchNorm2d(out), nn.ReLU(inplace=True)]
                channels = out
        if size < 1:
            raise UserError("VGG needs input of at least 16x16 (four 2x2 max-pools)")
        self.features = nn.Sequential(*layers)
        self.pool = nn.AvgPool2d(size)
        self.classifier = nn.Linear(channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Conv N(0, sqrt(2 / (k·k·in_channels))) zero bias, BN 1/0, Linear N(0, 0.01) zero bias."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                k_h, k_w = m.kernel_size
                nn.init.normal_(m.weight, 0.0, math.sqrt(2.0 / (k_h * k_w * m.in_channels)))
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0.0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def _vgg(depth: int):
    def build(info: DatasetInfo, width: float = 1.0) -> nn.Module:
        if isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0:
            raise UserError(f"vgg{depth} option width must be a positive channel multiplier "
                            f"(1.0 = the paper), got {width!r}")
        return VGG(CONFIGS[depth], info.channels, info.size, info.num_classes, width=float(width))

    build.__name__ = f"vgg{depth}"
    build.__doc__ = f"VGG-{depth} with BN, four max-pools, average pooling and one linear layer."
    return build


for _depth in (11, 13, 16, 19):
    register_model(f"vgg{_depth}", family="vgg", options={"width": 1.0},
                   description=f"VGG-{_depth} with BN, four max-pools, avg-pool, one linear layer")(
        _vgg(_depth))
