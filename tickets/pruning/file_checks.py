"""The data sanity checks on a file-backed dataset: views instead of corrupted tensors.

`corrupt_view(check, data, num_classes=, seed=)` is `Check.corrupt_data` for a `FileData`
(tickets.data.files): the same seeded draws on the same training order, so a half or relabelled
ImageNet is the same function of (seed, check) as a half or relabelled CIFAR. `random_pixels`
cannot permute the files, so the view carries a pixel seed and the streaming loader permutes each
image's C·H·W values after its crop (tickets.train.streaming.permute_pixels).

`balanced_images` is the scoring batch of SNIP/GraSP/OBD for such a dataset: the class-balanced
draw of `class_balanced_batch` on the labels, then those files decoded (eval transform, or the
training crop/flip when the scorer augments)."""
from __future__ import annotations

from typing import Any

import torch

from tickets.pruning.checks import (
    check_generator,
    derived_seed,
    first_half_batches,
    half_data,
    random_labels,
)


def corrupt_view(check: Any, data: Any, *, num_classes: int, seed: int) -> Any:
    if check.stage != "data":
        return data
    index = torch.arange(data.num_train)
    y = data.y_train
    if check.half:
        index, y = half_data(index, y, check_generator(seed, "half_data"))
    if check.first_batches:
        index, y = first_half_batches(index, y)
    labels = random_labels(y, num_classes, check_generator(seed, "random_labels")) if check.labels else None
    pixel_seed = derived_seed(seed, "random_pixels") if check.pixels else None
    return data.view(indices=index.tolist(), labels=None if labels is None else labels.tolist(),
                     pixel_seed=pixel_seed)


def balanced_images(data: Any, per_class: int, generator: torch.Generator, *, augment: bool = False,
                    augmenter: torch.Generator | None = None, loader: str = "reference"):
    """(uint8 images [n, 3, S, S] on the CPU, labels) of `per_class` training files of every class."""
    from tickets.pruning.scorers import class_balanced_batch
    from tickets.train.streaming import StreamingLoader

    index, y = class_balanced_batch(torch.arange(data.num_train), data.y_train, per_class, generator)
    view = data.view(indices=index.tolist())
    reader = StreamingLoader(view, max(len(y), 1), device=torch.device("cpu"), num_workers=0,
                             loader=loader).reader
    epoch_seed = None
    if augment:
        g = augmenter if augmenter is not None else torch.Generator().manual_seed(0)
        epoch_seed = int(torch.randint(0, 2 ** 62, (1,), generator=g).item())
    positions = list(range(len(y)))
    item = reader[(positions, positions, epoch_seed, epoch_seed is not None)]
    if "error" in item:
        from registry.errors import UserError

        raise UserError(item["error"])
    if "bytes" in item:
        from tickets.train.gpu_decode import decode_batch, transform_batch

        images = decode_batch(item["bytes"], list(view.train_files), torch.device("cpu"))
        x = transform_batch(images, positions, positions, epoch_seed, data.info.size, view.pixel_seed)
    else:
        x = item["images"]
    return x, y
