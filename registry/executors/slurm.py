"""The SLURM executor: submit missing stages as submitit job arrays and return at once.

Submission (`launch`) never blocks. Each job is `registry.worker` on one run directory, started by
`StageJob` inside a submitit job; results come home through the run directories on the shared
filesystem and are ingested by the next `tickets study status` / `study run`.

Dependency order uses SLURM dependencies: a stage whose dependency is queued or running (submitted
now or by an earlier `study run`) is submitted with `--dependency=afterok:<job>` and
`--kill-on-invalid-dep=yes`, so a failed dependency cancels its dependents instead of leaving them
pending forever (the next `study run` reports them blocked). A stage whose dependency is neither
done nor queued in SLURM (failed, or running under another executor's lease) is held back and
picked up by a later `study run`. Stages with the same dependencies go into one job array
(`array_parallelism` of its tasks run at once).

Preemption and time limits: jobs are submitted with `--requeue` and `--signal=USR2@<signal_lead>`.
On USR2 (sent `signal_lead` seconds before the time limit, or by `scancel --signal=USR2`),
submitit calls `StageJob.checkpoint`, which stops the worker (its epoch checkpoints are on disk)
and frees its lease; submitit then runs `scontrol requeue` and the requeued job resumes the stage
from its last epoch checkpoint. A job killed outright (`scontrol requeue`, node failure) loses at
most the epoch in progress. A time limit must leave room for the signal lead plus one checkpoint
interval, or the options are refused.

Options (keyword arguments, else environment `TICKETS_SLURM_<NAME>`): partition, gpus_per_run,
cpus_per_run, mem ("8G"), time (minutes or "[D-]HH:MM:SS"), array_parallelism, sbatch (extra
options: a dict, a list of "--key=value", or one string), folder (submitit logs; default
<home>/slurm), setup (shell lines run before the job, e.g. "module load cuda"), python,
signal_lead (seconds, default 120), checkpoint_interval (seconds one epoch may take, default 60),
max_requeues (timeouts survived, default 3).

One run across several processes (docs/SLURM.md): nodes (default 1), tasks_per_node (default 1),
gpus_per_node (GPUs on each node; `gpus_per_run` is the same on one node). The run has
nodes x tasks_per_node x (gpus_per_node / tasks_per_node) DDP ranks (on the CPU: one per task);
every task is one torch elastic agent (registry/ranks.py) started by the job's `srun`, task 0 holds
the stage's lease and writes its verdict, the master address is the job's first node and the port
is derived from the job id.
"""
from __future__ import annotations

import fcntl
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from registry.atomic import read_json, write_json
from registry.errors import UserError
from registry.executors import EXECUTORS, Job

ENV_PREFIX = "TICKETS_SLURM_"
# squeue states in which a job may still run (or run again); anything else has ended.
ALIVE_STATES = frozenset({
    "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
    "RESIZING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "SPECIAL_EXIT", "RESV_DEL_HOLD",
    "POWER_UP_NODE",
})
# sbatch options the executor sets itself; the message says which executor option to use instead.
RESERVED_SBATCH = {
    "array": "array_parallelism", "output": "folder", "error": "folder", "open-mode": None,
    "signal": "signal_lead", "dependency": None, "time": "time", "partition": "partition",
    "mem": "mem", "cpus-per-task": "cpus_per_run", "gpus-per-node": "gpus_per_node", "wrap": None,
    "nodes": "nodes", "ntasks-per-node": "tasks_per_node", "ntasks": "nodes and tasks_per_node",
}
HELD = 75  # registry.worker.HELD


