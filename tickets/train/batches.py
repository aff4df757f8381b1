"""Training data resident on the device, batched and augmented there.

The reference implementation decodes PIL images in DataLoader workers every epoch; we move the
uint8 tensors to the training device once and do everything else there: a seeded permutation
per epoch, slicing, random crop with zero padding, horizontal flip, normalisation. Every random
draw comes from one `torch.Generator` owned by the run, so the data order and the augmentation
are a function of its state (which the checkpoint stores).

Batches: ceil(N / batch_size) per epoch; the last, partial batch is included (like a DataLoader
with drop_last=False), so no sample is ever dropped.

The interface both data paths share (this `DeviceLoader`; `tickets.train.streaming.StreamingLoader`
for file-backed datasets): `num_samples`, `len()` = global batches per epoch, and
`batches(generator, shuffle=True, *, start=0, rank=0, world=1)`:
- the epoch's order is one `randperm(N)` drawn from `generator` (identical on every rank);
- global batch b covers perm[b*B:(b+1)*B]; rank r of `world` takes `tensor_split(idx, world)[r]`;
- augmentation draws are made for the whole GLOBAL batch from the run's generator, in the order an
  unsharded epoch makes them, and the rank's slice is taken, so crops/flips do not depend on the
  world size, and world=1 is exactly the single-process path;
- `start=b` yields batches b, b+1, ... exactly as an uninterrupted epoch would: the caller passes the
  generator in the state it had at the START of the epoch (before the permutation; a mid-epoch
  checkpoint stores that state and b), the loader redraws the permutation and replays the (cheap)
  crop/flip draws of batches < b without gathering or augmenting any image. After the epoch the
  generator is in the same state as after an uninterrupted one.
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


def crop_offsets(count: int, padding: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """The [2, count] (row, column) offsets `random_crop` draws for `count` samples."""
    return _draw(lambda d: torch.randint(0, 2 * padding + 1, (2, count), generator=generator, device=d),
                 generator, device)


def flip_draws(count: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """The [count] booleans `random_flip` draws (True = flip)."""
    return _draw(lambda d: torch.rand(count, generator=generator, device=d), generator, device) < 0.5


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator | None,
                offsets: torch.Tensor | None = None) -> torch.Tensor:
    """Per-sample random crop of the original size from the image zero-padded by `padding` on
    every side (torchvision's RandomCrop(size, padding)): pad the whole batch once, then gather.
    `offsets` (from `crop_offsets`) replaces the draw, e.g. a rank's slice of a global batch's."""
    if padding <= 0:
        return x
    b, c, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    if offsets is None:
        offsets = crop_offsets(b, padding, generator, x.device)
    rows = (offsets[0, :, None] + torch.arange(h, device=x.device)).view(b, 1, h, 1)
    cols = (offsets[1, :, None] + torch.arange(w, device=x.device)).view(b, 1, 1, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1, 1)
    chans = torch.arange(c, device=x.device).view(1, c, 1, 1)
    return padded[batch, chans, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator | None,
                flip: torch.Tensor | None = None) -> torch.Tensor:
    """Flip each sample left-right with probability 1/2 (`flip` from `flip_draws` replaces the draw)."""
    if flip is None:
        flip = flip_draws(x.shape[0], generator, x.device)
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

    def batches(self, generator: torch.Generator | None = None, shuffle: bool = True, *,
                start: int = 0, rank: int = 0, world: int = 1) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield normalised float batches (x, y) on the device: global batches `start`, `start+1`, ...
        of the epoch, rank `rank`'s contiguous share of each (module docstring). Without a generator
        the order is sequential and augmentation is off (it needs random draws)."""
        check_shard(start, rank, world, len(self))
        perm = self.order(generator) if shuffle else None
        augment = bool(self.padding) and generator is not None
        for b in range(len(self)):
            lo = b * self.batch_size
            hi = min(lo + self.batch_size, self.num_samples)
            if b < start:  # resume: advance the generator exactly as this batch would have
                if augment:
                    crop_offsets(hi - lo, self.padding, generator, self.device)
                    flip_draws(hi - lo, generator, self.device)
                continue
            part = shard_range(hi - lo, rank, world)
            if perm is None:
                xb, yb = self.x[lo + part.start:lo + part.stop], self.y[lo + part.start:lo + part.stop]
            else:
                idx = perm[lo:hi][part]
                xb, yb = self.x[idx], self.y[idx]
            if augment:
                if world == 1:
                    xb = random_flip(random_crop(xb, self.padding, generator), generator)
                else:  # draw for the whole global batch, apply the rank's slice
                    offsets = crop_offsets(hi - lo, self.padding, generator, self.device)[:, part]
                    flip = flip_draws(hi - lo, generator, self.device)[part]
                    xb = random_flip(random_crop(xb, self.padding, None, offsets), None, flip)
            yield normalise(xb, self.scale, self.shift, self.channels_last), yb

    __iter__ = batches


def shard_range(count: int, rank: int, world: int) -> slice:
    """Rank `rank`'s contiguous part of `count` items, as `torch.tensor_split(range(count), world)[rank]`
    (the first count % world ranks get one more)."""
    base, extra = divmod(count, world)
    lo = rank * base + min(rank, extra)
    return slice(lo, lo + base + (1 if rank < extra else 0))


def check_shard(start: int, rank: int, world: int, batches: int) -> None:
    if world < 1 or not 0 <= rank < world:
        raise UserError(f"rank {rank} of world size {world}: need world >= 1 and 0 <= rank < world")
    if not 0 <= start <= batches:
        raise UserError(f"start batch {start} is outside the epoch's 0..{batches} batches")


def is_streaming(data: Any) -> bool:
    """File-backed datasets (ImageNet, image folders) stream; TensorData stays on the device."""
    return bool(getattr(data, "streaming", False))


def make_loader(data: Any, batch_size: int, *, device: Any = None, augment: bool = False,
                train_view: Any = None, channels_last: bool = False, **options: Any):
    """The training loader of `data` (or `train_view`), normalised with `data.info`'s mean/std: a
    `DeviceLoader` for tensors (`augment` = crop+flip where `info.crop_padding > 0`), a
    `StreamingLoader` for a file-backed dataset (`options`: num_workers, loader, ...)."""
    if is_streaming(data) or is_streaming(train_view):
        from tickets.train.streaming import StreamingLoader

        return StreamingLoader(data if train_view is None else train_view, batch_size, device=_device(device),
                               train=True, augment=augment, channels_last=channels_last, **options)
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


def eval_batches(data: Any, batch_size: int, device: torch.device, channels_last: bool = False, *,
                 rank: int = 0, world: int = 1, **options: Any) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """The true test set in order, normalised, without augmentation; with `world > 1` rank `rank`
    gets its contiguous `tensor_split` share of the whole set (the caller all-reduces sums)."""
    if is_streaming(data):
        from tickets.train.streaming import StreamingLoader

        loader = StreamingLoader(data, batch_size, device=torch.device(device), train=False,
                                 channels_last=channels_last, **options)
        return loader.eval_batches(rank=rank, world=world)
    x, y = _checked(data.x_test, data.y_test, "test")
    if world > 1:
        check_shard(0, rank, world, 0)
        part = shard_range(len(y), rank, world)
        x, y = x[part], y[part]
    return DeviceLoader(x, y, data.info, batch_size, device, False, channels_last).batches(None)


def num_test_samples(data: Any) -> int:
    """Size of the true test set of either kind of dataset."""
    return data.num_test if is_streaming(data) else len(data.y_test)


def _device(device: Any) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
