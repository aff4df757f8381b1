"""The pieces of a multi-rank run that need no second process: where each rank sits (SLURM's
environment -> address, port, rank and world), the verdict on a failed launch, the executors'
options, and the write guard that keeps ranks > 0 out of the run directory."""
from __future__ import annotations

import shutil
import signal
import subprocess

import pytest

from registry import ranks
from registry.atomic import _READ_ONLY, refuse_writes_under, write_json
from registry.errors import UserError


def test_slurm_host_lists_expand_like_scontrol():
    assert ranks.expand_hostlist("gpu[01-03,07],login1") == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]
    assert ranks.expand_hostlist("node7") == ["node7"]
    assert ranks.expand_hostlist("a[8-10]-ib") == ["a8-ib", "a9-ib", "a10-ib"]
    if shutil.which("scontrol"):  # SLURM's own expansion, where the client is installed
        out = subprocess.run(["scontrol", "show", "hostnames", "gpu[01-03,07],login1"], capture_output=True,
                             text=True, timeout=30)
        if out.returncode == 0:
            assert out.stdout.split() == ["gpu01", "gpu02", "gpu03", "gpu07", "login1"]


def test_a_slurm_task_knows_its_ranks_master_and_port():
    env = {"SLURM_JOB_ID": "123456", "SLURM_NTASKS": "4", "SLURM_PROCID": "3", "SLURM_LOCALID": "1",
           "SLURM_JOB_NODELIST": "n[1-2]", ranks.ENV_RANKS_PER_TASK: "2"}
    plan = ranks.slurm_plan(env, hosts=ranks.expand_hostlist(env["SLURM_JOB_NODELIST"]))
    assert (plan.agents, plan.agent, plan.per_agent, plan.world) == (4, 3, 2, 8)
    assert plan.master_addr == "n1" and plan.master_port == 20000 + 123456 % 20000 == 23456
    assert [plan.global_rank(i) for i in range(2)] == [6, 7]
    assert plan.device_offset == 2  # second task on its node: GPUs 2 and 3 of the node
    assert ranks.rank_env(plan, 1) == {"RANK": "7", "WORLD_SIZE": "8", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2",
                                       "GROUP_RANK": "3", "MASTER_ADDR": "n1", "MASTER_PORT": "23456"}
    # every task of the job derives the same address and port without talking to the others
    other = ranks.slurm_plan({**env, "SLURM_PROCID": "0", "SLURM_LOCALID": "0"}, hosts=["n1", "n2"])
    assert (other.master_addr, other.master_port, other.global_rank(0)) == ("n1", 23456, 0)
    with pytest.raises(UserError, match="SLURM_PROCID 4 is outside the job's 4 tasks"):
        ranks.slurm_plan({**env, "SLURM_PROCID": "4"}, hosts=["n1"])


def test_which_plan_a_worker_follows():
    assert not ranks.plan_here({}).multi  # today's single process
    assert not ranks.plan_here({"SLURM_JOB_ID": "5", "SLURM_NTASKS": "1"}).multi  # a one-task SLURM job
    assert ranks.plan_here({ranks.ENV_RANKS: "2"}).world == 2  # the local executor's --ranks-per-run
    job = {"SLURM_JOB_ID": "5", "SLURM_NTASKS": "2", "SLURM_PROCID": "1", "SLURM_JOB_NODELIST": "localhost"}
    assert not ranks.plan_here(job).multi  # `salloc -n 2` around a local sweep: not our multi-rank job
    slurm = ranks.plan_here({**job, ranks.ENV_RANKS_PER_TASK: "1"})
    assert (slurm.world, slurm.agent) == (2, 1)
    with pytest.raises(UserError, match="TICKETS_RANKS_PER_RUN '0' must be a whole number >= 1"):
        ranks.plan_here({ranks.ENV_RANKS: "0"})


def _error(rundir, rank, reason):
    ranks.record_error(rundir, rank, reason, "")


def test_the_verdict_of_a_failed_launch(tmp_path):
    killed = ranks.Outcome(False, {1: -signal.SIGKILL, 0: -signal.SIGTERM})
    assert ranks.verdict(tmp_path, killed) == ("interrupted", signal.SIGKILL)
    _error(tmp_path, 0, "RuntimeError: [gloo/transport/tcp/pair.cc:545] Read error: Connection reset by peer")
    assert ranks.verdict(tmp_path, killed) == ("interrupted", signal.SIGKILL)  # a consequence, not a cause
    # a peer on another node went away: only broken connections here, nobody killed
    assert ranks.verdict(tmp_path, ranks.Outcome(False, {0: 1})) == ("interrupted", signal.SIGTERM)
    _error(tmp_path, 1, "ValueError: bad mask")  # a rank's own error is the stage's failure
    assert ranks.verdict(tmp_path, killed) == ("failed", "rank 1: ValueError: bad mask")
    empty = tmp_path / "empty"
    assert ranks.verdict(empty, ranks.Outcome(False, {0: 3})) == ("failed", "ranks exited without a result (rank 0: 3)")
    assert ranks.verdict(empty, ranks.Outcome(False, {}, signal=signal.SIGTERM)) == ("interrupted", signal.SIGTERM)


def test_ranks_above_zero_cannot_write_the_run_directory(tmp_path):
    rundir = tmp_path / "run"
    before = list(_READ_ONLY)
    try:
        refuse_writes_under(rundir, rundir / ranks.RANKS_DIR)
        write_json(rundir / "result.json", {"x": 1})
        write_json(rundir / "retrain" / "ckpt.json", {"x": 1})
        ranks.record_error(rundir, 1, "ValueError: x", "")
        write_json(tmp_path / "data.json", {"x": 1})  # outside the run directory: the data cache
    finally:
        _READ_ONLY[:] = before
    assert not (rundir / "result.json").exists() and not (rundir / "retrain").exists()
    assert (rundir / "ranks" / "error-1.json").exists() and (tmp_path / "data.json").exists()