# ---------------------------------------------------------------------------- option parsing
def parse_time(value: Any) -> int:
    """A SLURM time limit in seconds: minutes (int or "90"), "MM:SS", "HH:MM:SS", "D-HH[:MM[:SS]]"."""
    text = str(value).strip()
    if isinstance(value, bool):
        text = ""
    m = re.fullmatch(r"(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?", text)
    if not m or (m.group(1) is None and m.group(3) is None and m.group(4) is not None):
        raise UserError(f"time {value!r} is not a SLURM time limit; give minutes (90) or "
                        f"'HH:MM:SS' / 'D-HH:MM:SS'")
    days, a, b, c = m.groups()
    a, b, c = int(a), int(b or 0), int(c or 0)
    if days is not None:  # D-HH, D-HH:MM, D-HH:MM:SS
        seconds = int(days) * 86400 + a * 3600 + b * 60 + c
    elif m.group(4) is not None:  # HH:MM:SS
        seconds = a * 3600 + b * 60 + c
    elif m.group(3) is not None:  # MM:SS
        seconds = a * 60 + b
    else:  # minutes
        seconds = a * 60
    if seconds <= 0:
        raise UserError(f"time {value!r} must be positive")
    return seconds


def parse_mem(value: Any) -> str:
    """Memory per run as SLURM wants it ("8G" -> "8192M"); a bare number means megabytes."""
    text = str(value).strip().upper().replace(" ", "")
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)B?", text)
    if isinstance(value, bool) or not m or float(m.group(1)) <= 0:
        raise UserError(f"mem {value!r} is not a memory size; give e.g. '8G', '500M' or megabytes as a number")
    scale = {"K": 1 / 1024, "": 1, "M": 1, "G": 1024, "T": 1024 * 1024}[m.group(2)]
    return f"{max(1, math.ceil(float(m.group(1)) * scale))}M"


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or number < minimum:
        raise UserError(f"{name} {value!r} must be a whole number >= {minimum}")
    return number


def parse_sbatch(value: Any) -> dict[str, Any]:
    """Extra sbatch options from a dict, a list of '--key=value' / '--flag', or one string."""
    if value is None or value == "":
        return {}
    if isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    else:
        words = shlex.split(value) if isinstance(value, str) else [str(v) for v in value]
        items = []
        for word in words:
            if not word.startswith("-"):
                raise UserError(f"sbatch option {word!r} should look like --key=value or --flag")
            key, eq, val = word.partition("=")
            items.append((key, val if eq else True))
    out: dict[str, Any] = {}
    for key, val in items:
        key = key.lstrip("-").replace("_", "-")
        if not re.fullmatch(r"[a-z][a-z0-9-]*", key):
            raise UserError(f"sbatch option {key!r} is not an option name")
        if key in RESERVED_SBATCH:
            instead = RESERVED_SBATCH[key]
            hint = f"use the executor option {instead!r}" if instead else "the executor sets it itself"
            raise UserError(f"sbatch option --{key} cannot be passed through: {hint}")
        out[key] = val
    return out


@dataclass(frozen=True)
class SlurmResources:
    """What every run of one submission asks SLURM for."""

    partition: str | None = None
    gpus_per_run: int = 0
    cpus_per_run: int = 1
    mem: str | None = None  # normalised, e.g. "8192M"
    time_s: int = 3600
    array_parallelism: int = 64
    sbatch: Mapping[str, Any] = field(default_factory=dict)
    signal_lead: int = 120
    checkpoint_interval: int = 60
    max_requeues: int = 3
    nodes: int = 1  # one run across nodes x tasks_per_node SLURM tasks (registry/ranks.py)
    tasks_per_node: int = 1

    @property
    def time_min(self) -> int:
        return math.ceil(self.time_s / 60)

    @property
    def ranks_per_task(self) -> int:
        """GPU jobs: the node's GPUs split between its tasks (one rank per GPU); CPU jobs: one."""
        return self.gpus_per_run // self.tasks_per_node if self.gpus_per_run else 1

    @property
    def world(self) -> int:
        """Ranks of one run: nodes x tasks per node x ranks per task (1 for today's jobs)."""
        return self.nodes * self.tasks_per_node * self.ranks_per_task

    def as_record(self) -> dict[str, Any]:
        return {"partition": self.partition, "gpus_per_run": self.gpus_per_run,
                "cpus_per_run": self.cpus_per_run, "mem": self.mem, "time_min": self.time_min,
                "array_parallelism": self.array_parallelism, "sbatch": dict(self.sbatch),
                "signal_lead": self.signal_lead,
                **({"nodes": self.nodes, "tasks_per_node": self.tasks_per_node, "world_size": self.world}
                   if self.world > 1 else {})}

    def sbatch_flags(self) -> list[str]:
        """The same request as command-line flags (for `sbatch --test-only`)."""
        flags = [f"--time={self.time_min}", f"--cpus-per-task={self.cpus_per_run}"]
        if self.partition:
            flags.append(f"--partition={self.partition}")
        if self.gpus_per_run:
            flags.append(f"--gpus-per-node={self.gpus_per_run}")
        if self.nodes > 1 or self.tasks_per_node > 1:
            flags += [f"--nodes={self.nodes}", f"--ntasks-per-node={self.tasks_per_node}"]
        if self.mem:
            flags.append(f"--mem={self.mem}")
        for key, val in self.sbatch.items():
            flags.append(f"--{key}" if val is True else f"--{key}={val}")
        return flags


