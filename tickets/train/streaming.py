"""The streaming data path: file-backed datasets (ImageNet, image folders) decoded while training.

Same interface as `DeviceLoader` (tickets/train/batches.py): `num_samples`, `len()`,
`batches(generator, shuffle=True, *, start=0, rank=0, world=1)`, plus `eval_batches(rank, world)`.

Order and augmentation are a pure function of the run's generator and a sample's position:
- the epoch draws `perm = randperm(N, generator)` and then one integer `epoch_seed` from it;
- the sample at position p of the epoch (global batch p // B) takes its RandomResizedCrop box
  (scale 0.08-1, ratio 3/4-4/3, torchvision's algorithm) and its flip from
  `random.Random(mix(epoch_seed, p))`; the box depends only on the image's size, known before
  decoding. So batches are identical at any DataLoader worker count, rank/world size, or resume
  point (`start` skips batches without opening their files).

Two ways to make a batch (`loader=`; a TrainConfig option that enters a run key only when not the
default "reference", because the two decode and resample differently):
- "reference": torchvision-style, DataLoader workers open each file with PIL and apply
  torchvision.transforms.functional resized_crop + hflip (train) or resize(S·256/224) + center_crop
  (eval); uint8 batches, pinned when the target is CUDA, normalised on the device.
- "gpu": workers only read the files' bytes; the batch is decoded with torchvision.io.decode_jpeg
  on the training device (nvJPEG on CUDA; the same call on CPU tensors on a CPU) and cropped,
  resized (antialiased bilinear), flipped and normalised there, with the same per-sample boxes.
Worker count: the `num_workers` argument, else $TICKETS_LOADER_WORKERS, else min(8, CPUs) (it never
changes a result, so it is not part of any run key).

A file that cannot be decoded stops the pass with one line naming it (UserError), from any worker."""
from __future__ import annotations

import math
import os
import random
from typing import Any, Iterator, Sequence

import torch

from registry.errors import UserError
from tickets.train.batches import check_shard, normalise, normaliser, shard_range

LOADERS = ("reference", "gpu")
SCALE, RATIO = (0.08, 1.0), (3.0 / 4.0, 4.0 / 3.0)
MASK63 = (1 << 63) - 1


def default_workers() -> int:
    raw = os.environ.get("TICKETS_LOADER_WORKERS", "").strip()
    if raw:
        try:
            return max(int(raw), 0)
        except ValueError:
            raise UserError(f"TICKETS_LOADER_WORKERS must be a whole number, got {raw!r}") from None
    return min(8, os.cpu_count() or 1)


def mix(seed: int, position: int) -> int:
    """A 63-bit seed for (seed, position) (splitmix64 finaliser: neighbouring positions decorrelate)."""
    z = (int(seed) + 0x9E3779B97F4A7C15 * (int(position) + 1)) & ((1 << 64) - 1)
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & ((1 << 64) - 1)
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & ((1 << 64) - 1)
    return (z ^ (z >> 31)) & MASK63


def crop_box(rng: random.Random, height: int, width: int) -> tuple[int, int, int, int]:
    """(top, left, h, w) of a RandomResizedCrop, torchvision's get_params with `rng`'s draws."""
    area = height * width
    log_ratio = (math.log(RATIO[0]), math.log(RATIO[1]))
    for _ in range(10):
        target = area * rng.uniform(*SCALE)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    ratio = width / height
    if ratio < RATIO[0]:
        w, h = width, int(round(width / RATIO[0]))
    elif ratio > RATIO[1]:
        h, w = height, int(round(height * RATIO[1]))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


def sample_draws(epoch_seed: int | None, position: int, height: int, width: int):
    """The crop box and flip of the sample at `position`, or None when not augmenting."""
    if epoch_seed is None:
        return None
    rng = random.Random(mix(epoch_seed, position))
    box = crop_box(rng, height, width)
    return box, rng.random() < 0.5


def resize_size(size: int) -> int:
    """The eval resize of the shorter side: 256 for 224 crops (the ImageNet convention), scaled."""
    return int(round(size * 256 / 224))


