"""The masked SGD loop: masks hold, the lr schedule, precision paths, determinism, divergence."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from torch import nn

from registry.errors import UserError
from test_train_support import half_mask, metrics, states_equal, tiny_data, tiny_model
from tickets.config import TrainConfig
from tickets.train import Diverged, evaluate, snapshot, train
from tickets.train.checkpoint import list_checkpoints

CFG = TrainConfig(epochs=2, batch_size=32, milestones=(1,), eval_batch_size=64)


def test_masked_weights_and_their_momentum_stay_exactly_zero(tmp_path):
    data, model = tiny_data(), tiny_model()
    mask = half_mask(model)
    before = snapshot(model)
    # weight decay and momentum large enough that any leak would show
    history = train(model, data, replace(CFG, weight_decay=5e-2), mask=mask, rundir=tmp_path, seed=0)
    assert all(math.isfinite(r.train_loss) for r in history.records)
    params = dict(model.named_parameters())
    for name, keep in mask.items():
        w = params[name].detach()
        assert (w[~keep] == 0.0).all(), name
        assert (w[keep] != before[name][keep]).all(), name  # the kept weights did train
    state = torch.load(list_checkpoints(tmp_path, "train")[-1][1], weights_only=True)
    index = {name: i for i, (name, _) in enumerate(model.named_parameters())}
    for name, keep in mask.items():
        buf = state["optimizer"]["state"][index[name]]["momentum_buffer"]
        assert (buf[~keep] == 0.0).all() and (buf[keep] != 0).any(), name
        assert torch.equal(state["mask"][name], keep)


def test_lr_follows_the_milestones():
    data = tiny_data(n_train=64)
    h = train(tiny_model(), data, replace(CFG, epochs=3, milestones=(1, 2)), seed=0)
    assert [r.lr for r in h.records] == pytest.approx([0.1, 0.01, 0.001])
    h = train(tiny_model(), data, replace(CFG, epochs=3, milestones=(2,), gamma=0.5, lr=0.2), seed=0)
    assert [r.lr for r in h.records] == pytest.approx([0.2, 0.2, 0.1])
    assert [r.epoch for r in h.records] == [1, 2, 3]


def test_bf16_autocast_and_channels_last_run_on_cpu():
    model = tiny_model()
    dtypes, formats = [], []
    model.conv2.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    model.conv.register_forward_pre_hook(
        lambda m, i: formats.append(i[0].is_contiguous(memory_format=torch.channels_last)))
    h = train(model, tiny_data(), replace(CFG, precision="bf16", channels_last=True), seed=0)
    assert dtypes and all(d == torch.bfloat16 for d in dtypes)
    assert formats and all(formats)
    assert model.conv2.weight.dtype == torch.float32  # autocast, not a bf16 model
    assert all(math.isfinite(v) for r in h.records for v in r.metrics())
    assert h.final_test_acc > 25.0  # learnt something beyond chance on the easy data


def test_fp32_on_cpu_by_default_and_learns():
    model = tiny_model()
    dtypes = []
    model.fc.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    h = train(model, tiny_data(), replace(CFG, epochs=3, milestones=(2,)), seed=0)
    assert set(dtypes) == {torch.float32}
    assert h.final_test_acc >= 40.0 and h.best_test_acc >= h.final_test_acc
    assert h.records[-1].train_loss < h.records[0].train_loss


def test_same_seed_is_bitwise_identical_and_another_seed_differs():
    data = tiny_data()
    runs = []
    for seed in (0, 0, 1):
        model = tiny_model()
        runs.append((metrics(train(model, data, CFG, seed=seed, mask=half_mask(model))), snapshot(model)))
    assert runs[0][0] == runs[1][0] and states_equal(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_nan_loss_raises_diverged_with_epoch_and_step():
    class Boom(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner, self.calls = tiny_model(), 0

        def forward(self, x):
            out = self.inner(x)
            if self.training:
                self.calls += 1
                if self.calls >= 11:  # step 3 of epoch 2 at 8 steps per epoch
                    out = out * float("nan")
            return out

    with pytest.raises(Diverged) as err:
        train(Boom(), tiny_data(), CFG, seed=0)
    assert (err.value.epoch, err.value.step) == (2, 3)
    assert "diverged" in str(err.value)


def test_zero_epochs_evaluates_the_given_weights():
    model, data = tiny_model(), tiny_data()
    h = train(model, data, replace(CFG, epochs=0, milestones=()), seed=0)
    loss, acc = evaluate(model, data, "cpu")
    assert h.records == () and h.final_test_acc == acc and h.final_test_loss == pytest.approx(loss)
    assert math.isnan(h.final_train_loss)


def test_evaluate_matches_a_manual_count():
    model, data = tiny_model(), tiny_data()
    model.eval()
    with torch.no_grad():
        logits = model((data.x_test.float() / 255 - 0.5) / 0.25)
    loss, acc = evaluate(model, data, "cpu", batch_size=50)
    assert acc == pytest.approx(100.0 * (logits.argmax(1) == data.y_test).float().mean().item())
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, data.y_test).item(), rel=1e-5)


def test_bad_masks_are_user_errors():
    model = tiny_model()
    with pytest.raises(UserError, match="nope.weight"):
        train(model, tiny_data(), CFG, mask={"nope.weight": torch.ones(3, dtype=torch.bool)})
    with pytest.raises(UserError, match="shape"):
        train(model, tiny_data(), CFG, mask={"fc.weight": torch.ones(3, dtype=torch.bool)})


def test_real_lenet5_on_synthetic_data(data_root):
    data_mod = pytest.importorskip("tickets.data")
    models_mod = pytest.importorskip("tickets.models")
    data = data_mod.load_dataset("synthetic", root=data_root)
    torch.manual_seed(0)
    model = models_mod.build_model("lenet5", data.info)
    h = train(model, data, replace(CFG, epochs=2, milestones=(), batch_size=64), seed=0)
    assert all(math.isfinite(v) for r in h.records for v in r.metrics())
    assert h.best_test_acc > 20.0  # 10 classes: chance is 10 %


def test_bad_phase_and_optimiser_settings_are_user_errors():
    with pytest.raises(UserError, match="phase"):
        train(tiny_model(), tiny_data(), CFG, phase="../x")
    with pytest.raises(UserError, match="optimiser"):
        train(tiny_model(), tiny_data(), replace(CFG, nesterov=True, momentum=0.0))