def _gpus_per_node(options: Mapping[str, Any], nodes: int) -> int:
    """GPUs per node: `gpus_per_node`, or `gpus_per_run` (the same on one node, kept for old studies)."""
    per_node = options.get("gpus_per_node")
    per_run = options.get("gpus_per_run")
    if per_node not in (None, "") and per_run not in (None, "", 0, "0"):
        raise UserError("give gpus_per_node or gpus_per_run, not both (they mean the same on one node)")
    if per_node in (None, ""):
        if nodes > 1 and per_run not in (None, "", 0, "0"):
            raise UserError(f"gpus_per_run with nodes={nodes} is ambiguous; give gpus_per_node (GPUs on each node)")
        return _positive_int("gpus_per_run", per_run or 0, 0)
    return _positive_int("gpus_per_node", per_node, 0)


def resources_from(options: Mapping[str, Any]) -> SlurmResources:
    """Validate the executor options (no cluster needed): one clear line per mistake."""
    nodes = _positive_int("nodes", options.get("nodes", 1))
    tasks = _positive_int("tasks_per_node", options.get("tasks_per_node", 1))
    gpus = _gpus_per_node(options, nodes)
    if gpus and gpus % tasks:
        raise UserError(f"tasks_per_node {tasks} does not divide gpus_per_node {gpus}: each task starts "
                        f"one rank per GPU of its share")
    res = SlurmResources(
        nodes=nodes, tasks_per_node=tasks,
        partition=str(options["partition"]) if options.get("partition") else None,
        gpus_per_run=gpus,
        cpus_per_run=_positive_int("cpus_per_run", options.get("cpus_per_run", 1)),
        mem=parse_mem(options["mem"]) if options.get("mem") not in (None, "") else None,
        time_s=parse_time(options.get("time", 60)),
        array_parallelism=_positive_int("array_parallelism", options.get("array_parallelism", 64)),
        sbatch=parse_sbatch(options.get("sbatch")),
        signal_lead=_positive_int("signal_lead", options.get("signal_lead", 120), 1),
        checkpoint_interval=_positive_int("checkpoint_interval", options.get("checkpoint_interval", 60), 1),
        max_requeues=_positive_int("max_requeues", options.get("max_requeues", 3), 0),
    )
    needed = res.signal_lead + res.checkpoint_interval
    if res.time_s < needed:
        raise UserError(
            f"time {options.get('time')!r} is too short: a job is signalled {res.signal_lead} s before "
            f"its limit to checkpoint and requeue, and one checkpoint interval takes up to "
            f"{res.checkpoint_interval} s, so give at least {math.ceil(needed / 60)} minutes "
            f"(or lower signal_lead / checkpoint_interval)")
    return res


OPTION_NAMES = ("partition", "gpus_per_run", "cpus_per_run", "mem", "time", "array_parallelism", "sbatch",
                "folder", "setup", "python", "signal_lead", "checkpoint_interval", "max_requeues",
                "nodes", "tasks_per_node", "gpus_per_node")