def permute_pixels(img: torch.Tensor, pixel_seed: int | None, index: int) -> torch.Tensor:
    """The `random_pixels` check: the image's C·H·W values reordered by its own permutation."""
    if pixel_seed is None:
        return img
    g = torch.Generator().manual_seed(mix(pixel_seed, index))
    perm = torch.randperm(img.numel(), generator=g).to(img.device)
    return img.reshape(-1)[perm].view(img.shape)


# ------------------------------------------------------------------ what a worker does per batch

class BatchReader(torch.utils.data.Dataset):
    """Map-style dataset whose "index" is a whole batch request:
    (positions, file indices, epoch_seed or None, train?) -> dict with uint8 images or raw bytes."""

    def __init__(self, files: Sequence[str], labels: Sequence[int], size: int, mode: str,
                 pixel_seed: int | None = None):
        self.files, self.labels, self.size, self.mode = files, labels, int(size), mode
        self.pixel_seed = pixel_seed

    def __len__(self) -> int:  # not used for sampling (the sampler yields requests)
        return len(self.files)

    def __getitem__(self, request):
        positions, indices, epoch_seed, train = request
        labels = torch.tensor([self.labels[i] for i in indices], dtype=torch.int64)
        try:
            if self.mode == "gpu":
                return {"bytes": [self._bytes(i) for i in indices], "labels": labels}
            images = torch.stack([self._decode(p, i, epoch_seed, train) for p, i in zip(positions, indices)]) \
                if len(indices) else torch.empty((0, 3, self.size, self.size), dtype=torch.uint8)
        except _BadFile as bad:
            return {"error": str(bad)}
        return {"images": images, "labels": labels}

    def _bytes(self, i: int) -> torch.Tensor:
        try:
            with open(self.files[i], "rb") as fh:
                raw = fh.read()
        except OSError as exc:
            raise _BadFile(f"cannot read image {self.files[i]}: {exc}") from None
        return torch.frombuffer(bytearray(raw), dtype=torch.uint8)

    def _decode(self, position: int, i: int, epoch_seed: int | None, train: bool) -> torch.Tensor:
        import torchvision.transforms.functional as TF
        from PIL import Image

        path = self.files[i]
        try:
            with Image.open(path) as im:
                width, height = im.size
                im = im.convert("RGB")
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError ... on bad files
            raise _BadFile(f"cannot decode image {path}: {type(exc).__name__}: {exc}") from None
        s = self.size
        draws = sample_draws(epoch_seed, position, height, width) if train else None
        if draws is not None:
            (top, left, h, w), flip = draws
            im = TF.resized_crop(im, top, left, h, w, [s, s], TF.InterpolationMode.BILINEAR)
            if flip:
                im = TF.hflip(im)
        else:
            im = TF.center_crop(TF.resize(im, resize_size(s), TF.InterpolationMode.BILINEAR), [s, s])
        return permute_pixels(TF.pil_to_tensor(im), self.pixel_seed, i)  # set for a checked train view


class _BadFile(Exception):
    pass


class _Requests(torch.utils.data.Sampler):
    """Yields the current pass's batch requests (set before each iteration; lives in the main process)."""

    def __init__(self):
        self.requests: list = []

    def __iter__(self):
        return iter(self.requests)

    def __len__(self) -> int:
        return len(self.requests)


def _worker_init(_worker_id: int) -> None:
    torch.set_num_threads(1)


# ------------------------------------------------------------------ the loader

