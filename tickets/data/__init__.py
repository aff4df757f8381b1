"""Datasets by name: shape and normalisation without files, tensors decoded once and cached.

    info = dataset_info("cifar10")        # no file access
    data = load_dataset("cifar10")         # uint8 [N, C, H, W] + int64 labels, from the cache
Root: argument, else $TICKETS_DATA, else ~/.cache/tickets/data. Set TICKETS_DOWNLOAD=0 to never try
a download. Importing this package does not import torch. `imagenet` and `register_imagefolder`
datasets are file-backed: `load_dataset` gives a `FileData` (tickets.data.files), streamed in training."""
from tickets.data.info import DatasetInfo, TensorData
from tickets.data.files import FileData
from tickets.data.base import (
    DATASETS,
    DatasetSource,
    cache_path,
    data_root,
    dataset_info,
    dataset_names,
    downloads_allowed,
    load_dataset,
    locate,
    register_dataset,
)
from tickets.data.imagenet import register_imagefolder, register_imagenet_like
from tickets.data import cifar, tinyimagenet, mnist, synthetic, svhn, imagenet  # noqa: F401,I001  (fill the registry)

__all__ = [
    "DATASETS", "DatasetInfo", "DatasetSource", "FileData", "TensorData", "cache_path", "data_root",
    "dataset_info", "dataset_names", "downloads_allowed", "load_dataset", "locate",
    "register_dataset", "register_imagefolder", "register_imagenet_like",
]