def options_with_env(options: Mapping[str, Any]) -> dict[str, Any]:
    """Explicit options win; `TICKETS_SLURM_<NAME>` fills the rest (how a cluster is configured
    once for `tickets study run --executor slurm`)."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise UserError(f"unknown slurm executor option {unknown[0]!r}; known: {', '.join(OPTION_NAMES)}")
    merged = {}
    for name in OPTION_NAMES:
        env = os.environ.get(ENV_PREFIX + name.upper())
        if env not in (None, ""):
            merged[name] = env
    merged.update({k: v for k, v in options.items() if v is not None})
    return merged


# ---------------------------------------------------------------------------- cluster queries
def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise UserError(f"the slurm executor needs `{name}` on PATH, and this machine has none "
                        f"(install the SLURM client tools or submit from a login node)")
    return path


def _slurm(args: Sequence[str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no message)"


def _partition_time_limit(partition: str) -> int | None:
    """The partition's MaxTime in seconds (None when unlimited or unknown)."""
    out = _slurm(["sinfo", "-h", "-p", partition, "-o", "%l"])
    text = out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else ""
    if not text or text in ("infinite", "UNLIMITED", "n/a"):
        return None
    try:
        return parse_time(text)
    except UserError:
        return None


def max_array_size() -> int:
    """How many tasks one job array may hold on this cluster (MaxArraySize - 1; SLURM's default 1001)."""
    out = _slurm(["scontrol", "show", "config"]) if shutil.which("scontrol") else None
    m = re.search(r"^MaxArraySize\s*=\s*(\d+)", out.stdout if out and out.returncode == 0 else "", re.M)
    return max(1, int(m.group(1)) - 1) if m else 1000


def check_cluster(res: SlurmResources) -> None:
    """Ask the cluster whether it would take this request; raise UserError if not. Submits nothing."""
    for tool in ("sbatch", "srun", "squeue", "sinfo"):
        _tool(tool)
    out = _slurm(["sinfo", "-h", "-o", "%P"])
    if out.returncode != 0:
        raise UserError(f"cannot reach the SLURM controller: sinfo says {_last_line(out.stderr)!r}")
    names = [p.strip() for p in out.stdout.split()]
    partitions = [p.rstrip("*") for p in names]
    if res.partition and res.partition not in partitions:
        raise UserError(f"unknown SLURM partition {res.partition!r}; this cluster has: "
                        f"{', '.join(partitions) or '(none)'}")
    if not res.partition and not any(p.endswith("*") for p in names):
        raise UserError(f"this cluster has no default partition; pass partition= one of: {', '.join(partitions)}")
    chosen = res.partition or next(p.rstrip("*") for p in names if p.endswith("*"))
    limit = _partition_time_limit(chosen)
    if limit is not None and res.time_s > limit:  # sbatch would queue it, then it would pend forever
        raise UserError(f"time {res.time_s // 60} min exceeds partition {chosen!r}'s limit of {limit // 60} min; "
                        f"give time=<= {limit // 60} (requeues carry longer runs across jobs)")
    test = _slurm(["sbatch", "--test-only", *res.sbatch_flags(), "--wrap", "true"])
    if test.returncode != 0:
        raise UserError(f"SLURM refuses the request ({' '.join(res.sbatch_flags())}): "
                        f"{_last_line(test.stderr or test.stdout)}")


def job_states(job_ids: Sequence[str]) -> dict[str, str | None]:
    """squeue state per job id in one call: '' when SLURM no longer lists the job, None when SLURM
    cannot be asked (controller down, timeout)."""
    ids = sorted({str(j) for j in job_ids})
    if not ids:
        return {}
    if shutil.which("squeue") is None:
        return dict.fromkeys(ids, "")
    try:
        out = _slurm(["squeue", "-h", "-r", "-t", "all", "-j", ",".join(ids), "-o", "%i %T"], timeout=30)
    except subprocess.TimeoutExpired:
        return dict.fromkeys(ids, None)
    if out.returncode != 0:  # a single unknown id is an error; several are silently dropped
        return dict.fromkeys(ids, "" if "Invalid job id" in out.stderr else None)
    states: dict[str, str | None] = dict.fromkeys(ids, "")
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in states:
            states[parts[0]] = parts[1]
    return states


def job_state(job_id: str) -> str | None:
    return job_states([job_id])[str(job_id)]


