"""Training data resident on the device, batched and augmented there.

The reference implementation decodes PIL images in DataLoader workers every epoch; we move the
uint8 tensors to the training device once and do everything else there: a seeded permutation
per epoch, slicing, random crop with zero padding, horizontal flip, normalisation. Every random
draw comes from one `torch.Generator` owned by the run, so the data order and the augmentation
are a function of its state (which the checkpoint stores).

Batches: ceil(N / batch_size) per epoch; the last, partial batch is included (like a DataLoader
with drop_last=False), so no sample is ever dropped.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import torch
import torch.nn.functional as F

from registry.errors import UserError


def training_tensors(data: Any, train_view: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The (images, labels) to train on: `train_view` if given (an object with `x_train`/`y_train`
    or an `(x, y)` pair, e.g. a corrupted or halved training set), else `data.x_train/y_train`."""
    source = data if train_view is None else train_view
    if isinstance(source, (tuple, list)):
        x, y = source
    else:
        x, y = source.x_train, source.y_train
    return _checked(x, y, "training")


def _checked(x: torch.Tensor, y: torch.Tensor, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise UserError(f"{what} images must be a uint8 tensor [N,C,H,W], got {x.dtype} {tuple(x.shape)}")
    if y.dim() != 1 or len(y) != len(x):
        raise UserError(f"{what} labels must be a 1-D tensor with one label per image, "
                        f"got {tuple(y.shape)} for {len(x)} images")
    return x, y.long()


def normaliser(info: Any, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(scale, shift) with x_float = x_uint8 * scale + shift = (x / 255 - mean) / std."""
    mean = torch.tensor(info.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    std = torch.tensor(info.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
    return 1.0 / (255.0 * std), -mean / std


def normalise(x: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor,
              channels_last: bool = False) -> torch.Tensor:
    out = torch.addcmul(shift, x.float(), scale)
    if channels_last and out.dim() == 4:
        out = out.contiguous(memory_format=torch.channels_last)
    return out


def _draw(sample, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """Random draws happen on the generator's device, then move (no-op when they match)."""
    return sample(generator.device).to(device, non_blocking=True)


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Per-sample random crop of the original size from the image zero-padded by `padding` on
    every side (torchvision's RandomCrop(size, padding)): pad the whole batch once, then gather."""
    if padding <= 0:
        return x
    b, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    offsets = _draw(lambda d: torch.randint(0, 2 * padding + 1, (2, b), generator=generator, device=d),
                    generator, x.device)
    rows = (offsets[0, :, None] + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (offsets[1, :, None] + torch.arange(w, device=x.device)).view(b, 1, 1, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    chans = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, chans, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Flip each sample left-right with probability 1/2."""
    flip = _draw(lambda d: torch.rand(x.shape[0], generator=generator, device=d), generator, x.device) < 0.5
    return torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)


class DeviceLoader:
    """One training set on one device; `batches(generator)` is one pass (one epoch) over it."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, info: Any, batch_size: int, device: torch.device,
                 augment: bool = False, channels_last: bool = False):
        self.device = torch.device(device)
        self.x = x.to(self.device)
        self.y = y.to(self.device)
        self.batch_size = int(batch_size)
        self.padding = int(getattr(info, "crop_padding", 0) or 0) if augment else 0
        self.channels_last = channels_last
        self.scale, self.shift = normaliser(info, self.device)

    @property
    def num_samples(self) -> int:
        return len(self.y)

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    def order(self, generator: torch.Generator | None) -> torch.Tensor | None:
        if generator is None:
            return None
        return _draw(lambda d: torch.randperm(self.num_samples, generator=generator, device=d),
                     generator, self.device)

    def batches(self, generator: torch.Generator | None = None,
                shuffle: bool = True) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield normalised float batches (x, y) on the device. Without a generator the order is
        sequential and augmentation is off (it needs random draws)."""
        perm = self.order(generator) if shuffle else None
        for start in range(0, self.num_samples, self.batch_size):
            if perm is None:
                xb, yb = self.x[start:start + self.batch_size], self.y[start:start + self.batch_size]
            else:
                idx = perm[start:start + self.batch_size]
                xb, yb = self.x[idx], self.y[idx]
            if self.padding and generator is not None:
                xb = random_flip(random_crop(xb, self.padding, generator), generator)
            yield normalise(xb, self.scale, self.shift, self.channels_last), yb

    __iter__ = batches


def make_loader(data: Any, batch_size: int, *, device: Any = None, augment: bool = False,
                train_view: Any = None, channels_last: bool = False) -> DeviceLoader:
    """A `DeviceLoader` over the training set of `data` (or `train_view`), normalised with
    `data.info`'s mean/std; `augment` applies crop+flip only where `info.crop_padding > 0`."""
    x, y = training_tensors(data, train_view)
    return DeviceLoader(x, y, data.info, batch_size, _device(device), augment, channels_last)


def iterate_batches(data: Any, batch_size: int, *, generator: torch.Generator | None = None,
                    device: Any = None, augment: bool = False, train_view: Any = None,
                    shuffle: bool = True, channels_last: bool = False
                    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One pass over the (possibly corrupted) training data, e.g. for SNIP/GraSP scoring."""
    loader = make_loader(data, batch_size, device=device, augment=augment, train_view=train_view,
                         channels_last=channels_last)
    return loader.batches(generator, shuffle=shuffle)


def eval_batches(data: Any, batch_size: int, device: torch.device,
                 channels_last: bool = False) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The true test set in order, normalised, without augmentation."""
    x, y = _checked(data.x_test, data.y_test, "test")
    return DeviceLoader(x, y, data.info, batch_size, device, False, channels_last).batches(None)


def _device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
