"""The method registry: names, planning flags, option handling and schedule arithmetic."""
from __future__ import annotations

import pytest

from registry.errors import UserError
from tickets.config import resolve
from tickets.pruning.methods import METHODS, RandomTickets, method_from
from tickets.pruning.steps import derived_seed, schedule_from, snapshot_epochs

NAMES = ["dense", "random", "random_tickets", "snip", "grasp", "synflow", "lt", "imp", "wr", "lrr",
         "hybrid", "obd", "scratch_e", "scratch_b"]
STRUCTURED = ["l1_filter", "slimming", "channel_scale"]  # "Rethinking the Value of Network Pruning"
# also Rethinking's: weight-level pruning, soft filter pruning, its predefined ImageNet architectures
RETHINKING = ["weight_level", "sfp", "predefined"]


def test_every_method_of_the_design_is_registered():
    assert sorted(METHODS.names()) == sorted(NAMES + STRUCTURED + RETHINKING)
    needs = {n for n in NAMES if METHODS.get(n).needs_pretrain}
    assert needs == {"lt", "imp", "wr", "lrr", "hybrid", "obd", "scratch_e", "scratch_b"}
    data_free = {n for n in NAMES if not METHODS.get(n).uses_data}
    assert data_free == {"dense", "random", "random_tickets", "synflow"}
    for name in NAMES:
        assert METHODS.get(name).name == name


def test_paper_defaults():
    # options whose default depends on the dataset/network are None until a run resolves them
    assert method_from("snip").samples_per_class is None
    assert method_from("snip").resolved("cifar10", "resnet32").samples_per_class == 10
    grasp = method_from("grasp").resolved("cifar10", "vgg19")
    assert (grasp.samples_per_class, grasp.iterations, grasp.temperature) == (10, 1, 200.0)
    assert (grasp.reinit_classifier, grasp.half_batches, grasp.augment) == (True, True, True)
    deep = method_from("grasp").resolved("cifar10", "resnet56")
    assert (deep.samples_per_class, deep.iterations) == (1, 10)
    tiny = method_from("snip").resolved("tinyimagenet", "vgg19")
    assert (tiny.samples_per_class, tiny.iterations) == (1, 10)
    old = method_from("grasp", {"fidelity": "v1"}).resolved("tinyimagenet", "resnet110")
    assert (old.samples_per_class, old.iterations, old.reinit_classifier, old.augment) == (10, 1, False, False)
    assert method_from("synflow").iterations == 100
    assert method_from("random_tickets").rule == "smart"
    assert method_from("hybrid").rule == "smart"
    assert method_from("lt").prune_classifier is False


def test_options_from_strings_instances_and_specs():
    assert method_from("imp", {"rounds": "3"}).rounds == 3
    assert method_from("grasp", {"temperature": "100"}).temperature == 100.0
    assert method_from("lt", {"prune_classifier": "true"}).prune_classifier is True
    assert method_from(RandomTickets(rule="erk")) == RandomTickets(rule="erk")
    assert method_from(RandomTickets(rule="erk"), {"rule": "er"}).rule == "er"
    spec = {"name": "wr", "rewind_epoch": 3, "prune_classifier": False}
    assert method_from(spec).rewind_epoch == 3
    assert method_from("wr", {"rewind_epoch": 3}).identity() == {"name": "wr", "rewind_epoch": 3}
    assert method_from("wr").identity() == {"name": "wr"}


@pytest.mark.parametrize("name, options, message", [
    ("lotery", {}, "unknown method 'lotery'; known: channel_scale, dense, grasp"),
    ("snip", {"samples": 3}, "unknown option 'samples' for method snip; accepted options: samples_per_class"),
    ("snip", {"samples_per_class": "ten"}, "option samples_per_class must be int"),
    ("snip", {"samples_per_class": 0}, "samples_per_class must be an integer >= 1"),
    ("lt", {"prune_classifier": "maybe"}, "option prune_classifier must be bool"),
    ("grasp", {"fidelity": "paper"}, "fidelity must be one of released, v1, got 'paper'"),
    ("grasp", {"iterations": "0"}, "iterations must be an integer >= 1"),
    ("random_tickets", {"rule": "golden"}, "unknown ratio rule 'golden'"),
    ("scratch_b", {"max_scale": 0.5}, "max_scale must be >= 1"),
])
def test_bad_methods_and_options(name, options, message):
    with pytest.raises(UserError) as info:
        method_from(name, options)
    assert message in str(info.value)


def test_weight_rewinding_schedule_continues_where_epoch_k_was():
    config = resolve("cifar10")  # 160 epochs, x0.1 at 80 and 120
    rest = schedule_from(config, 5)
    assert (rest.epochs, rest.milestones, rest.lr) == (155, (75, 115), 0.1)
    late = schedule_from(config, 100)
    assert (late.epochs, late.milestones) == (60, (20,))
    assert late.lr == pytest.approx(0.01)
    with pytest.raises(UserError):
        schedule_from(config, 160)


def test_snapshot_epochs():
    assert snapshot_epochs(160) == (0, 1, 2, 3, 5, *range(10, 161, 10))
    assert snapshot_epochs(2) == (0, 1, 2)
    assert snapshot_epochs(0) == (0,)


def test_derived_seeds_differ_by_purpose_and_seed():
    assert derived_seed(0, "a") == derived_seed(0, "a")
    assert len({derived_seed(0, "a"), derived_seed(1, "a"), derived_seed(0, "b")}) == 3