# ---------------------------------------------------------------------------- inside the job
def _ignore_usr2() -> None:  # the worker child leaves the pre-timeout signal to its parent
    signal.signal(signal.SIGUSR2, signal.SIG_IGN)


class StageJob:
    """What runs inside a SLURM job: `python -m registry.worker RUNDIR` as a child process.

    A child (not an in-process call) so that the pre-timeout signal can stop training at once
    without unwinding the domain's code; the worker's epoch checkpoints make that safe. submitit
    treats any job function with a `checkpoint` method as checkpointable (duck typing), so this
    module does not import submitit until it submits."""

    poll = 0.5

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None

    def __getstate__(self) -> dict:  # a live Popen does not pickle, nor should it travel
        return {"_proc": None}

    def __call__(self, rundir: str) -> int:
        path = Path(rundir)
        if _joiner():  # a task > 0 of a multi-task run: task 0 holds the lease and writes the verdict
            return self._join(path)
        try:
            while True:
                if (path / "result.json").exists():
                    return 0
                code = self._run_worker(path)
                if code != HELD:
                    break
                self._wait_for_holder(path)
        except Exception as exc:  # submitit gave up requeueing (raised from its signal handler)
            if type(exc).__name__ == "UncompletedJobError" and not (path / "result.json").exists():
                reason = (f"SLURM job {_job_label()} was stopped by its time limit more than max_requeues "
                          f"times ({exc}); give it a longer time and run with --retry-failed")
                write_json(path / "error.json", {"reason": reason, "traceback": ""})
            raise
        if (path / "result.json").exists():
            return 0
        raise RuntimeError(self._failure(path, code))

    def _run_worker(self, rundir: Path) -> int:
        with open(rundir / "worker.log", "ab") as log:
            self._proc = subprocess.Popen([sys.executable, "-m", "registry.worker", str(rundir)],
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          preexec_fn=_ignore_usr2)
        while self._proc.poll() is None:  # poll, not wait(): the signal handler may need the lock
            time.sleep(self.poll)
        code = self._proc.returncode
        _release_lease_of(rundir, self._proc.pid)
        return code

    def _join(self, rundir: Path) -> int:
        """Start this task's ranks (`registry.worker --join`), then stay until task 0's worker is
        done with the stage, so the job step ends as one: a joiner never fails the job itself."""
        task = os.environ.get("SLURM_PROCID", "?")
        with open(rundir / f"worker-task{task}.log", "ab") as log:
            self._proc = subprocess.Popen([sys.executable, "-m", "registry.worker", "--join", str(rundir)],
                                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          preexec_fn=_ignore_usr2)
        while self._proc.poll() is None:
            time.sleep(self.poll)
        self._wait_for_holder(rundir)
        return 0

    @staticmethod
    def _wait_for_holder(rundir: Path) -> None:
        from registry import lease as leases

        while leases.holder(rundir) is not None and not (rundir / "result.json").exists():
            time.sleep(2)

    @staticmethod
    def _failure(rundir: Path, code: int) -> str:
        """Why the stage did not finish; records error.json when the worker could not."""
        job = _job_label()
        try:
            return str(read_json(rundir / "error.json").get("reason"))
        except (OSError, ValueError):
            pass
        if code < 0 and -code in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2):
            # SLURM is stopping the job (cancel, requeue, time limit): nothing to record, the
            # stage stays resumable and a later `study run` resubmits it if the job is gone.
            return f"worker stopped by {signal.Signals(-code).name} in SLURM job {job}"
        what = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
        reason = (f"worker {what} without a result in SLURM job {job} on {socket.gethostname()} "
                  f"(see {rundir / 'worker.log'})")
        if code == -signal.SIGKILL:
            reason += "; out of memory?"
        write_json(rundir / "error.json", {"reason": reason, "traceback": ""})
        return reason

    def checkpoint(self, rundir: str) -> Any:
        """submitit's pre-timeout / preemption hook: stop the worker, then requeue this same job."""
        import submitit

        proc = getattr(self, "_proc", None)
        if proc is not None and proc.returncode is None:
            _stop(proc.pid)
            _release_lease_of(Path(rundir), proc.pid)
        return submitit.helpers.DelayedSubmission(make_stage_job(), rundir)


