"""The seed code's half dataset (docs/FIDELITY.md item 6): baseline.py with --max_batch_idx 390
trains on the first 390 batches of an unshuffled DataLoader of batch 64."""
from __future__ import annotations

import torch
from torch.utils.data import DataLoader, TensorDataset

from tickets.domain import DOMAIN
from tickets.pruning.checks import CHECKS


def test_half_data_seed_is_the_first_390_batches_of_an_unshuffled_loader():
    x = torch.arange(50_000, dtype=torch.int64).view(-1, 1, 1, 1).to(torch.uint8)  # values wrap; index below
    index = torch.arange(50_000)
    y = index % 10
    loader = DataLoader(TensorDataset(index, y), batch_size=64, shuffle=False)
    seen = []
    for batch_idx, (idx, _) in enumerate(loader):
        if batch_idx == 390:  # `if batch_idx == MAX_BATCH_IDX: return`
            break
        seen.append(idx)
    expected = torch.cat(seen)
    assert len(expected) == 24_960
    xh, yh = CHECKS.get("half_data_seed").corrupt_data(index.view(-1, 1, 1, 1), y, num_classes=10, seed=7)
    assert torch.equal(xh.flatten(), expected) and torch.equal(yh, y[expected])
    again, _ = CHECKS.get("half_data_seed").corrupt_data(index.view(-1, 1, 1, 1), y, num_classes=10, seed=0)
    assert torch.equal(again, xh)  # fixed samples, whatever the seed
    random_half, _ = CHECKS.get("half_data").corrupt_data(index.view(-1, 1, 1, 1), y, num_classes=10, seed=7)
    assert len(random_half) == 25_000 and not torch.equal(random_half[:24_960].flatten(), expected)


def test_the_paper_study_uses_the_seed_half():
    from tickets.study import load_study

    study = load_study("studies/table3_partial_sanity.py")
    checks = {c.get("check") for c in study.cells()}
    assert "half_data_seed" in checks and "half_data" not in checks
    pre = DOMAIN.expand({"dataset": "cifar10", "model": "vgg19", "method": "lrr", "sparsity": 0.9,
                         "check": "half_data_seed"})[0]
    assert pre.identity["data_check"] == "half_data_seed"
