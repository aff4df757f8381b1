"""What a dataset is, independent of where its files are: shape, classes, normalisation, augmentation.

`DatasetInfo` is all a model or a training loop needs to know about a dataset before loading it;
`TensorData` is the decoded dataset, held in memory as uint8 images and int64 labels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported lazily: `tickets datasets` lists infos without it
    import torch


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    channels: int
    size: int  # images are size x size
    num_classes: int
    mean: tuple[float, ...]  # per channel, on the [0, 1] scale
    std: tuple[float, ...]
    crop_padding: int = 0  # 0 = no random-crop/flip augmentation

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.size, self.size)

    def describe_shape(self) -> str:
        return f"{self.channels}x{self.size}x{self.size}"


@dataclass(frozen=True)
class TensorData:
    """A decoded dataset: uint8 images [N, C, H, W] and int64 labels [N] for each split."""

    info: DatasetInfo
    x_train: "torch.Tensor"
    y_train: "torch.Tensor"
    x_test: "torch.Tensor"
    y_test: "torch.Tensor"

    def __repr__(self) -> str:
        return (f"TensorData({self.info.name}: train {tuple(self.x_train.shape)}, "
                f"test {tuple(self.x_test.shape)}, {self.info.num_classes} classes)")