def _stop(pid: int, grace: float = 30) -> None:
    """SIGTERM the worker, SIGKILL it after `grace` seconds, and reap it. Plain os.waitpid, because
    this runs inside a signal handler that may have interrupted Popen.poll() holding its lock."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while True:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # already reaped
            return
        if done:
            return
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
            return
        time.sleep(0.1)


def _joiner() -> bool:
    """This SLURM task joins a run another task leads (SLURM_PROCID > 0 of a multi-rank job, whose
    job script exports TICKETS_RANKS_PER_TASK)."""
    from registry.ranks import ENV_RANKS_PER_TASK

    return (bool(os.environ.get(ENV_RANKS_PER_TASK)) and int(os.environ.get("SLURM_NTASKS", "1") or 1) > 1
            and int(os.environ.get("SLURM_PROCID", "0") or 0) > 0)


def _job_label() -> str:
    """This job as squeue names it: ARRAY_TASK for array tasks, else the job id."""
    if os.environ.get("SLURM_ARRAY_JOB_ID"):
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID')}"
    return os.environ.get("SLURM_JOB_ID", "?")


def _release_lease_of(rundir: Path, pid: int) -> None:
    """Free the lease a dead worker child left, so the requeued job (maybe on another node) can
    take it at once instead of waiting for the heartbeat to go stale."""
    from registry import lease as leases

    info = leases.read_lease(rundir)
    if info and info.get("pid") == pid and info.get("host") == socket.gethostname() and info.get("token"):
        leases.release(leases.Lease(rundir, info["token"]))


def make_stage_job() -> StageJob:
    return StageJob()


# ---------------------------------------------------------------------------- the executor
@dataclass
class SlurmExecutor:
    """Submit run directories as SLURM job arrays; `alive` and `cancel` talk to squeue / scancel."""

    options: Mapping[str, Any] = field(default_factory=dict)
    name: str = "slurm"
    detached: bool = True

    def __post_init__(self) -> None:
        self.options = options_with_env(self.options)
        self._resources: SlurmResources | None = None
        self._checked = False

    @property
    def resources(self) -> SlurmResources:
        """Validated on first use (prepare/launch): asking about or cancelling jobs needs none of it,
        so a bad TICKETS_SLURM_* value never blocks `study status` or `study cancel`."""
        if self._resources is None:
            self._resources = resources_from(self.options)
        return self._resources

    # -- launch
    def prepare(self) -> None:
        """Ask the cluster whether it takes our request (tools, partition, `sbatch --test-only`).
        Raises UserError; submits nothing. `launch` calls it once if the scheduler did not."""
        if not self._checked:
            check_cluster(self.resources)
            self._checked = True

    def launch(self, jobs: Sequence[Job], on_event: Callable[[str, Job, Mapping[str, Any]], None]) -> None:
        if not jobs:
            return
        self.prepare()
        folder = Path(self.options.get("folder") or jobs[0].rundir.parent.parent / "slurm")
        folder.mkdir(parents=True, exist_ok=True)
        # Two `study run --executor slurm` at once would each see no record and submit everything:
        # reading the records, asking squeue and submitting happen under one lock per home.
        with open(folder / "submit.lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                self._launch(jobs, on_event, folder)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _launch(self, jobs: Sequence[Job], on_event: Callable[[str, Job, Mapping[str, Any]], None],
                folder: Path) -> None:
        from registry import lease as leases

        job_ids: dict[str, str] = {}  # key -> SLURM job id of a queued/running job (now or earlier)
        held: set[str] = set()
        waves: list[list[tuple[Job, tuple[str, ...]]]] = []
        level: dict[str, int] = {}
        earlier = {job.key: _read_submitted(job.rundir) for job in jobs}
        for job in jobs:  # dependencies outside this batch that were submitted earlier
            for dep_dir in _dep_dirs(job):
                earlier.setdefault(dep_dir.name, _read_submitted(dep_dir))
        states = job_states([r["job_id"] for r in earlier.values() if r])
        for job in jobs:
            record = earlier[job.key]
            if (job.rundir / "result.json").exists():
                continue
            if record and states.get(record["job_id"]) in ALIVE_STATES | {None}:
                job_ids[job.key] = record["job_id"]
                on_event("queued", job, record)
                continue
            if leases.holder(job.rundir) is not None:
                held.add(job.key)
                on_event("held", job, {"reason": "running under another executor's lease"})
                continue
            after, wait_for, why = self._dependencies(job, job_ids, held, level, earlier, states)
            if why:
                held.add(job.key)
                on_event("held", job, {"reason": why})
                continue
            level[job.key] = 1 + max((level[k] for k in wait_for if k in level), default=-1)
            while len(waves) <= level[job.key]:
                waves.append([])
            waves[level[job.key]].append((job, after))
            job_ids[job.key] = ""  # placeholder until its wave is submitted
        chunk = 0
        for wave in waves:
            groups: dict[tuple[str, ...], list[Job]] = {}
            for job, after in wave:
                groups.setdefault(after, []).append(job)
            for after, group in groups.items():
                deps = [job_ids.get(a, a) for a in after]
                chunk = chunk or max_array_size()
                for start in range(0, len(group), chunk):  # one array may hold at most MaxArraySize-1 tasks
                    part = group[start:start + chunk]
                    for job, record in zip(part, self._submit(part, deps, folder)):
                        job_ids[job.key] = record["job_id"]
                        on_event("submitted", job, record)

    def _dependencies(self, job: Job, job_ids: Mapping[str, str], held: set[str], level: Mapping[str, int],
                      earlier: Mapping[str, Any], states: Mapping[str, str | None]):
        """(sorted dependency refs, in-batch keys waited for, reason to hold back or '')."""
        try:
            stage = read_json(job.rundir / "stage.json")
        except (OSError, ValueError) as exc:
            return (), (), f"unreadable stage.json: {exc}"
        refs, keys = set(), set()
        for role, key in (stage.get("deps") or {}).items():
            dep_dir = Path((stage.get("dep_dirs") or {}).get(role) or job.rundir.parent / key)
            if (dep_dir / "result.json").exists():
                continue
            if key in held:
                return (), (), f"dependency {role} {key} is held back"
            if key in job_ids:  # queued earlier or in this batch
                refs.add(key if job_ids[key] == "" else job_ids[key])
                if key in level:
                    keys.add(key)
                continue
            record = earlier.get(key) or _read_submitted(dep_dir)
            if record and states.get(record["job_id"]) in ALIVE_STATES:
                refs.add(record["job_id"])
                continue
            return (), (), f"dependency {role} {key} is neither done nor queued in SLURM"
        return tuple(sorted(refs)), tuple(sorted(keys)), ""

    def _submit(self, group: Sequence[Job], deps: Sequence[str], folder: Path) -> list[dict[str, Any]]:
        import submitit

        res = self.resources
        executor = submitit.SlurmExecutor(folder=folder / "%j", max_num_timeout=res.max_requeues,
                                          python=self.options.get("python"))
        extra: dict[str, Any] = {"requeue": True, **res.sbatch}
        if res.mem:
            extra["mem"] = res.mem
        if deps:
            extra["dependency"] = "afterok:" + ":".join(deps)
            extra["kill-on-invalid-dep"] = "yes"
        params: dict[str, Any] = dict(
            job_name="tickets", time=res.time_min, cpus_per_task=res.cpus_per_run,
            signal_delay_s=res.signal_lead, array_parallelism=res.array_parallelism,
            additional_parameters=extra)
        if res.partition:
            params["partition"] = res.partition
        if res.gpus_per_run:
            params["gpus_per_node"] = res.gpus_per_run
        setup = self.options.get("setup")
        setup = ([setup] if isinstance(setup, str) else list(setup)) if setup else []
        if res.world > 1:  # one run as several ranks: every task of the job is one launcher (registry/ranks.py)
            from registry.ranks import ENV_RANKS_PER_TASK

            params.update(nodes=res.nodes, ntasks_per_node=res.tasks_per_node)
            setup.append(f"export {ENV_RANKS_PER_TASK}={res.ranks_per_task}")
        if setup:
            params["setup"] = setup
        executor.update_parameters(**params)
        try:
            submitted = executor.map_array(make_stage_job(), [str(job.rundir) for job in group])
        except Exception as exc:  # sbatch said no after all: nothing of this group is queued
            raise UserError(f"sbatch failed: {_last_line(str(exc))}") from None
        records = []
        now = time.time()
        for job, sub in zip(group, submitted):
            array_id, _, task = str(sub.job_id).partition("_")
            record = {"executor": self.name, "job_id": str(sub.job_id), "array_job_id": array_id,
                      "task_id": int(task) if task else None, "time": now,
                      "resources": res.as_record(), "dependency": list(deps),
                      "log": str(sub.paths.stderr), "host": socket.gethostname()}
            write_json(job.rundir / "submitted.json", record)
            records.append(record)
        return records

    # -- queries
    def alive(self, submitted: Mapping[str, Any]) -> bool:
        """True while SLURM lists the job as pending, running or requeued. When SLURM cannot be
        asked (controller down) the job counts as alive, so nothing is submitted twice."""
        return self.alive_many([submitted])[str(submitted["job_id"])]

    def alive_many(self, submitted: Sequence[Mapping[str, Any]]) -> dict[str, bool]:
        """`alive` for many records with one squeue call: {job_id: alive}."""
        states = job_states([str(r["job_id"]) for r in submitted])
        return {j: s is None or s in ALIVE_STATES for j, s in states.items()}

    def describe(self, submitted: Mapping[str, Any]) -> str:
        """One line on where a job stands, for status and failure reports."""
        job_id = str(submitted["job_id"])
        if shutil.which("scontrol"):
            out = _slurm(["scontrol", "-o", "show", "job", job_id], timeout=30)
            if out.returncode == 0 and out.stdout.strip():
                fields = dict(f.split("=", 1) for f in out.stdout.split() if "=" in f)
                return (f"SLURM job {job_id}: {fields.get('JobState')} reason={fields.get('Reason')} "
                        f"exit={fields.get('ExitCode')} restarts={fields.get('Restarts')}")
        return f"SLURM job {job_id}: no longer known to SLURM (log: {submitted.get('log')})"

    def cancel(self, submitted: Sequence[Mapping[str, Any]]) -> int:
        ids = [str(r["job_id"]) for r in submitted if r.get("job_id")]
        states = job_states(ids)
        live = [j for j in ids if states.get(j) in ALIVE_STATES]
        if not live:
            return 0
        out = _slurm([_tool("scancel"), *live])
        if out.returncode != 0:
            raise UserError(f"scancel failed: {_last_line(out.stderr)}")
        return len(live)


def _dep_dirs(job: Job) -> list[Path]:
    try:
        stage = read_json(job.rundir / "stage.json")
    except (OSError, ValueError):
        return []
    dirs = stage.get("dep_dirs") or {}
    return [Path(dirs.get(role) or job.rundir.parent / key) for role, key in (stage.get("deps") or {}).items()]


def _read_submitted(rundir: Path) -> dict[str, Any] | None:
    try:
        record = read_json(rundir / "submitted.json")
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and record.get("executor") == "slurm" and record.get("job_id") else None


@EXECUTORS.register("slurm")
def slurm_executor(workers: int = 1, gpus: Sequence[str] | None = None, **options: Any) -> SlurmExecutor:
    """Factory used by the scheduler (`--executor slurm`); `workers`/`gpus` belong to the local pool."""
    if gpus:
        raise UserError("--gpus picks local devices; for SLURM set gpus_per_run (TICKETS_SLURM_GPUS_PER_RUN)")
    ranks = options.pop("ranks_per_run", None)
    if ranks is not None:  # `--ranks-per-run K` on SLURM: K CPU tasks of one node, one rank each
        if options.get("tasks_per_node") not in (None, ranks):
            raise UserError("give --ranks-per-run or -X tasks_per_node, not both")
        options["tasks_per_node"] = ranks
    return SlurmExecutor(options=options)