class StreamingLoader:
    """One split of a `FileData` streamed to `device`; `batches(generator)` is one epoch."""

    def __init__(self, data: Any, batch_size: int, *, device: torch.device, train: bool = True,
                 augment: bool = True, channels_last: bool = False, num_workers: int | None = None,
                 loader: str = "reference", pin_memory: bool | None = None, prefetch: int = 2):
        if loader not in LOADERS:
            raise UserError(f"unknown loader {loader!r}; known: {', '.join(LOADERS)}")
        self.data, self.info = data, data.info
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.train, self.augment, self.channels_last, self.mode = train, augment, channels_last, loader
        self.files = data.train_files if train else data.test_files
        self.labels = data.train_labels if train else data.test_labels
        self.num_workers = default_workers() if num_workers is None else int(num_workers)
        self.pin = self.device.type == "cuda" if pin_memory is None else bool(pin_memory)
        self.prefetch = prefetch
        self.scale, self.shift = normaliser(self.info, self.device)
        self.reader = BatchReader(self.files, self.labels, self.info.size, loader,
                                  data.pixel_seed if train else None)
        self._requests = _Requests()
        self._dataloader = None

    @property
    def num_samples(self) -> int:
        return len(self.files)

    def __len__(self) -> int:
        return math.ceil(self.num_samples / self.batch_size)

    # -- order ------------------------------------------------------------------------------
    def epoch_draws(self, generator: torch.Generator | None, shuffle: bool) -> tuple[list[int], int | None]:
        """(sample order, epoch_seed): the permutation, then one integer, from the run's generator."""
        n = self.num_samples
        if generator is None:
            return list(range(n)), None
        order = (torch.randperm(n, generator=generator, device=generator.device).tolist() if shuffle
                 else list(range(n)))
        epoch_seed = None
        if self.augment:
            epoch_seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator, device=generator.device).item())
        return order, epoch_seed

    def requests(self, order: list[int], epoch_seed: int | None, start: int, rank: int, world: int,
                 train: bool) -> list:
        out = []
        for b in range(start, len(self)):
            lo, hi = b * self.batch_size, min((b + 1) * self.batch_size, self.num_samples)
            part = shard_range(hi - lo, rank, world)
            positions = list(range(lo + part.start, lo + part.stop))
            out.append((positions, [order[p] for p in positions], epoch_seed, train))
        return out

    def batches(self, generator: torch.Generator | None = None, shuffle: bool = True, *,
                start: int = 0, rank: int = 0, world: int = 1) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """One epoch: global batches `start`, ... (rank `rank`'s share of each), normalised on the
        device. Without a generator: sequential order, eval transform (no random draws)."""
        check_shard(start, rank, world, len(self))
        order, epoch_seed = self.epoch_draws(generator, shuffle)
        train = self.train and epoch_seed is not None
        return self._run(self.requests(order, epoch_seed, start, rank, world, train))

    def eval_batches(self, rank: int = 0, world: int = 1) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The split in order with the eval transform; rank's contiguous share of the whole split."""
        check_shard(0, rank, world, 0)
        part = shard_range(self.num_samples, rank, world)
        indices = list(range(part.start, part.stop))
        requests = [(indices[k:k + self.batch_size], indices[k:k + self.batch_size], None, False)
                    for k in range(0, len(indices), self.batch_size)]
        return self._run(requests)

    __iter__ = batches

    # -- making batches ---------------------------------------------------------------------
    def _loader(self):
        if self._dataloader is None:
            workers = self.num_workers
            extra = {"prefetch_factor": self.prefetch, "persistent_workers": True,
                     "worker_init_fn": _worker_init} if workers > 0 else {}
            self._dataloader = torch.utils.data.DataLoader(
                self.reader, batch_size=None, sampler=self._requests, num_workers=workers,
                pin_memory=self.pin and self.mode == "reference", collate_fn=_identity, **extra)
        return self._dataloader

    def _run(self, requests: list) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        if not requests:
            return
        self._requests.requests = requests
        for request, item in zip(requests, self._loader()):
            if "error" in item:
                raise UserError(item["error"])
            yb = item["labels"].to(self.device, non_blocking=True)
            if self.mode == "gpu":
                xb = self._gpu_batch(request, item["bytes"])
            else:
                xb = item["images"].to(self.device, non_blocking=True)
            yield normalise(xb, self.scale, self.shift, self.channels_last), yb

    def _gpu_batch(self, request, raw: list[torch.Tensor]) -> torch.Tensor:
        from tickets.train.gpu_decode import decode_batch, transform_batch

        positions, indices, epoch_seed, train = request
        images = decode_batch(raw, [self.files[i] for i in indices], self.device)
        pixel_seed = self.reader.pixel_seed
        return transform_batch(images, positions, indices, epoch_seed if train else None, self.info.size,
                               pixel_seed)

    def close(self) -> None:
        self._dataloader = None


def _identity(item):
    return item
