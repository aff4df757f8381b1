"""--gpus and --runs-per-gpu: loud refusal without CUDA or with unknown ids, and the worker slots."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from registry.errors import UserError
from registry.executors import gpu_slots
from registry.executors.gpu_slots import check_gpus, gpu_slots as slots_of, parse_gpus, physical_id
from tickets.cli.main import cli

STUDY = ('from tickets.study import Grid, Study\n'
         'study = Study("g", Grid(datasets=["synthetic"], models=["lenet300"], methods=["dense"], '
         'sparsities=[0.0], seeds=[0], train={"epochs": 1}))\n')


def _run(tmp_path, *args):
    study = tmp_path / "g.py"
    study.write_text(STUDY)
    home = tmp_path / "home"
    out = CliRunner().invoke(cli, ["--home", str(home), "study", "run", str(study), *args])
    return out, home


def test_gpus_without_cuda_is_one_line_exit_2_and_nothing_starts(tmp_path):
    """This machine has no GPU: before, --gpus silently trained on the CPU."""
    out, home = _run(tmp_path, "--gpus", "0")
    assert out.exit_code == 2, out.output
    lines = [line for line in out.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --gpus 0: CUDA is not available here")
    assert not (home / "runs").exists() and not (home / "store.duckdb").exists()


def test_a_gpu_id_the_machine_lacks_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_slots, "cuda_devices", lambda: (2, ""))
    out, home = _run(tmp_path, "--gpus", "0,3")
    assert out.exit_code == 2
    assert "error: --gpus: GPU 3 does not exist; this machine has 2 (ids 0-1)" in out.output
    assert not (home / "runs").exists()


@pytest.mark.parametrize("value, message", [("0,x", "'x' is not a GPU id"), ("1,1", "GPU 1 is listed twice"),
                                            (",", "give device ids like 0,1")])
def test_bad_gpu_lists(value, message):
    with pytest.raises(UserError, match=message):
        parse_gpus(value)


def test_runs_per_gpu_without_gpus_or_packing_is_refused(tmp_path):
    out, home = _run(tmp_path, "--runs-per-gpu", "4")
    assert out.exit_code == 2 and "--runs-per-gpu 4 needs --gpus" in out.output
    assert not (home / "runs").exists()


def test_slots_per_gpu_and_thread_split(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    slots = slots_of(["0", "1"], runs_per_gpu=4, share="processes", cpu_count=16)
    assert [s["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0"] * 4 + ["1"] * 4
    assert {s["OMP_NUM_THREADS"] for s in slots} == {"2"}
    packed = slots_of(["0", "1"], runs_per_gpu=4, share="packed", cpu_count=16)
    assert [s["CUDA_VISIBLE_DEVICES"] for s in packed] == ["0", "1"]  # one packing worker per GPU
    with pytest.raises(UserError, match="unknown sharing mode 'graphs'"):
        slots_of(["0"], share="graphs")


def test_ids_count_the_gpus_this_process_sees():
    assert physical_id("0", visible="2,3") == "2" and physical_id("1", visible="2,3") == "3"
    assert physical_id("1", visible="") == "1"


def test_check_gpus_accepts_existing_ids():
    check_gpus(["0", "1"], devices=lambda: (2, ""))
    with pytest.raises(UserError, match="CUDA is not available here \\(no driver\\)"):
        check_gpus(["0"], devices=lambda: (0, "no driver"))


def test_packing_is_refused_for_a_detached_executor(tmp_path):
    out, home = _run(tmp_path, "--executor", "slurm", "--share", "packed", "--runs-per-gpu", "2")
    assert out.exit_code == 2 and "--share packed works with the local executor only, not 'slurm'" in out.output
    assert not (home / "runs").exists()
