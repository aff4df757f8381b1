"""A throwaway single-node SLURM for the test suite: munged, slurmctld and slurmd on loopback, every
file (key, socket, configuration, state, spool, logs) inside one temporary folder.

Why a real cluster: the SLURM executor's promises (arrays, dependencies, requeue on a signal, state
through squeue) are only worth something if a real slurmctld agrees with them. The cluster is owned
by the test session: it starts in a few seconds, is reached only through `SLURM_CONF` pointing at
its own configuration, and `stop()` ends every daemon it started plus any job process left over.

Usage (see tests/test_slurm_executor.py): `with SlurmCluster(tmp) as cluster: cluster.env ...`.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")


def missing_binaries() -> list[str]:
    """Names of the SLURM/munge programs this machine lacks (empty: a test cluster can start)."""
    found = []
    for name in DAEMONS + CLIENTS:
        if shutil.which(name) is None and not Path("/usr/sbin", name).exists():
            found.append(name)
    return found


def _which(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


def _free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _real_memory_mb() -> int:
    """Half the machine's memory, so slurmd never drains the node for 'Low RealMemory'."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return max(512, int(line.split()[1]) // 1024 // 2)
    return 2048


SLURM_CONF_TEMPLATE = """\
# Test-owned single-node cluster (tests/slurm_cluster.py); nothing here is meant for production.
ClusterName={cluster}
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser={user}
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire also sets how long a requeued job waits before it may start again (default 120 s)
AuthInfo=socket={munge_socket},cred_expire=5
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
MinJobAge=60
KillWait=5
InactiveLimit=0
Waittime=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class SlurmCluster:
    """Start/stop a private SLURM; `env` is the environment its clients need (SLURM_CONF)."""

    def __init__(self, root: str | os.PathLike, cpus: int = 2, start_timeout: float = 30.0):
        self.root = Path(root)
        self.cpus = cpus
        self.start_timeout = start_timeout
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self._procs: dict[str, subprocess.Popen] = {}
        self._logs: list = []

    # ------------------------------------------------------------------ environment
    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run a SLURM client (sinfo, squeue, ...) against this cluster."""
        return subprocess.run(list(args), env=self.env, capture_output=True, text=True,
                              check=check, timeout=timeout)

    # ------------------------------------------------------------------ start
    def start(self) -> "SlurmCluster":
        missing = missing_binaries()
        if missing:
            raise RuntimeError(f"cannot start a test SLURM: missing {', '.join(missing)}")
        for sub in ("munge-key", "munge", "state", "spool", "log"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        # munged refuses a key that others can read and a socket folder they cannot enter
        os.chmod(self.root / "munge-key", 0o700)
        os.chmod(self.root / "munge", 0o755)
        key = self.root / "munge-key" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o600)
        ctld_port, d_port = _free_ports(2)
        self.conf.write_text(SLURM_CONF_TEMPLATE.format(
            cluster=f"t{os.getpid()}", ctld_port=ctld_port, d_port=d_port,
            user=_user_name(), munge_socket=self.munge_socket, root=self.root,
            cpus=self.cpus, memory=_real_memory_mb()))
        try:
            self._spawn("munged", [
                _which("munged"), "--foreground", "--force",
                f"--socket={self.munge_socket}", f"--key-file={key}",
                f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={self.root / 'munge-key' / 'munged.seed'}"])
            self._wait(lambda: self.munge_socket.exists(), "munged socket")
            self._spawn("slurmctld", [_which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
            self._wait(lambda: self.run("sinfo", "-h", check=False).returncode == 0, "slurmctld")
            self._spawn("slurmd", [_which("slurmd"), "-D", "-N", "localhost", "-f", str(self.conf)])
            self._wait(self._node_idle, "node localhost idle")
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        self._logs.append(log)
        self._procs[name] = subprocess.Popen(argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, start_new_session=True)

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "-h", "-N", "-o", "%t", check=False).stdout.split()
        return out == ["idle"]

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"test SLURM: {name} exited with {proc.returncode}; "
                                       f"see {self.root / 'log'}\n{self.tail_logs()}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"test SLURM: timed out waiting for {what}\n{self.tail_logs()}")

    def tail_logs(self, lines: int = 15) -> str:
        out = []
        for path in sorted((self.root / "log").glob("*")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)

    # ------------------------------------------------------------------ helpers for tests
    def wait_until(self, predicate, timeout: float = 60, interval: float = 0.3, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout} s waiting for {what}\n"
                             f"{self.run('squeue', '-a', check=False).stdout}")

    def job_state(self, job_id: str) -> str:
        """JobState from `scontrol show job` ('' once the record has aged out)."""
        out = self.run("scontrol", "-o", "show", "job", str(job_id), check=False).stdout
        for field in out.split():
            if field.startswith("JobState="):
                return field.split("=", 1)[1]
        return ""

    def queue_empty(self) -> bool:
        return self.run("squeue", "-h", check=False).stdout.strip() == ""

    def clear_queue(self, timeout: float = 15) -> None:
        """Cancel every job (one test's jobs never leak into the next)."""
        if "slurmctld" in self._procs and self._procs["slurmctld"].poll() is None:
            self.run("scancel", "--full", "--user", _user_name(), check=False, timeout=10)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not self.queue_empty():
                time.sleep(0.2)

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Cancel every job, stop every daemon we started, reap leftovers of our jobs."""
        self.clear_queue(timeout=10)
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self._kill_strays()
        for log in self._logs:
            log.close()
        self._logs.clear()

    def _kill_strays(self) -> None:
        """slurmstepd and job processes outlive slurmd; they carry our SLURM_CONF in their environment."""
        marker = f"SLURM_CONF={self.conf}".encode()
        me = os.getpid()
        for pid_dir in Path("/proc").glob("[0-9]*"):
            pid = int(pid_dir.name)
            if pid == me:
                continue
            try:
                environ = (pid_dir / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


# ---------------------------------------------------------------------- pytest fixtures
import pytest  # noqa: E402


def skip_reason() -> str | None:
    missing = missing_binaries()
    if missing:
        return f"no SLURM here (missing {', '.join(missing)}); .ci/run installs slurm-wlm and munge"
    if os.geteuid() != 0:
        return "the test SLURM runs slurmd, which needs root"
    return None


@pytest.fixture(scope="session")
def slurm_cluster_session(tmp_path_factory):
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with SlurmCluster(tmp_path_factory.mktemp("slurm")) as cluster:
        yield cluster


@pytest.fixture
def slurm(slurm_cluster_session, monkeypatch):
    """The session's test cluster, with SLURM_CONF set for this test's process and its children."""
    monkeypatch.setenv("SLURM_CONF", str(slurm_cluster_session.conf))
    yield slurm_cluster_session
    slurm_cluster_session.clear_queue()
