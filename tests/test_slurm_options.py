"""SLURM executor options, checked without a cluster: time limits, memory, extra sbatch options,
environment defaults, and the refusals (one line each) that happen before anything is submitted."""
from __future__ import annotations

import pytest

from registry.errors import UserError
from registry.executors import EXECUTORS
from registry.executors.slurm import (SlurmExecutor, parse_mem, parse_sbatch, parse_time,
                                      resources_from)


@pytest.mark.parametrize("value, seconds", [
    (90, 5400), ("90", 5400), ("10:30", 630), ("01:30:00", 5400), ("1-00", 86400),
    ("1-02:03", 93780), ("1-02:03:04", 93784),
])
def test_time_limits_in_slurm_formats(value, seconds):
    assert parse_time(value) == seconds


@pytest.mark.parametrize("value", ["", "soon", "1:2:3:4", "-5", "0", True, "1.5"])
def test_bad_time_limits(value):
    with pytest.raises(UserError, match="time"):
        parse_time(value)


@pytest.mark.parametrize("value, mem", [("8G", "8192M"), ("8GB", "8192M"), ("500M", "500M"), (2048, "2048M"),
                                        ("1.5g", "1536M"), ("1T", "1048576M")])
def test_memory_sizes(value, mem):
    assert parse_mem(value) == mem


@pytest.mark.parametrize("value", ["lots", "8Q", "0", "-1G", True])
def test_bad_memory_sizes(value):
    with pytest.raises(UserError, match="mem"):
        parse_mem(value)


def test_extra_sbatch_options_from_dict_list_or_string():
    assert parse_sbatch({"account": "lab", "qos": "high"}) == {"account": "lab", "qos": "high"}
    assert parse_sbatch(["--account=lab", "--exclusive"]) == {"account": "lab", "exclusive": True}
    assert parse_sbatch("--account=lab --constraint='a100|h100'") == {"account": "lab", "constraint": "a100|h100"}
    assert parse_sbatch(None) == {}


@pytest.mark.parametrize("value, message", [
    ("--time=10", "use the executor option 'time'"),
    (["--array=0-3"], "use the executor option 'array_parallelism'"),
    ({"dependency": "afterok:1"}, "the executor sets it itself"),
    ("account=lab", "should look like --key=value"),
])
def test_sbatch_options_the_executor_owns_are_refused(value, message):
    with pytest.raises(UserError, match=message):
        parse_sbatch(value)


def test_time_must_hold_the_signal_lead_and_one_checkpoint_interval():
    assert resources_from({"time": 3}).time_min == 3  # 120 s lead + 60 s interval = 180 s
    with pytest.raises(UserError, match=r"time 2 is too short: .* at least 3 minutes"):
        resources_from({"time": 2})
    assert resources_from({"time": "00:01:30", "signal_lead": 30}).time_min == 2  # rounded up for sbatch
    with pytest.raises(UserError, match="too short"):
        resources_from({"time": 30, "checkpoint_interval": 1800})


def test_options_come_from_arguments_then_environment(monkeypatch):
    monkeypatch.setenv("TICKETS_SLURM_PARTITION", "gpu")
    monkeypatch.setenv("TICKETS_SLURM_GPUS_PER_RUN", "1")
    monkeypatch.setenv("TICKETS_SLURM_MEM", "16G")
    ex = EXECUTORS.get("slurm")(workers=1, partition="long")
    assert ex.detached and ex.name == "slurm"
    r = ex.resources
    assert (r.partition, r.gpus_per_run, r.mem, r.time_min) == ("long", 1, "16384M", 60)
    assert "--gpus-per-node=1" in r.sbatch_flags() and "--partition=long" in r.sbatch_flags()


def test_unknown_option_and_local_gpu_list_are_refused():
    with pytest.raises(UserError, match="unknown slurm executor option 'gpu'; known: partition"):
        SlurmExecutor(options={"gpu": 1})
    with pytest.raises(UserError, match="gpus_per_run"):
        EXECUTORS.get("slurm")(gpus=["0"])


def test_no_sbatch_means_one_line_and_nothing_submitted(monkeypatch, tmp_path):
    from registry.executors import Job

    monkeypatch.setenv("PATH", str(tmp_path))
    rundir = tmp_path / "runs" / "k"
    rundir.mkdir(parents=True)
    with pytest.raises(UserError, match="needs `sbatch` on PATH"):
        SlurmExecutor().launch([Job("k", rundir)], lambda *a: None)
    assert not (rundir / "submitted.json").exists()
    # without squeue nothing can be alive, and there is nothing to cancel
    assert SlurmExecutor().alive({"job_id": "12_3"}) is False
    assert SlurmExecutor().cancel([]) == 0
