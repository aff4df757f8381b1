"""One run across several processes: where its ranks start, how they find each other, and what a
failure of one of them means for the run.

The lease holder (registry.worker) is also the launcher: it runs torch's elastic agent
(`torch.distributed.launcher.elastic_launch`, what `torchrun` runs) in-process, which starts the
local ranks as `python -m registry.worker --rank RUNDIR` with RANK / WORLD_SIZE / LOCAL_RANK /
MASTER_ADDR / MASTER_PORT set, watches them, and on the first failure stops the others
(SIGTERM, then SIGKILL), so no rank is left hanging in a collective. Rendezvous is torchrun's
"static" one (node rank, master address and port given), which is what a SLURM allocation
provides: on SLURM every task of the job is one agent ("node" in torchrun's words), task 0's agent
holds the lease and the others join (`--join`); address and port come from the allocation
(`slurm_plan`).

What rank processes may write: rank 0 writes the run directory as a single process would; ranks > 0
write nothing under it (registry.atomic refuses their writes there) except their own
`ranks/error-<rank>.json`. The launcher reads those afterwards (`verdict`): a rank killed by a
signal, with no rank reporting an error of its own making, is an interruption (the stage resumes from
its checkpoints, as after a killed single-process worker); otherwise the earliest error that is not
a broken connection to a peer is the stage's failure.

torch is imported only inside `launch` (the registry stays light and domain-free)."""
from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from registry.atomic import read_json, write_json
from registry.errors import UserError

RANKS_DIR = "ranks"  # rank processes' own files: result-0.json, runtime-0.json, error-<r>.json
ENV_RANKS = "TICKETS_RANKS_PER_RUN"  # set by the local executor: ranks per run on this machine
ENV_RANKS_PER_TASK = "TICKETS_RANKS_PER_TASK"  # set by the SLURM executor: ranks each task starts
ENV_DEVICE_OFFSET = "TICKETS_LOCAL_RANK_OFFSET"  # GPUs of a node shared by several agents
PORT_BASE, PORT_SPAN = 20000, 20000  # SLURM: master port = base + job id mod span
# Messages of a collective whose peer went away: consequences of another rank's death, never a cause.
PEER_ERRORS = re.compile(r"Connection (reset|closed) by peer|Broken pipe|NCCL communicator was aborted|"
                         r"Socket Timeout|timed out|Timeout|DistNetworkError|DistBackendError|"
                         r"DistStoreError|ProcessGroup.*(abort|shut)", re.I)


def positive(name: str, value: Any) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number < 1:
        raise UserError(f"{name} {value!r} must be a whole number >= 1")
    return number


# ---------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class RankPlan:
    """Where this launcher's ranks sit in the run: `agents` launchers ("nodes" for torchrun) of
    `per_agent` ranks each; global rank = agent * per_agent + local rank."""

    agents: int = 1
    agent: int = 0
    per_agent: int = 1
    master_addr: str = "127.0.0.1"
    master_port: int = 0  # 0: pick a free one (single launcher only)
    device_offset: int = 0  # local rank -> GPU index offset on this node

    @property
    def world(self) -> int:
        return self.agents * self.per_agent

    @property
    def multi(self) -> bool:
        return self.world > 1

    def global_rank(self, local_rank: int) -> int:
        return self.agent * self.per_agent + local_rank


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def master_port(job_id: str | int) -> int:
    """A port every task of a SLURM job derives alike from its id (no communication needed); two
    jobs sharing a first node collide only when their ids are PORT_SPAN apart."""
    text = str(job_id).split("_")[0]
    if not text.isdigit():
        raise UserError(f"SLURM_JOB_ID {job_id!r} is not a job number")
    return PORT_BASE + int(text) % PORT_SPAN


