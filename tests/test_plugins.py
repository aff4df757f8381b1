"""Plugin modules: a study's own model reaches the plan and every worker (issue 15, "Extending")."""
from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner

from registry.atomic import read_json
from registry.errors import UserError
from registry.store import Store
from tickets.cli.main import cli

PLUGIN = '''
from torch import nn
from tickets.models import register_model

@register_model("{name}", family="tinymlp", options={{"hidden": 16}})
def build(info, hidden):
    return nn.Sequential(nn.Flatten(), nn.Linear(info.channels * info.size * info.size, hidden), nn.ReLU(),
                         nn.Linear(hidden, info.num_classes))
'''

STUDY = '''
from tickets.study import Grid, Study
study = Study("plugged", Grid(datasets=["synthetic"], models=["{name}"], methods=["{method}"],
                              sparsities=[{sparsity}], seeds=[0], train={{"epochs": 1}}),
              plugins=["mylab_models.py"])
'''


def _write(tmp_path, method="random_tickets", sparsity=0.5):
    name = f"mlp_{uuid.uuid4().hex[:8]}"  # registries are per process: one fresh name per test
    (tmp_path / "mylab_models.py").write_text(PLUGIN.format(name=name))
    study = tmp_path / "plugged.py"
    study.write_text(STUDY.format(name=name, method=method, sparsity=sparsity))
    return name, study


@pytest.mark.slow
def test_a_plugin_model_runs_in_the_local_workers(tmp_path):
    name, study = _write(tmp_path)
    home = tmp_path / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study)])
    assert out.exit_code == 0, out.output
    rows = Store(home).frame("SELECT key, model, method, status, test_acc FROM run_results")
    assert list(rows["model"]) == [name] and list(rows["status"]) == ["done"]
    stage = read_json(home / "runs" / rows["key"][0] / "stage.json")
    # recorded for the workers, as an absolute path (a worker's cwd may differ), not part of the key
    assert stage["plugins"] == [str((tmp_path / "mylab_models.py").resolve())]
    assert "plugins" not in json.dumps(stage["identity"])


def test_a_model_registered_in_the_study_file_is_refused_at_plan_time(tmp_path):
    name = f"mlp_{uuid.uuid4().hex[:8]}"
    study = tmp_path / "inline.py"
    study.write_text(PLUGIN.format(name=name) + STUDY.format(name=name, method="dense", sparsity=0)
                     .replace('plugins=["mylab_models.py"]', ""))
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "study", "plan", str(study)])
    assert out.exit_code == 2
    assert f"model '{name}' is registered in the study file, which workers never read" in out.output
    assert len(out.output.strip().splitlines()) == 1


def test_an_unknown_model_fails_the_plan_with_one_line_naming_plugins(tmp_path):
    study = tmp_path / "s.py"
    study.write_text(STUDY.format(name="nosuchnet", method="dense", sparsity=0).replace(
        'plugins=["mylab_models.py"]', ""))
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "study", "plan", str(study)])
    assert out.exit_code == 2 and len(out.output.strip().splitlines()) == 1
    assert "unknown model 'nosuchnet'" in out.output and "plugins=" in out.output


def test_a_missing_plugin_is_one_line(tmp_path):
    _, study = _write(tmp_path, method="dense", sparsity=0)
    (tmp_path / "mylab_models.py").unlink()
    out = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "study", "plan", str(study)])
    assert out.exit_code == 2 and "plugin file" in out.output and "mylab_models.py not found" in out.output


def test_plugins_from_the_environment_and_the_command_line(tmp_path, monkeypatch):
    name = f"mlp_{uuid.uuid4().hex[:8]}"
    (tmp_path / "envplug.py").write_text(PLUGIN.format(name=name))
    study = tmp_path / "s.py"
    study.write_text(STUDY.format(name=name, method="dense", sparsity=0).replace('plugins=["mylab_models.py"]', ""))
    home = tmp_path / "home"
    monkeypatch.setenv("TICKETS_PLUGINS", "")  # recorded, so what --plugin sets there is undone after the test
    out = CliRunner().invoke(cli, ["--home", str(home), "--plugin", str(tmp_path / "envplug.py"),
                                   "study", "plan", str(study)])
    assert out.exit_code == 0, out.output
    assert "1 stages with shared pretraining" in out.output


def test_a_plugin_model_of_its_own_family_works_with_every_ratio_rule():
    from torch import nn

    from tickets.data import dataset_info
    from tickets.models import build_model, model_family, register_model
    from tickets.pruning.ratios import RATIOS, keep_counts

    name = f"fam_{uuid.uuid4().hex[:8]}"

    @register_model(name, family="transformerish")
    def build(info):
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.Linear(300, 100), nn.Linear(100, 10))

    assert model_family(name) == "transformerish"
    net = build_model(name, dataset_info("synthetic"))
    worked = 0
    for rule in RATIOS.names():
        try:  # a plugin's family is a plain stack of layers: the same counts as a built-in MLP
            expected = keep_counts(rule, net, 0.8, family="mlp")
        except UserError:  # infeasible for this shape (e.g. uniform_plus's dense first layer) either way
            with pytest.raises(UserError):
                keep_counts(rule, net, 0.8, family=model_family(name))
            continue
        counts = keep_counts(rule, net, 0.8, family=model_family(name))
        assert counts == expected, rule
        assert abs(sum(counts.values()) - 0.2 * 266200) < 0.01 * 266200, rule
        worked += 1
    shape_rules = [r for r in RATIOS.names() if not RATIOS.meta(r).get("scorer")]  # scored: need data
    assert worked >= len(shape_rules) - 1


@pytest.mark.slow
def test_the_slurm_stage_job_imports_the_plugins_recorded_in_stage_json(tmp_path):
    """What a SLURM array task runs on its node (StageJob -> `python -m registry.worker RUNDIR`): it
    knows nothing but the run directory, so the plugins must come from stage.json."""
    from registry.executors.slurm import make_stage_job
    from registry.plan import make_plan
    from registry.scheduler import write_stage
    from tickets.study import load_study

    name, study_file = _write(tmp_path, method="dense", sparsity=0)
    store = Store(tmp_path / "home")
    plan = make_plan(load_study(study_file), store)
    (key,) = plan.stages
    rundir = write_stage(store, key, plan)
    assert make_stage_job()(str(rundir)) == 0, (rundir / "worker.log").read_text()
    result = read_json(rundir / "result.json")
    assert 0 <= result["test_acc"] <= 100
    assert read_json(rundir / "meta.json")["code_version"].startswith("tickets ")


def test_tickets_models_lists_a_plugin_model(tmp_path, monkeypatch):
    name = f"mlp_{uuid.uuid4().hex[:8]}"
    (tmp_path / "listed.py").write_text(PLUGIN.format(name=name))
    monkeypatch.setenv("TICKETS_PLUGINS", str(tmp_path / "listed.py"))
    out = CliRunner().invoke(cli, ["models", "--dataset", "synthetic"])
    assert out.exit_code == 0 and name in out.output and "tinymlp" in out.output, out.output
