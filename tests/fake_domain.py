"""A tiny stand-in research domain for testing the registry without torch.

Cells look like the real ones (dataset, model, method, check, sparsity, seed, train, ...).
Methods "lt" and "dense" share a "pretrain" stage per (dataset, model, seed, train); "lt" and
"rand" produce a "ticket" stage. Runs sleep a little per epoch, write metrics.jsonl/layers.json,
resume from `ckpt.json`, and can be told to fail (`train={"fail": True}`) or return NaN
(`train={"nan": True}`), or kill their worker process (`train={"crash": True}` exits with status 9; `train={"sigkill": True}`
is killed by SIGKILL after its first checkpoint). If FAKE_DOMAIN_LOG names a file, every run appends "start KEY" and
"done KEY" lines to it so tests can count executions. FAKE_DOMAIN_GATE parks each run after each
checkpoint until the test lets it go (`_gate`)."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from registry.atomic import append_jsonl, read_json, write_json
from registry.domain import Stage
from registry.errors import UserError

DATASETS = ("d1", "d2", "fashionmnist", "synthetic")
MODELS = ("m1", "m2")
METHODS = ("dense", "lt", "rand")
CHECKS = ("none", "corrupt")
TRAIN_DEFAULTS = {"epochs": 3, "sleep": 0.03}


def _log(line: str) -> None:
    path = os.environ.get("FAKE_DOMAIN_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


def _gate(key: str, epoch: int) -> None:
    """If FAKE_DOMAIN_GATE names a folder: after each checkpoint, say so (`KEY.EPOCH.waiting`, holding
    this worker's pid) and wait for the test to open the gate (`KEY.EPOCH.go`), so a test can act on a
    stage at a known state (e.g. kill its worker after a checkpoint) however slow the machine is."""
    gate = os.environ.get("FAKE_DOMAIN_GATE")
    if not gate:
        return
    write_json(Path(gate) / f"{key}.{epoch}.waiting", {"pid": os.getpid()})
    while not (Path(gate) / f"{key}.{epoch}.go").exists():
        time.sleep(0.01)


class FakeDomain:
    name = "fake"
    version = "fake-1"
    threads: int | None = None  # what the worker last told set_threads

    def set_threads(self, threads: int) -> None:
        self.threads = threads

    def expand(self, cell: Mapping[str, Any]) -> list[Stage]:
        for axis, known in (("dataset", DATASETS), ("model", MODELS), ("method", METHODS), ("check", CHECKS)):
            if cell.get(axis) not in known:
                raise UserError(f"unknown {axis} {cell.get(axis)!r}; known: {', '.join(known)}")
        sparsity = float(cell.get("sparsity", 0.0))
        if not 0.0 <= sparsity < 1.0:
            raise UserError(f"sparsity {sparsity} out of range; expected a fraction in [0, 1)")
        train = {k: v for k, v in dict(cell.get("train") or {}).items() if TRAIN_DEFAULTS.get(k) != v}
        seed = int(cell.get("seed", 0))
        base = {"dataset": cell["dataset"], "model": cell["model"], "seed": seed}
        pretrain = Stage(
            kind="pretrain",
            identity={**base, "train": train},
            spec={**base, "train": {**TRAIN_DEFAULTS, **train}},
            columns={**base, "method": "dense", "check": "none", "sparsity": 0.0},
        )
        if cell["method"] == "dense":
            if sparsity != 0.0:
                raise UserError(f"method 'dense' needs sparsity 0, got {sparsity}")
            return [pretrain]
        ticket_id = {**base, "method": cell["method"], "check": cell["check"], "sparsity": sparsity,
                     "train": train, "options": dict(cell.get("method_options") or {})}
        columns = {**base, "method": cell["method"], "check": cell["check"], "sparsity": sparsity}
        spec = {**ticket_id, "train": {**TRAIN_DEFAULTS, **train}}
        if cell["method"] == "lt":
            ticket = Stage("ticket", ticket_id, spec, columns, deps={"pretrain": pretrain.key})
            return [pretrain, ticket]
        return [Stage("ticket", ticket_id, spec, columns)]

    def run(self, stage: Mapping[str, Any], rundir: Path, dep_dirs: Mapping[str, Path],
            report: Callable[[Mapping[str, Any]], None]) -> Mapping[str, Any]:
        spec = stage["spec"]
        train = spec["train"]
        key = stage["key"]
        _log(f"start {key}")
        if train.get("fail"):  # a string is the failure's reason
            raise RuntimeError(train["fail"] if isinstance(train["fail"], str) else "told to fail")
        if train.get("crash"):  # the whole worker process dies, as on a segfault or the OOM killer
            os._exit(9)
        (Path(rundir) / "env.json").write_text(json.dumps(
            {**{name: os.environ.get(name) for name in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")},
             "threads": self.threads}))
        for role, path in dep_dirs.items():
            if not (Path(path) / "result.json").exists():
                raise RuntimeError(f"dependency {role} has no result")
        ckpt = rundir / "ckpt.json"
        start = read_json(ckpt)["epoch"] if ckpt.exists() else 0
        if start:
            _log(f"resume {key} from {start}")  # tests tell a resume from a restart by this line
        epochs = int(train["epochs"])
        sparsity = float(spec.get("sparsity", 0.0))
        base = 50.0 + 10 * spec["seed"] - 20 * sparsity
        for epoch in range(start + 1, epochs + 1):
            report({"phase": stage["kind"], "epoch": epoch - 1, "epochs": epochs})
            time.sleep(float(train["sleep"]))
            loss = float("nan") if train.get("nan") else 1.0 / (epoch + spec["seed"] + 1)
            append_jsonl(rundir / "metrics.jsonl", {
                "phase": stage["kind"], "epoch": epoch, "train_loss": loss, "train_acc": base + epoch,
                "test_loss": loss * 1.1, "test_acc": base + epoch / 3, "lr": 0.1, "seconds": 0.01})
            write_json(ckpt, {"epoch": epoch})
            _gate(key, epoch)
            if train.get("sigkill"):  # killed from outside after a checkpoint, as by the OOM killer
                os.kill(os.getpid(), 9)
        rows = [json.loads(line) for line in (rundir / "metrics.jsonl").read_text().splitlines()]
        last = rows[-1]
        if stage["kind"] == "ticket":
            layers = [{"layer": f"l{i}", "shape": [4, 5], "weights": 20,
                       "kept": round(20 * (1 - sparsity)), "keep_ratio": round(20 * (1 - sparsity)) / 20}
                      for i in range(3)]
            write_json(rundir / "layers.json", layers)
        _log(f"done {key}")
        return {"test_acc": last["test_acc"], "best_test_acc": max(r["test_acc"] for r in rows),
                "train_loss": last["train_loss"], "test_loss": last["test_loss"],
                "achieved_sparsity": sparsity, "collapsed": False, "seconds": 0.1,
                "note": "fake"}


DOMAIN = FakeDomain()


def _finite(x: float) -> bool:
    return math.isfinite(x)
