"""The reference-style training loop our engine is measured against (issue 7).

It does what the paper's public code does (and what most CIFAR pruning code does): a torchvision
Dataset that turns each stored uint8 image into a PIL image, torchvision transforms per sample
(RandomCrop(size, padding) + RandomHorizontalFlip + ToTensor + Normalize; ToTensor + Normalize only
for datasets without augmentation, e.g. Fashion-MNIST), a DataLoader with worker processes,
fp32, a plain (contiguous, NCHW) model, torch.optim.SGD, and per-step `loss.item()` / accuracy reads
for its running averages (a host sync every step, as the reference's AverageMeter does).

Used by bench/throughput.py (fixed steps) and bench/parity.py (whole epochs)."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class PILImages(Dataset):
    """uint8 [N, C, H, W] images served as PIL images through `transform`, like torchvision's
    CIFAR10 / FashionMNIST datasets (which hold HWC / HW uint8 arrays and call Image.fromarray)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, transform):
        arr = x.numpy()
        self.images = arr[:, 0] if arr.shape[1] == 1 else np.ascontiguousarray(arr.transpose(0, 2, 3, 1))
        self.mode = "L" if arr.shape[1] == 1 else "RGB"
        self.targets = [int(t) for t in y]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        img = Image.fromarray(self.images[i], mode=self.mode)
        return self.transform(img), self.targets[i]


def train_transform(info: Any, augment: bool = True):
    steps = []
    if augment and info.crop_padding > 0:
        steps += [transforms.RandomCrop(info.size, padding=info.crop_padding), transforms.RandomHorizontalFlip()]
    steps += [transforms.ToTensor(), transforms.Normalize(info.mean, info.std)]
    return transforms.Compose(steps)


def test_transform(info: Any):
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(info.mean, info.std)])


def reference_loader(x: torch.Tensor, y: torch.Tensor, info: Any, *, batch_size: int = 64,
                     workers: int = 2, train: bool = True, device: str = "cpu", seed: int = 0) -> DataLoader:
    dataset = PILImages(x, y, train_transform(info) if train else test_transform(info))
    gen = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=train, num_workers=workers,
                      pin_memory=device.startswith("cuda"), generator=gen,
                      persistent_workers=workers > 0)


def reference_optimizer(model: torch.nn.Module, lr: float = 0.1, momentum: float = 0.9,
                        weight_decay: float = 1e-4) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)


def reference_step(model, optimizer, x, y, device: str) -> tuple[float, int]:
    """One step as the reference writes it; returns (loss.item(), correct) (host syncs included)."""
    x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
    out = model(x)
    loss = F.cross_entropy(out, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item(), int((out.argmax(1) == y).sum().item())


def time_reference_steps(model, x, y, info, *, steps: int, warmup: int, device: str,
                         workers: int = 2, batch_size: int = 64) -> float:
    """Images per second of `steps` reference steps after `warmup` steps, one DataLoader iterator
    (so worker start-up is paid in the warm-up, as it is amortised over a real epoch)."""
    model.to(device).train()
    opt = reference_optimizer(model)
    loader = reference_loader(x, y, info, batch_size=batch_size, workers=workers, device=device)
    it = iter(loader)
    for _ in range(warmup):
        reference_step(model, opt, *next(it), device)
    _sync(device)
    start = time.perf_counter()
    images = 0
    for _ in range(steps):
        xb, yb = next(it)
        reference_step(model, opt, xb, yb, device)
        images += len(yb)
    _sync(device)
    seconds = time.perf_counter() - start
    del it, loader
    return images / seconds


@torch.no_grad()
def reference_evaluate(model, data, *, device: str, workers: int = 2, batch_size: int = 1000) -> float:
    """Test accuracy (%) with the reference's test loader (ToTensor + Normalize)."""
    model.eval()
    loader = reference_loader(data.x_test, data.y_test, data.info, batch_size=batch_size,
                              workers=workers, train=False, device=device)
    correct = 0
    for xb, yb in loader:
        out = model(xb.to(device))
        correct += int((out.argmax(1).cpu() == yb).sum())
    model.train()
    return 100.0 * correct / len(data.y_test)


def reference_train(model, data, *, epochs: int, milestones=(), lr: float = 0.1, device: str = "cpu",
                    workers: int = 2, batch_size: int = 64, seed: int = 0) -> float:
    """Whole-epoch reference training with MultiStepLR; returns the final test accuracy (%)."""
    model.to(device).train()
    opt = reference_optimizer(model, lr=lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, list(milestones), 0.1)
    loader = reference_loader(data.x_train, data.y_train, data.info, batch_size=batch_size,
                              workers=workers, device=device, seed=seed)
    for _ in range(epochs):
        for xb, yb in loader:
            reference_step(model, opt, xb, yb, device)
        sched.step()
    return reference_evaluate(model, data, device=device, workers=workers)


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()
