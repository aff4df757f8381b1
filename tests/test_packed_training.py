"""Packed (stacked, vmapped) training: each member behaves like a separate engine run."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from tickets.config import TrainConfig
from tickets.data.info import DatasetInfo, TensorData
from tickets.train import train
from tickets.train.packed import StackedSGD, lr_at, train_packed

INFO = DatasetInfo("tiny", 3, 12, 5, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25), crop_padding=2)
CONFIG = TrainConfig(epochs=3, batch_size=16, lr=0.05, milestones=(2,), channels_last=False,
                     eval_batch_size=64)


def tiny_data() -> TensorData:
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (100, 3, 12, 12), generator=gen, dtype=torch.uint8)
    y = torch.randint(0, 5, (100,), generator=gen)
    return TensorData(INFO, x[:72], y[:72], x[72:], y[72:])  # 72 = 4 full batches + one of 8


class Tiny(nn.Module):
    """conv - BN - ReLU - pool - linear: the smallest net that exercises BN running statistics."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6 * 4 * 4, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(torch.flatten(nn.functional.max_pool2d(x, 3), 1))


def build(seed: int) -> Tiny:
    torch.manual_seed(seed)
    return Tiny()


def random_mask(seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {"conv.weight": torch.rand(6, 3, 3, 3, generator=gen) < 0.5,
            "fc.weight": torch.rand(5, 96, generator=gen) < 0.3}


def test_each_member_matches_its_separate_engine_run():
    data = tiny_data()
    inits, masks, seeds = [11, 12, 13], [random_mask(1), None, random_mask(2)], [7, 8, 9]
    packed = train_packed([build(s) for s in inits], data, CONFIG, masks=masks, seeds=seeds, device="cpu")
    for k, (init, mask, seed) in enumerate(zip(inits, masks, seeds)):
        model = build(init)
        history = train(model, data, CONFIG, mask=mask, seed=seed, device="cpu")
        ours = packed.histories[k]
        for a, b in zip(history.records, ours.records):
            assert a.lr == pytest.approx(b.lr)
            assert a.train_loss == pytest.approx(b.train_loss, rel=1e-4, abs=1e-5)
            assert a.train_acc == pytest.approx(b.train_acc, abs=1e-9)
            assert a.test_loss == pytest.approx(b.test_loss, rel=1e-4, abs=1e-5)
            assert a.test_acc == pytest.approx(b.test_acc, abs=1e-9)
        state = model.state_dict()
        for name, value in packed.states[k].items():
            if value.is_floating_point():
                torch.testing.assert_close(value, state[name], rtol=1e-4, atol=1e-4)
            else:  # BN's num_batches_tracked: every member counts its own steps
                assert torch.equal(value, state[name]), name


def test_masked_weights_stay_exactly_zero_and_members_differ():
    data = tiny_data()
    masks = [random_mask(3), random_mask(4)]
    packed = train_packed([build(1), build(1)], data, CONFIG, masks=masks, seeds=[0, 1], device="cpu")
    for state, mask in zip(packed.states, masks):
        for name, keep in mask.items():
            assert torch.count_nonzero(state[name][~keep]) == 0
            assert torch.count_nonzero(state[name][keep]) == int(keep.sum())
    # same init, different masks and data order: different runs
    assert not torch.equal(packed.states[0]["fc.bias"], packed.states[1]["fc.bias"])


def test_same_member_twice_gives_identical_results():
    data = tiny_data()
    packed = train_packed([build(5), build(5)], data, CONFIG, seeds=[3, 3], device="cpu")
    a, b = packed.states
    assert all(torch.equal(a[n], b[n]) for n in a)
    assert [r.train_loss for r in packed.histories[0].records] == \
        [r.train_loss for r in packed.histories[1].records]


def test_stacked_sgd_matches_torch_sgd_with_nesterov():
    torch.manual_seed(0)
    params = [torch.randn(2, 4, 3), torch.randn(2, 5)]
    ours = [p.clone() for p in params]
    ref = [torch.nn.Parameter(p.clone()) for p in params]
    torch_opt = torch.optim.SGD(ref, lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True)
    opt = StackedSGD(ours, momentum=0.9, weight_decay=1e-3, nesterov=True)
    for step in range(4):
        grads = [torch.randn_like(p) for p in params]
        for p, g in zip(ref, grads):
            p.grad = g.clone()
        for p, g in zip(ours, grads):
            p.grad = g.clone()
        torch_opt.step()
        opt.step(0.1)
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a, b.detach())


def test_lr_schedule_is_multistep():
    config = dataclasses.replace(CONFIG, lr=1.0, milestones=(2, 4), gamma=0.1)
    assert [lr_at(config, e) for e in range(6)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])
