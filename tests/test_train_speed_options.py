"""Speed options of a single run: off by default, part of a key only when set, equal numbers on CPU."""
from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from registry.errors import UserError
from tickets.config import TrainConfig, resolve
from tickets.domain import DOMAIN
from tickets.train import train
from tickets.train.loop import autocast_factory

from test_packed_training import build, tiny_data  # the shared tiny net and data

CELL = {"dataset": "synthetic", "model": "lenet300", "method": "dense", "sparsity": 0.0, "seed": 0}


def _key(**train):
    return DOMAIN.expand({**CELL, "train": train})[-1].key


def test_defaults_are_fp32_and_off():
    config = TrainConfig()
    assert (config.precision, config.compile, config.fused_sgd) == ("fp32", False, False)
    assert autocast_factory(torch.device("cuda"), "fp32") is autocast_factory(torch.device("cpu"), "tf32")


def test_options_at_default_leave_the_key_alone_and_set_ones_change_it():
    default = _key()
    assert _key(precision="fp32", fused_sgd=False, compile=False) == default
    changed = {_key(precision="bf16"), _key(precision="tf32"), _key(fused_sgd=True), _key(compile=True)}
    assert default not in changed and len(changed) == 4
    assert DOMAIN.expand({**CELL, "train": {"precision": "bf16"}})[-1].columns["variant"] == "precision=bf16"


def test_unknown_precision_is_one_line():
    with pytest.raises(UserError, match="unknown precision 'auto'; known: fp32, tf32, bf16"):
        resolve("cifar10", {"precision": "auto"})


def test_fused_sgd_and_tf32_give_the_fp32_numbers_on_cpu():
    config = TrainConfig(epochs=2, batch_size=16, lr=0.05, milestones=(1,), channels_last=False,
                         eval_batch_size=64)
    runs = {}
    for name, cfg in {"plain": config, "fused": replace(config, fused_sgd=True),
                      "tf32": replace(config, precision="tf32")}.items():
        model = build(3)
        runs[name] = (train(model, tiny_data(), cfg, seed=1, device="cpu"), model.state_dict())
    base, base_state = runs["plain"]
    for name in ("fused", "tf32"):
        history, state = runs[name]
        assert [r.train_loss for r in history.records] == pytest.approx(
            [r.train_loss for r in base.records], rel=1e-5), name
        for param, value in state.items():
            torch.testing.assert_close(value, base_state[param], rtol=1e-5, atol=1e-6)