def expand_hostlist(nodelist: str) -> list[str]:
    """SLURM's compressed host list ("gpu[01-03,07],login1") as names, without asking SLURM
    (`scontrol show hostnames` says the same; `hostnames` prefers it when it is there)."""
    names: list[str] = []
    for part in re.findall(r"[^,\[]+(?:\[[^\]]*\])?[^,]*", nodelist):
        m = re.fullmatch(r"([^\[]*)\[([^\]]*)\](.*)", part)
        if not m:
            names.append(part)
            continue
        prefix, ranges, suffix = m.groups()
        for item in ranges.split(","):
            lo, _, hi = item.partition("-")
            if not hi:
                names.append(f"{prefix}{lo}{suffix}")
                continue
            width = len(lo) if lo.startswith("0") else 0
            for n in range(int(lo), int(hi) + 1):
                names.append(f"{prefix}{str(n).zfill(width)}{suffix}")
    return [n for n in names if n]


def hostnames(nodelist: str) -> list[str]:
    """The allocation's hosts in SLURM's order (`scontrol show hostnames`, else our own parser)."""
    if shutil.which("scontrol"):
        try:
            out = subprocess.run(["scontrol", "show", "hostnames", nodelist], capture_output=True,
                                 text=True, timeout=30)
            names = out.stdout.split()
            if out.returncode == 0 and names:
                return names
        except (OSError, subprocess.TimeoutExpired):
            pass
    return expand_hostlist(nodelist)


def slurm_plan(env: Mapping[str, str], hosts: Sequence[str] | None = None) -> RankPlan:
    """This SLURM task's place in the run: agent = SLURM_PROCID of SLURM_NTASKS, `per_agent` =
    TICKETS_RANKS_PER_TASK (the executor's ranks per task), master = first host of the job's node
    list, port from SLURM_JOB_ID; the node's GPUs are split between its tasks by SLURM_LOCALID."""
    tasks = positive("SLURM_NTASKS", env.get("SLURM_NTASKS", "1"))
    proc = int(env.get("SLURM_PROCID", "0"))
    per_task = positive(ENV_RANKS_PER_TASK, env.get(ENV_RANKS_PER_TASK, "1"))
    if not 0 <= proc < tasks:
        raise UserError(f"SLURM_PROCID {proc} is outside the job's {tasks} tasks")
    nodelist = env.get("SLURM_JOB_NODELIST") or env.get("SLURM_NODELIST") or socket.gethostname()
    hosts = list(hosts) if hosts is not None else hostnames(nodelist)
    job = env.get("SLURM_JOB_ID") or "0"
    local = int(env.get("SLURM_LOCALID", "0"))
    return RankPlan(agents=tasks, agent=proc, per_agent=per_task, master_addr=hosts[0],
                    master_port=master_port(job), device_offset=local * per_task)


def plan_here(env: Mapping[str, str] | None = None) -> RankPlan:
    """The plan of a worker: a multi-rank job of the SLURM executor (its job script exports
    TICKETS_RANKS_PER_TASK; a plain `salloc -n 4` around a local sweep is not one), else the local
    executor's TICKETS_RANKS_PER_RUN on this machine, else one process (today's path)."""
    env = os.environ if env is None else env
    if env.get("SLURM_JOB_ID") and env.get(ENV_RANKS_PER_TASK):
        return slurm_plan(env)
    per = positive(ENV_RANKS, env.get(ENV_RANKS, "1"))
    return RankPlan(per_agent=per)


def rank_env(plan: RankPlan, local_rank: int) -> dict[str, str]:
    """The torchrun variables one rank sees (what the elastic agent sets; spelled out for tests)."""
    return {"RANK": str(plan.global_rank(local_rank)), "WORLD_SIZE": str(plan.world),
            "LOCAL_RANK": str(local_rank), "LOCAL_WORLD_SIZE": str(plan.per_agent),
            "GROUP_RANK": str(plan.agent), "MASTER_ADDR": plan.master_addr,
            "MASTER_PORT": str(plan.master_port)}


# ---------------------------------------------------------------------------- launching
@dataclass(frozen=True)
class Outcome:
    """How the launch ended: ok, or failed with each failed local rank's exit code (negative: the
    signal that ended it); `signal` when the launcher itself was asked to stop."""

    ok: bool
    exitcodes: Mapping[int, int]
    signal: int | None = None


