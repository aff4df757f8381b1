"""Cells → stages: validation, shared pretraining, and keys that stay stable."""
from __future__ import annotations

import pytest

from registry.errors import UserError
from tickets.domain import DOMAIN
from tickets.pruning.methods import RandomTickets, Snip


def cell(**kw):
    base = {"dataset": "cifar10", "model": "resnet32", "method": "lt", "sparsity": 0.9, "seed": 0}
    base.update(kw)
    return base


def keys(c):
    return [(s.kind, s.key) for s in DOMAIN.expand(c)]


def test_pinned_keys():
    # Changing these breaks every stored result: only on purpose, with a migration.
    assert keys(cell(method="dense", sparsity=0.0)) == [("pretrain", "0ca71093f680644d")]
    assert keys(cell()) == [("pretrain", "0ca71093f680644d"), ("ticket", "7a36ebf5cdd6e040")]
    assert keys(cell(method="random_tickets")) == [("ticket", "3feacbccb7893a16")]


def test_identity_layout():
    pre, ticket = DOMAIN.expand(cell(train={"epochs": 10}, check="rearrange"))
    assert dict(pre.identity) == {"dataset": "cifar10", "model": "resnet32", "seed": 0,
                                  "train": {"epochs": 10, "milestones": [5, 8]}}
    assert dict(ticket.identity) == {"dataset": "cifar10", "model": "resnet32", "method": {"name": "lt"},
                                     "sparsity": 0.9, "seed": 0, "check": "rearrange",
                                     "train": {"epochs": 10, "milestones": [5, 8]}}
    assert dict(ticket.deps) == {"pretrain": pre.key}
    assert dict(pre.columns) == {"dataset": "cifar10", "model": "resnet32", "method": "dense",
                                 "check": "none", "sparsity": 0.0, "seed": 0, "variant": "epochs=10 milestones=5,8"}
    assert dict(ticket.columns)["method"] == "lt" and dict(ticket.columns)["check"] == "rearrange"
    assert dict(ticket.columns)["variant"] == "epochs=10 milestones=5,8"
    rule = DOMAIN.expand(cell(method="random_tickets", method_options={"rule": "erk"}))[0]
    assert rule.columns["variant"] == "rule=erk"
    assert DOMAIN.expand(cell(method="snip"))[0].columns["variant"] == ""  # the papers' settings
    spec = ticket.spec
    assert spec["method"] == {"name": "lt", "prune_classifier": False}
    assert spec["train"]["epochs"] == 10 and spec["train"]["lr"] == 0.1
    assert pre.spec["snapshot_epochs"] == [0, 1, 2, 3, 5, 10]


def test_default_values_do_not_change_keys():
    plain = keys(cell(method="random_tickets"))
    assert keys(cell(method=RandomTickets())) == plain
    assert keys(cell(method=RandomTickets(rule="smart"))) == plain
    assert keys(cell(method="random_tickets", method_options={"rule": "smart"})) == plain
    assert keys(cell(method="random_tickets", train={"lr": 0.1, "epochs": 160})) == plain
    assert keys(cell(method="random_tickets", model_options={"width": 32})) == plain
    assert keys(cell(method=Snip(samples_per_class=10))) == keys(cell(method="snip"))
    # ...while a real change does
    assert keys(cell(method=RandomTickets(rule="erk"))) != plain
    assert keys(cell(method="random_tickets", seed=1)) != plain
    assert keys(cell(method="random_tickets", train={"lr": 0.05})) != plain


def test_methods_share_one_pretraining():
    dense = DOMAIN.expand(cell(method="dense", sparsity=0.0))
    assert len(dense) == 1 and dense[0].kind == "pretrain"
    shared = {dense[0].key}
    for method in ("lt", "imp", "wr", "lrr", "hybrid", "obd", "scratch_e", "scratch_b"):
        for sparsity in (0.9, 0.95):
            stages = DOMAIN.expand(cell(method=method, sparsity=sparsity))
            assert [s.kind for s in stages] == ["pretrain", "ticket"]
            shared.add(stages[0].key)
    assert len(shared) == 1
    # mask-level checks do not touch pretraining; data checks do
    assert DOMAIN.expand(cell(check="shuffle_weights"))[0].key in shared
    half = DOMAIN.expand(cell(method="lrr", check="half_data"))[0]
    assert half.key not in shared
    assert half.identity["data_check"] == "half_data" and half.columns["check"] == "half_data"
    assert DOMAIN.expand(cell(method="obd", check="half_data"))[0].key == half.key
    # methods that prune at initialisation have no pretrain stage
    for method in ("random", "random_tickets", "snip", "grasp", "synflow"):
        assert [s.kind for s in DOMAIN.expand(cell(method=method))] == ["ticket"]


@pytest.mark.parametrize("bad, message", [
    (dict(method="random_tickets", check="half_data"),
     "check 'half_data' does not apply to method 'random_tickets': it uses no data in its pruning step"),
    (dict(method="synflow", check="corrupt"), "uses no data"),
    (dict(method="random", check="random_labels"), "uses no data"),
    (dict(method="dense", sparsity=0.0, check="rearrange"), "does not apply to method 'dense'"),
    (dict(method="dense", sparsity=0.5), "sparsity must be 0"),
    (dict(method="lt", sparsity=0.0), "sparsity must be in (0, 1)"),
    (dict(sparsity=1.0), "sparsity must be in [0, 1)"),
    (dict(sparsity=-0.1), "sparsity must be in [0, 1)"),
    (dict(method="lottery"), "unknown method 'lottery'"),
    (dict(check="shuffle"), "unknown check 'shuffle'"),
    (dict(dataset="cifar11"), "unknown dataset 'cifar11'"),
    (dict(model="resnet33"), "unknown model 'resnet33'"),
    (dict(model="lenet5"), "lenet5"),  # 28x28 grayscale model on CIFAR
    (dict(method="random_tickets", method_options={"rule": "smarter"}), "unknown ratio rule 'smarter'"),
    (dict(method_options={"rounds": 3}), "unknown option 'rounds' for method lt"),
    (dict(method="wr", train={"epochs": 4}), "rewind_epoch 5 must be below the 4 training epochs"),
    (dict(method="wr", method_options={"rewind_epoch": 7}), "not a pretraining snapshot"),
    (dict(train={"epochs": -1}), "epochs must be >= 0"),
    (dict(train={"momentum_x": 1}), "unknown training option"),
    (dict(seed=-1), "seed must be a non-negative integer"),
    (dict(colour="red"), "unknown cell field 'colour'"),
    (dict(dataset="synthetic", model="lenet300", sparsity=0.9999), "classifier"),
])
def test_bad_cells_say_what_is_wrong(bad, message):
    with pytest.raises(UserError) as info:
        DOMAIN.expand(cell(**bad))
    assert message in str(info.value)


def test_unknown_method_lists_known_ones():
    with pytest.raises(UserError) as info:
        DOMAIN.expand(cell(method="lottery"))
    for name in ("dense", "lt", "random_tickets", "scratch_b"):
        assert name in str(info.value)
