"""Cost before you spend it: training work of missing stages, calibration on CPU, projected hours."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tickets.cli.main import cli
from tickets.cost import (EVAL_COST, Work, calibration_key, describe, project, save_calibration, stage_epochs,
                          training_work)
from tickets.domain import DOMAIN


def _stages(cells):
    out = {}
    for cell in cells:
        for stage in DOMAIN.expand(cell):
            out[stage.key] = stage
    return list(out.values())


def test_work_of_table1_like_stages():
    cells = [{"dataset": d, "model": "resnet32", "method": m, "sparsity": s, "seed": 0}
             for d in ("cifar10", "cifar100") for m, s in (("dense", 0.0), ("lt", 0.9), ("snip", 0.9))]
    work, unknown = training_work(_stages(cells))
    assert unknown == [] and len(work) == 1  # one model, one shape: cifar10 and cifar100 together
    w = work[0]
    assert (w.model, w.shape, w.batch_size, w.precision, w.stages, w.epochs) == ("resnet32", "3x32x32", 64, "fp32", 6, 960)
    assert w.images == pytest.approx(960 * (50_000 + EVAL_COST * 10_000))


def test_method_epochs():
    spec = {"train": {"epochs": 160}}
    assert stage_epochs({**spec, "method": {"name": "imp", "rounds": 5}}) == (800, False)
    assert stage_epochs({**spec, "method": {"name": "wr", "rewind_epoch": 5}}) == (155, False)
    assert stage_epochs({**spec, "method": {"name": "scratch_b", "max_scale": 2.0}}) == (320, True)
    assert stage_epochs({**spec, "method": {"name": "lt"}}) == (160, False)


def test_projection_arithmetic_and_text():
    work = [Work("resnet32", "3x32x32", 64, "fp32", "cifar10", 78, 12_480, 3.6e9, False),
            Work("vgg19", "3x32x32", 64, "fp32", "cifar10", 78, 12_480, 7.2e9, False)]
    cal = {calibration_key("resnet32", "3x32x32", 64, "H100", 4, "packed", "fp32"): {
               "device_name": "H100", "runs": 4, "share": "packed", "images_per_second": 100_000.0},
           calibration_key("vgg19", "3x32x32", 64, "H100", 4, "packed", "fp32"): {
               "device_name": "H100", "runs": 4, "share": "packed", "images_per_second": 200_000.0},
           calibration_key("vgg19", "3x32x32", 64, "H100", 1, "processes", "fp32"): {  # incomplete setting
               "device_name": "H100", "runs": 1, "share": "processes", "images_per_second": 50_000.0}}
    projections, uncovered = project(work, cal)
    assert uncovered == [] and len(projections) == 1
    p = projections[0]
    assert p.hours == pytest.approx((3.6e9 / 1e5 + 7.2e9 / 2e5) / 3600)  # 20 GPU-hours
    assert describe(p) == "156 stages, ≈ 20.0 GPU-hours on 1 × H100 at 4 runs per GPU (packed)"
    assert project(work, {})[1] == work


def test_calibrate_on_cpu_then_plan_projects_hours(tmp_path):
    home = tmp_path / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "calibrate", "--model", "lenet300", "--dataset",
                                   "synthetic", "--steps", "2", "--batch-size", "32"])
    assert out.exit_code == 0, out.output
    entry = json.loads((home / "calibration.json").read_text())["lenet300|1x28x28|b32|cpu|1xprocesses|fp32"]
    assert entry["images_per_second"] > 0 and entry["device"] == "cpu" and entry["threads"] >= 1
    study = tmp_path / "s.py"
    study.write_text('from tickets.study import Grid, Study\n'
                     'study = Study("s", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], '
                     'sparsities=[0.0], seeds=[0, 1]))\n')
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "plan", str(study)])
    assert out.exit_code == 0, out.output
    assert "training work of the 2 missing stages: 8 epochs" in out.output  # synthetic trains 4 epochs
    work, _ = training_work(_stages([{"dataset": "synthetic", "model": "lenet300", "method": "dense", "seed": s}
                                     for s in (0, 1)]))
    hours = work[0].images / entry["images_per_second"] / 3600
    assert f"2 stages, ≈ {hours:,.1f} CPU-hours on 1 × cpu at 1 run per CPU (processes)" in out.output


def test_calibrate_refuses_gpus_without_cuda(tmp_path):
    out = CliRunner().invoke(cli, ["--home", str(tmp_path), "calibrate", "--model", "resnet32", "--dataset",
                                   "cifar10", "--gpus", "0"])
    assert out.exit_code == 2 and "CUDA is not available here" in out.output
    assert not (tmp_path / "calibration.json").exists()
    save_calibration(tmp_path, {"model": "m", "shape": "1x1x1", "batch_size": 1, "device_name": "cpu", "runs": 1,
                                "share": "processes", "precision": "fp32", "images_per_second": 1.0})
    assert list(json.loads((tmp_path / "calibration.json").read_text())) == ["m|1x1x1|b1|cpu|1xprocesses|fp32"]


def test_evaluation_stages_train_nothing_and_are_not_costed():
    cells = [{"dataset": "fashionmnist", "model": "lenet300", "method": m, "sparsity": s, "seed": 0,
              "evals": ["calibration", "fgsm"]} for m, s in (("dense", 0.0), ("random_tickets", 0.9))]
    stages = _stages(cells)
    assert sorted(s.kind for s in stages) == ["eval"] * 4 + ["pretrain", "ticket"]
    work, unknown = training_work(stages)
    assert unknown == [] and [w.stages for w in work] == [2]  # the two trainings, none of the four evaluations
