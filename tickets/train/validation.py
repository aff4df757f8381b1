"""A held-out validation split of the training set, for honest epoch selection.

The seed paper prints the best test accuracy over epochs ("Best acc"), which selects the epoch on
the test set. With `TrainConfig.val_split = f > 0` a training phase trains on the other 1 − f of
its training tensors, evaluates the held-out f after every epoch, and reports
`val_selected_test_acc`: the test accuracy at the (first) epoch of highest validation accuracy.

The split is a fixed function of the training tensors' length (seeded with `SPLIT_SEED`, not the
run seed), so every run of a study on the same data holds out the same samples."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

SPLIT_SEED = 20_240_601


@dataclass(frozen=True)
class HeldOut:
    """What the evaluation function needs: `info` and the held-out samples as the "test" split."""

    info: Any
    x_test: torch.Tensor
    y_test: torch.Tensor


def split(x: torch.Tensor, y: torch.Tensor, fraction: float, info: Any
          ) -> tuple[tuple[torch.Tensor, torch.Tensor], HeldOut]:
    """((x_train, y_train) without the held-out samples, the held-out samples)."""
    n = len(y)
    held = max(1, int(round(n * fraction)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    val_idx, train_idx = perm[:held].sort().values, perm[held:].sort().values
    dev = x.device
    return ((x[train_idx.to(dev)], y[train_idx.to(y.device)]),
            HeldOut(info, x[val_idx.to(dev)], y[val_idx.to(y.device)]))


def selected_test_acc(records) -> float | None:
    """Test accuracy at the first epoch of highest validation accuracy (None without validation)."""
    scored = [r for r in records if getattr(r, "val_acc", None) is not None]
    if not scored:
        return None
    best = max(r.val_acc for r in scored)
    return next(r.test_acc for r in scored if r.val_acc == best)


def split_files(data: Any, fraction: float) -> tuple[Any, Any]:
    """The same split for a file-backed dataset (tickets.data.files.FileData): (the training view
    without the held-out files, a FileData whose test split is the held-out files)."""
    from dataclasses import replace

    n = data.num_train
    held = max(1, int(round(n * fraction)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(SPLIT_SEED))
    val_idx, train_idx = perm[:held].sort().values.tolist(), perm[held:].sort().values.tolist()
    held_out = replace(data, test_files=tuple(data.train_files[i] for i in val_idx),
                       test_labels=tuple(data.train_labels[i] for i in val_idx), pixel_seed=None)
    return data.view(indices=train_idx), held_out