def test_local_executor_ranks_and_gpu_groups():
    from registry.executors import EXECUTORS
    from registry.plan import load_executors

    load_executors()
    from registry.executors.gpu_slots import gpu_slots, parse_gpus

    cpu = EXECUTORS.get("local")(workers=2, ranks_per_run=2)
    assert [s[ranks.ENV_RANKS] for s in cpu.slots] == ["2", "2"]
    assert ranks.ENV_RANKS not in EXECUTORS.get("local")(workers=1).slots[0]
    slots = gpu_slots(parse_gpus("0-7"), 2, gpus_per_run=4, cpu_count=16)
    assert [s["CUDA_VISIBLE_DEVICES"] for s in slots] == ["0,1,2,3", "0,1,2,3", "4,5,6,7", "4,5,6,7"]
    assert {s[ranks.ENV_RANKS] for s in slots} == {"4"} and {s["OMP_NUM_THREADS"] for s in slots} == {"1"}
    assert [s["CUDA_VISIBLE_DEVICES"] for s in gpu_slots(["0", "1"], 1, cpu_count=4)] == ["0", "1"]
    with pytest.raises(UserError, match="--gpus-per-run 4 does not divide the 6 GPUs"):
        gpu_slots(parse_gpus("0-5"), gpus_per_run=4)
    with pytest.raises(UserError, match="cannot be combined with --gpus-per-run"):
        gpu_slots(["0", "1"], 2, share="packed", gpus_per_run=2)
    with pytest.raises(UserError, match="--gpus-per-run 2 needs --gpus"):
        EXECUTORS.get("local")(gpus_per_run=2)
    with pytest.raises(UserError, match="ranks_per_run 'x' must be a whole number"):
        EXECUTORS.get("local")(ranks_per_run="x")


def test_slurm_options_for_one_run_across_tasks_and_nodes():
    from registry.executors import EXECUTORS
    from registry.plan import load_executors

    load_executors()
    from registry.executors.slurm import resources_from

    assert resources_from({}).world == 1 and "--nodes=1" not in " ".join(resources_from({}).sbatch_flags())
    two_nodes = resources_from({"nodes": 2, "gpus_per_node": 4})
    assert (two_nodes.world, two_nodes.ranks_per_task) == (8, 4)
    assert {"--nodes=2", "--ntasks-per-node=1", "--gpus-per-node=4"} <= set(two_nodes.sbatch_flags())
    assert two_nodes.as_record()["world_size"] == 8
    split = resources_from({"gpus_per_run": 4, "tasks_per_node": 2})
    assert (split.world, split.ranks_per_task, split.gpus_per_run) == (4, 2, 4)
    assert resources_from({"tasks_per_node": 2}).world == 2  # CPU: one rank per task
    with pytest.raises(UserError, match="tasks_per_node 2 does not divide gpus_per_node 3"):
        resources_from({"gpus_per_node": 3, "tasks_per_node": 2})
    with pytest.raises(UserError, match="give gpus_per_node"):
        resources_from({"nodes": 2, "gpus_per_run": 4})
    with pytest.raises(UserError, match="not both"):
        resources_from({"gpus_per_node": 2, "gpus_per_run": 2})
    assert EXECUTORS.get("slurm")(ranks_per_run=2).resources.world == 2
    with pytest.raises(UserError, match="sbatch option --nodes cannot be passed through: use the executor option 'nodes'"):
        resources_from({"sbatch": "--nodes=2"})


def test_only_slurm_tasks_above_zero_join(monkeypatch):
    from registry.executors.slurm import _joiner

    monkeypatch.setenv("SLURM_NTASKS", "2")
    monkeypatch.setenv("SLURM_PROCID", "1")
    assert not _joiner()  # a multi-task allocation that is not one of our multi-rank jobs
    monkeypatch.setenv("TICKETS_RANKS_PER_TASK", "1")
    assert _joiner()
    monkeypatch.setenv("SLURM_PROCID", "0")
    assert not _joiner()
    monkeypatch.setenv("SLURM_NTASKS", "1")
    assert not _joiner()


def _mask_rank(rank: int, store: str, out: str) -> None:
    """One of two real gloo processes: the same mask passes the check, a differing one is refused."""
    import torch
    import torch.distributed as dist

    from tickets.train.distributed import Dist, check_same_mask

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=2)
    d, cpu = Dist(rank=rank, world=2, backend="gloo"), torch.device("cpu")
    same = {"fc.weight": torch.tensor([[True, False], [False, True]]), "out.weight": torch.ones(3, dtype=torch.bool)}
    check_same_mask(same, d, cpu)
    differ = {**same, "fc.weight": same["fc.weight"].roll(rank, 1)}  # same count, other positions on rank 1
    try:
        check_same_mask(differ, d, cpu)
        verdict = "accepted"
    except RuntimeError as exc:
        verdict = "refused" if "ranks computed different masks" in str(exc) else f"other: {exc}"
    with open(f"{out}-{rank}", "w") as fh:
        fh.write(verdict)
    dist.destroy_process_group()


def test_ranks_refuse_to_train_different_masks(tmp_path):
    import torch.multiprocessing as mp

    mp.spawn(_mask_rank, args=(str(tmp_path / "store"), str(tmp_path / "verdict")), nprocs=2)
    assert [(tmp_path / f"verdict-{r}").read_text() for r in (0, 1)] == ["refused", "refused"]
