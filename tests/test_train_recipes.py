"""The ImageNet training recipes (issue 18): warmup, cosine/step schedules, label smoothing, BN
parameters without weight decay, fp16 with loss scaling (scaler state in checkpoints), top-5
accuracy in every record, result and store row, per-method epochs in one study, named recipes."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
import torch

from registry.errors import UserError
from registry.identity import to_plain
from tickets.config import TrainConfig, defaults_for, resolve
from tickets.recipes import RECIPES, recipe
from tickets.train.schedules import lr_factor, make_scheduler, packable, param_groups

pytestmark = pytest.mark.usefixtures("single_thread")


def test_random_pruning_warmup_then_steps_as_its_released_code():
    cfg = resolve("imagenet", recipe("random_pruning_imagenet"))
    factors = [lr_factor(cfg, e) for e in range(100)]
    assert factors[:6] == [1 / 6, 2 / 6, 3 / 6, 4 / 6, 5 / 6, 1.0]  # lr * (e + 1) / (warmup + 1)
    assert factors[29] == 1.0 and factors[30] == pytest.approx(0.1) and factors[60] == pytest.approx(0.01)
    assert factors[80] == pytest.approx(0.001) and factors[99] == pytest.approx(0.001)
    assert cfg.batch_size == 768 and cfg.lr == 0.4 and cfg.label_smoothing == 0.1 and cfg.precision == "fp16"


def test_cosine_after_warmup_and_default_is_multisteplr():
    cfg = TrainConfig(epochs=10, schedule="cosine", warmup_epochs=2).validate()
    assert [round(lr_factor(cfg, e), 6) for e in (0, 1, 2, 6)] == [round(1 / 3, 6), round(2 / 3, 6), 1.0, 0.5]
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    assert type(make_scheduler(opt, TrainConfig())).__name__ == "MultiStepLR"  # old runs: same chained lr
    assert type(make_scheduler(opt, cfg)).__name__ == "LambdaLR"


def test_bad_recipe_values_are_one_line():
    with pytest.raises(UserError, match="unknown schedule 'linear'"):
        resolve("cifar10", {"schedule": "linear"})
    with pytest.raises(UserError, match="warmup_epochs must be in"):
        resolve("cifar10", {"epochs": 3, "warmup_epochs": 3})
    with pytest.raises(UserError, match="label_smoothing"):
        resolve("cifar10", {"label_smoothing": 1.5})
    with pytest.raises(UserError, match="unknown training recipe"):
        recipe("nope")


def test_new_options_enter_the_identity_only_when_not_default():
    assert to_plain(resolve("cifar10", {}), defaults=defaults_for("cifar10")) == {}
    changed = to_plain(resolve("cifar10", {"warmup_epochs": 5, "precision": "fp16"}), defaults=defaults_for("cifar10"))
    assert changed == {"warmup_epochs": 5, "precision": "fp16"}
    rethinking = to_plain(resolve("imagenet", recipe("rethinking_imagenet")), defaults=defaults_for("imagenet"))
    assert rethinking == {}  # the imagenet defaults are the PyTorch example's recipe


def test_bn_parameters_without_weight_decay():
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    groups = param_groups(net, TrainConfig(bn_weight_decay=False))
    assert [len(g["params"]) for g in groups] == [4, 2] and groups[1]["weight_decay"] == 0.0
    assert not isinstance(param_groups(net, TrainConfig()), list)  # as before: model.parameters()


def test_recipes_are_not_packed():
    assert packable(resolve("cifar10", {}).__dict__)
    for changed in ({"warmup_epochs": 1}, {"label_smoothing": 0.1}, {"precision": "fp16"},
                    {"schedule": "cosine"}, {"bn_weight_decay": False}):
        assert not packable({**resolve("cifar10", {}).__dict__, **changed})


def _train(rundir, **overrides):
    from tickets.data import load_dataset
    from tickets.models import build_model
    from tickets.train import train

    data = load_dataset("synthetic")
    cfg = resolve("synthetic", {"epochs": 2, "batch_size": 64, **overrides})
    torch.manual_seed(0)
    model = build_model("mlp_bn", data.info)
    return train(model, data, cfg, rundir=rundir, seed=0, device="cpu")


FULL = {"precision": "fp16", "warmup_epochs": 1, "label_smoothing": 0.1, "schedule": "cosine", "bn_weight_decay": False}


def test_fp16_recipe_trains_records_top5_and_resumes_bitwise(tmp_path):
    whole = _train(tmp_path / "a", **FULL)
    assert [r.lr for r in whole.records] == [pytest.approx(0.05), pytest.approx(0.1)]
    assert all(r.test_top5 is not None and r.test_top5 >= r.test_acc for r in whole.records)
    assert whole.result()["test_top5"] == whole.records[-1].test_top5
    state = torch.load(tmp_path / "a" / "train" / "ckpt-0002.pt", weights_only=False)
    assert state["scaler"]["scale"] > 0
    line = json.loads((tmp_path / "a" / "metrics.jsonl").read_text().splitlines()[-1])
    assert line["test_top5"] == whole.records[-1].test_top5

    _train(tmp_path / "b", **FULL)  # interrupted after epoch 1: drop epoch 2's checkpoint, resume
    (tmp_path / "b" / "train" / "ckpt-0002.pt").unlink()
    resumed = _train(tmp_path / "b", **FULL)
    assert resumed.resumed_from == 1
    assert [r.metrics() + (r.test_top5,) for r in resumed.records] == \
           [r.metrics() + (r.test_top5,) for r in whole.records]


def test_top5_is_everything_with_few_classes(tmp_path):
    from tickets.train.loop import top5_hits

    out = torch.tensor([[0.1, 0.9, 0.0], [0.5, 0.2, 0.3]])
    assert int(top5_hits(out, torch.tensor([2, 1]))) == 2
    logits = torch.arange(10.0).repeat(3, 1)
    assert int(top5_hits(logits, torch.tensor([9, 5, 4]))) == 2


def test_method_train_gives_each_method_its_epochs():
    from tickets.study import Grid

    grid = Grid(datasets=("synthetic",), models=("lenet5",), methods=("dense", "random"), sparsities=(0.5,),
                train={"epochs": 4, "milestones": [2]}, method_train={"dense": {"epochs": 3}})
    cells = {c["method"]: c["train"] for c in grid.compile().cells()}
    assert cells == {"dense": {"epochs": 3, "milestones": [2]}, "random": {"epochs": 4, "milestones": [2]}}
    with pytest.raises(UserError, match="method_train names method 'snip'"):
        Grid(datasets=("synthetic",), models=("lenet5",), methods=("dense",), sparsities=(0.0,),
             method_train={"snip": {"epochs": 3}}).compile()


def test_named_recipes_resolve():
    for name in RECIPES:
        cfg = resolve("imagenet", recipe(name))
        assert cfg.epochs in (90, 100) and cfg.momentum == 0.9 and cfg.weight_decay == 1e-4


STUDY = """
from tickets.study import Grid, Study
study = Study("top5", Grid(datasets=["synthetic"], models=["lenet5"], methods=["dense"], sparsities=[0.0],
                           train={"epochs": 1, "label_smoothing": 0.1}))
"""


def test_top5_reaches_the_store(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from registry.store import Store
    from tickets.cli.main import cli

    study = tmp_path / "top5.py"
    study.write_text(STUDY)
    home = tmp_path / "home"
    res = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    store = Store(home)
    row = store.frame("SELECT test_acc, test_top5, variant FROM run_results").iloc[0]
    assert row["test_top5"] >= row["test_acc"] and not math.isnan(row["test_top5"])
    assert "label_smoothing=0.1" in row["variant"]
    epochs = store.frame("SELECT test_top5 FROM epochs")
    assert len(epochs) == 1 and float(epochs["test_top5"].iloc[0]) == pytest.approx(float(row["test_top5"]))
