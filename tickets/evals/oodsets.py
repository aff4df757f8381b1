"""Out-of-distribution image sets, shaped like the in-distribution test set they are compared with.

`ood_images(name, info, seed)` returns uint8 images [N, C, H, W] with the in-distribution
dataset's channels and size, so the network's own normalisation applies unchanged:

- `digits`: scikit-learn's bundled handwritten digits (1,797 8×8 images, 0..16 grey levels, no
  download), scaled to 0..255 and bilinearly upsampled to the target size: a real offline set.
- `noise`: uniform noise, seeded (2,000 images).
- any registered dataset (`mnist`, `fashionmnist`, `cifar10`, `cifar100`, `svhn`, ...): its test
  split, loaded through `tickets.data` (so CIFAR's pickles and SVHN's .mat files are read in their
  distributed formats), converted to the target channels (grey <-> RGB) and resized if needed."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from registry.errors import UserError
from registry.naming import Registry

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from tickets.data.info import DatasetInfo

OOD_SETS: Registry[Callable[..., "torch.Tensor"]] = Registry("OoD set")
NOISE_IMAGES = 2000


def fit_to(images: "torch.Tensor", info: "DatasetInfo") -> "torch.Tensor":
    """uint8 [N, C, H, W] -> the channels and size of `info` (ITU-R 601 luma for RGB -> grey)."""
    import torch
    import torch.nn.functional as F

    x = images.float()
    if x.shape[1] != info.channels:
        if info.channels == 1:
            weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
            x = (x[:, :3] * weights).sum(dim=1, keepdim=True)
        else:
            x = x[:, :1].expand(-1, info.channels, -1, -1)
    if tuple(x.shape[2:]) != (info.size, info.size):
        x = F.interpolate(x, size=(info.size, info.size), mode="bilinear", align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)


@OOD_SETS.register("digits")
def digits(info: "DatasetInfo", seed: int = 0, root=None) -> "torch.Tensor":
    """scikit-learn's load_digits (UCI optical digits test set), upsampled."""
    import torch
    from sklearn.datasets import load_digits

    images = load_digits().images  # [1797, 8, 8], values 0..16
    x = torch.from_numpy((images * (255.0 / 16.0)).round()).to(torch.uint8).unsqueeze(1)
    return fit_to(x, info)


@OOD_SETS.register("noise")
def noise(info: "DatasetInfo", seed: int = 0, root=None) -> "torch.Tensor":
    import torch

    generator = torch.Generator().manual_seed(int(seed))
    return torch.randint(0, 256, (NOISE_IMAGES, *info.shape), generator=generator, dtype=torch.uint8)


def ood_images(name: str, info: "DatasetInfo", seed: int = 0, root=None) -> "torch.Tensor":
    """The OoD images for `name`; a registered dataset's test split when it is not a special set."""
    if name in OOD_SETS:
        return OOD_SETS.get(name)(info, seed=seed, root=root)
    from tickets.data import dataset_names, load_dataset

    if name not in dataset_names():
        raise UserError(f"unknown OoD set {name!r}; known: {', '.join(sorted(OOD_SETS.names() + dataset_names()))}")
    if name == info.name:
        raise UserError(f"OoD set {name!r} is the in-distribution dataset itself")
    ood = load_dataset(name, root=root)
    if getattr(ood, "streaming", False):  # a file-backed set: its test images, eval transform
        from tickets.evals.run import test_images

        return fit_to(test_images(ood, None)[0], info)
    return fit_to(ood.x_test, info)


def ood_names() -> list[str]:
    from tickets.data import dataset_names

    return sorted(set(OOD_SETS.names()) | set(dataset_names()))