def launch(rundir: Path, plan: RankPlan, timeout_s: float | None = None) -> Outcome:
    """Run this launcher's ranks of the stage in `rundir` through torch's elastic agent; no restarts
    (a failed rank fails the launch; retrying is the executor's decision, as for any worker)."""
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    port = plan.master_port or free_port()
    join = float(timeout_s if timeout_s is not None else os.environ.get("TICKETS_RANK_JOIN_TIMEOUT", 600))
    config = LaunchConfig(
        min_nodes=plan.agents, max_nodes=plan.agents, nproc_per_node=plan.per_agent,
        run_id=f"tickets-{Path(rundir).name}", rdzv_backend="static",
        rdzv_endpoint=f"{plan.master_addr}:{port}",
        rdzv_configs={"rank": plan.agent, "timeout": int(join)},
        max_restarts=0, monitor_interval=0.1, start_method="spawn", shutdown_timeout=10)
    env_before = dict(os.environ)
    os.environ[ENV_DEVICE_OFFSET] = str(plan.device_offset)
    os.environ.pop(ENV_RANKS, None)
    try:
        elastic_launch(config, sys.executable)("-m", "registry.worker", "--rank", str(rundir))
    except ChildFailedError as exc:
        return Outcome(False, {int(r): int(f.exitcode) for r, f in exc.failures.items()})
    except SignalException as exc:  # SIGTERM/SIGINT to us: the agent has stopped the ranks
        return Outcome(False, {}, signal=int(exc.sigval))
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    return Outcome(True, {})


def clear(rundir: Path) -> None:
    """Forget the rank files of an earlier attempt (the launcher holds the lease)."""
    shutil.rmtree(Path(rundir) / RANKS_DIR, ignore_errors=True)


def rank_file(rundir: Path, kind: str, rank: int) -> Path:
    return Path(rundir) / RANKS_DIR / f"{kind}-{rank}.json"


def is_peer_error(reason: str) -> bool:
    return bool(PEER_ERRORS.search(reason or ""))


def verdict(rundir: Path, outcome: Outcome) -> tuple[str, str | int]:
    """("interrupted", signal number) or ("failed", reason) for a launch that did not succeed."""
    errors = []
    folder = Path(rundir) / RANKS_DIR
    for path in sorted(folder.glob("error-*.json")) if folder.is_dir() else []:
        try:
            info = read_json(path)
            errors.append((path.stat().st_mtime, int(path.stem.split("-")[1]), info))
        except (OSError, ValueError):
            continue
    own = sorted(e for e in errors if not is_peer_error(str(e[2].get("reason"))))
    if own:  # the earliest error of a rank's own making is the cause; the rest followed from it
        _, rank, info = own[0]
        return "failed", f"rank {rank}: {info.get('reason')}"
    if outcome.signal is not None:
        return "interrupted", outcome.signal
    signals = [-code for code in outcome.exitcodes.values() if code < 0]
    if signals:
        return "interrupted", signals[0] if signal.SIGKILL not in signals else int(signal.SIGKILL)
    if errors:  # only broken connections, nobody killed here: a peer on another node went away
        return "interrupted", int(signal.SIGTERM)
    codes = ", ".join(f"rank {r}: {c}" for r, c in sorted(outcome.exitcodes.items()))
    return "failed", f"ranks exited without a result ({codes or 'no exit codes'})"


# ---------------------------------------------------------------------------- inside a rank
def die_with_parent() -> None:
    """Linux: SIGKILL this rank when its launcher dies (a SIGKILLed worker leaves no rank behind)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the launcher died before prctl took effect
        os._exit(128 + int(signal.SIGKILL))


def this_rank(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(rank, world size) from the torchrun variables."""
    env = os.environ if env is None else env
    return int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1"))


def record_error(rundir: Path, rank: int, reason: str, trace: str) -> None:
    write_json(rank_file(rundir, "error", rank), {"reason": reason, "traceback": trace, "time": time.time()})
