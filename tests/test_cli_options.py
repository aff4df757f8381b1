"""NAME=VALUE parsing shared by train, run, models and ratios: typed by what the value is for."""
from __future__ import annotations

import pytest

from registry.errors import UserError
from tickets.cli.options import model_options, pairs, train_overrides
from tickets.domain import DOMAIN


def test_training_values_take_the_config_field_types():
    got = train_overrides(pairs(("epochs=3", "milestones=2,3", "lr=0.05", "nesterov=yes", "precision=fp32"), "--set"))
    assert got == {"epochs": 3, "milestones": (2, 3), "lr": 0.05, "nesterov": True, "precision": "fp32"}
    assert train_overrides({"milestones": "[2, 3]"})["milestones"] == (2, 3)


def test_the_same_text_gives_the_same_key_from_any_command():
    cell = {"dataset": "synthetic", "model": "lenet300", "method": "snip", "sparsity": 0.9, "seed": 1}
    typed = {**cell, "train": {"epochs": 3, "milestones": (2,)}, "method_options": {"samples_per_class": 5}}
    parsed = {**cell, "train": train_overrides(pairs(("epochs=3", "milestones=2"), "--set")),
              "method_options": pairs(("samples_per_class=5",), "--opt")}
    assert [s.key for s in DOMAIN.expand(parsed)] == [s.key for s in DOMAIN.expand(typed)]


def test_model_options_follow_their_defaults_type():
    assert model_options("resnet20", {"width": "16"}) == {"width": 16}
    assert model_options("vgg11", {"width": "0.5"}) == {"width": 0.5}


@pytest.mark.parametrize("call, message", [
    (lambda: pairs(("epochs",), "--set"), "--set must look like key=value, got 'epochs'"),
    (lambda: train_overrides({"epoch": "3"}), "unknown training option 'epoch'; known: epochs,"),
    (lambda: train_overrides({"epochs": "three"}), "training option epochs must be int, got 'three'"),
    (lambda: train_overrides({"nesterov": "maybe"}), "training option nesterov must be bool"),
    (lambda: model_options("resnet20", {"depth": "3"}), "unknown option 'depth' for model resnet20"),
])
def test_bad_values_are_one_clear_line(call, message):
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
