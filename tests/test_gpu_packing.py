"""`study run --share packed`: stages packed into one stacked training get what their separate runs
get, through the real study-run path (scheduler, executor, pack worker, domain, ingest)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from registry.packing import Pack, form_packs
from registry.store import Store
from tickets.cli.main import cli

STUDY = '''from tickets.study import Grid, Study
study = Study("packed",
    Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], sparsities=[0.0], seeds=[0, 1],
         train={"epochs": 1}),
    Grid(datasets=["synthetic"], models=["lenet300"], methods=["lt", "random_tickets"], sparsities=[0.9],
         seeds=[1], train={"epochs": 1}))
'''
COLUMNS = ("v.key, v.kind, v.method, v.seed, v.test_acc, v.best_test_acc, v.achieved_sparsity, r.device, "
           "r.torch_version, r.threads")


def _epochs(home):
    return Store(home).frame("SELECT key, phase, epoch, train_loss, test_loss, test_acc, lr FROM epochs "
                             "ORDER BY key, phase, epoch")


def test_a_packed_study_gives_every_stage_its_separate_result(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    study = tmp_path / "packed.py"
    study.write_text(STUDY)
    packed, alone = tmp_path / "packed", tmp_path / "alone"
    out = CliRunner().invoke(cli, ["--home", str(packed), "study", "run", str(study), "--share", "packed",
                                   "--runs-per-gpu", "3"])
    assert out.exit_code == 0, out.output
    assert "4/4 stages done, 4 ran now" in out.output
    packs = sorted((packed / "packs").iterdir())
    sizes = sorted(len(json.loads((p / "pack.json").read_text())["keys"]) for p in packs)
    assert sizes == [2, 2]  # the two pretrainings, then lt and random_tickets
    assert all((p / "result.json").exists() for p in packs)
    out = CliRunner().invoke(cli, ["--home", str(alone), "study", "run", str(study)])
    assert out.exit_code == 0, out.output

    a = Store(packed).frame(f"SELECT {COLUMNS} FROM run_results v JOIN runs r ON r.key = v.key ORDER BY v.key")
    b = Store(alone).frame(f"SELECT {COLUMNS} FROM run_results v JOIN runs r ON r.key = v.key ORDER BY v.key")
    assert list(a["key"]) == list(b["key"]) and len(a) == 4
    for col in ("test_acc", "best_test_acc", "achieved_sparsity"):
        assert a[col].tolist() == pytest.approx(b[col].tolist(), abs=1e-9), col
    for frame in (a, b):  # every run, packed or not, records what it ran on
        assert set(frame["device"]) == {"cpu"} and frame["torch_version"].notna().all()
        assert (frame["threads"] >= 1).all()
    ea, eb = _epochs(packed), _epochs(alone)
    assert len(ea) == len(eb) == 4
    for col in ("train_loss", "test_loss"):
        assert ea[col].tolist() == pytest.approx(eb[col].tolist(), rel=1e-4, abs=1e-5), col
    assert ea["test_acc"].tolist() == eb["test_acc"].tolist() and ea["lr"].tolist() == eb["lr"].tolist()
    pretrain = a.loc[a["method"] == "dense", "key"].iloc[0]
    meta = json.loads((packed / "runs" / pretrain / "meta.json").read_text())
    assert meta["packed_with"] == 2 and meta["device"] == "cpu"
    # the rewinding method (lt) read the packed pretraining's epoch-0 snapshot, like a separate run
    assert (packed / "runs" / pretrain / "pretrain" / "weights-0000.pt").exists()


def test_packs_group_by_key_in_chunks_and_leave_the_rest_alone():
    keys = ["a1", "b1", "a2", "x", "a3", "b2"]
    group = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "b2": "B", "x": None}
    units = form_packs(keys, group.get, size=2, packable=lambda k: k != "b2")
    shape = [u.members if isinstance(u, Pack) else u for u in units]
    assert shape == [("a1", "a2"), "a3", "b1", "x", "b2"]  # order is priority; `after` keeps dependencies
    assert form_packs(keys, group.get, size=1) == keys


def test_network_slimmings_penalised_pretraining_is_never_packed(tmp_path):
    """Its L1 on BN scales is a gradient hook on the model's parameters, which the stacked trainer
    replaces: packed, it would train without the penalty. Its plain dense sibling still packs."""
    from registry.plan import make_plan
    from registry.store import Store
    from tickets.domain import DOMAIN
    from tickets.study import load_study

    plan = make_plan(load_study(Path(__file__).resolve().parents[1] / "studies" / "rethinking_fashionmnist.py"), Store(tmp_path / "home"))
    pretrains = [s for s in plan.stages.values() if s.kind == "pretrain" and s.spec.get("model") == "mlp_bn"]
    slimming = [s for s in pretrains if s.spec.get("bn_l1")]
    plain = [s for s in pretrains if not s.spec.get("bn_l1") and not s.spec.get("soft_filter")]
    assert slimming and plain
    assert all(DOMAIN.pack_key(s) is None for s in slimming)
    assert all(DOMAIN.pack_key(s) is not None for s in plain)
