"""The fast streaming path's device side: batched JPEG decoding and augmentation on the training device.

`decode_batch` decodes a batch of encoded files with one `torchvision.io.decode_jpeg(list, device=)`
call (nvJPEG's batched decoder on CUDA; libjpeg on CPU tensors, which is how the CPU test suite
exercises exactly this code). Files nvJPEG refuses (CMYK JPEGs, the odd PNG named .JPEG in ImageNet's
train split) fall back to `decode_image` on the CPU, one by one, and are moved to the device.

`transform_batch` applies each sample's RandomResizedCrop box and flip (the same draws as the
reference path: tickets.train.streaming.sample_draws) or the eval Resize + CenterCrop, with
torchvision's tensor kernels (antialiased bilinear) on the device, and returns one uint8 batch."""
from __future__ import annotations

import warnings
from typing import Sequence

import torch

from registry.errors import UserError


def decode_batch(raw: Sequence[torch.Tensor], paths: Sequence[str], device: torch.device) -> list[torch.Tensor]:
    """[3, H, W] uint8 images on `device`, one per encoded file."""
    with warnings.catch_warnings():  # torchvision 0.29 points image decoding at TorchCodec; it still works
        warnings.simplefilter("ignore", DeprecationWarning)
        return _decode(raw, paths, device)


def _decode(raw: Sequence[torch.Tensor], paths: Sequence[str], device: torch.device) -> list[torch.Tensor]:
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg

    if not raw:
        return []
    try:
        return list(decode_jpeg(list(raw), mode=ImageReadMode.RGB, device=device))
    except RuntimeError:  # one bad or unusual file fails the batched call: find it, decode the rest singly
        pass
    out = []
    for data, path in zip(raw, paths):
        try:
            img = decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
        except RuntimeError:
            try:
                img = decode_image(data, mode=ImageReadMode.RGB).to(device)
            except RuntimeError as exc:
                raise UserError(f"cannot decode image {path}: {exc}") from None
        out.append(img)
    return out


def transform_batch(images: Sequence[torch.Tensor], positions: Sequence[int], indices: Sequence[int],
                    epoch_seed: int | None, size: int, pixel_seed: int | None = None) -> torch.Tensor:
    """One [B, 3, size, size] uint8 batch: per-sample crop + resize + flip (train) or resize +
    center crop (eval, `epoch_seed` None), then the `random_pixels` permutation when asked."""
    import torchvision.transforms.v2.functional as TF

    from tickets.train.streaming import permute_pixels, resize_size, sample_draws

    if not images:
        return torch.empty((0, 3, size, size), dtype=torch.uint8)
    out = torch.empty((len(images), 3, size, size), dtype=torch.uint8, device=images[0].device)
    for k, (img, position, index) in enumerate(zip(images, positions, indices)):
        height, width = img.shape[-2:]
        draws = sample_draws(epoch_seed, position, int(height), int(width))
        if draws is not None:
            (top, left, h, w), flip = draws
            crop = TF.resized_crop(img, top, left, h, w, [size, size], antialias=True)
            if flip:
                crop = crop.flip(-1)
        else:
            crop = TF.center_crop(TF.resize(img, [resize_size(size)], antialias=True), [size, size])
        out[k] = permute_pixels(crop, pixel_seed, index)
    return out
