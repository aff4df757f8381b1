"""The sink between a run and its trackers: events are queued and delivered by one background
thread, so neither a slow tracker (a W&B init against no network, an MLflow store creating its
tables) nor a broken one (not installed, a bad URI) costs the training anything. A tracker's first
error is one warning line on stderr (the worker's log) and that tracker is dropped; `close`
waits for the queue to drain for at most TICKETS_TRACK_TIMEOUT seconds (30 by default)."""
from __future__ import annotations

import os
import queue
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from registry.track.base import RunInfo, factory, missing_library, wanted

EPOCH_FIELDS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "seconds")
_STOP = object()


def _warn(line: str) -> None:
    try:
        sys.stderr.write(f"warning: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class Sink:
    """Fans one run's events out to its trackers from a daemon thread. Never raises."""

    def __init__(self, entries: Sequence[tuple[str, str | None]], info_of: Callable[[], RunInfo],
                 rundir: Path | None = None, *, threaded: bool = True):
        self.entries = list(entries)
        self.info_of = info_of
        self.rundir = rundir
        self.trackers: dict[str, Any] = {}
        self.seen: set[tuple[str, int]] = set()
        self.sparsity: float | None = None
        self.threaded = threaded
        self.evaluated_info: Callable[[str], RunInfo] | None = None  # an evaluation's run, by key
        self.run_key: str | None = None
        self.meta: Mapping[str, Any] | None = None  # the run's meta.json as the worker fills it
        self.queue: queue.Queue = queue.Queue(maxsize=10_000)
        self.thread: threading.Thread | None = None
        self.started = False

    # ----------------------------------------------------------------- called by the run
    def event(self, progress: Mapping[str, Any]) -> None:
        """A `report` event of the domain: epoch events (with metrics) are tracked, others ignored."""
        if not self.entries or progress.get("event", "epoch") != "epoch":
            return
        metrics = {f: progress[f] for f in EPOCH_FIELDS if isinstance(progress.get(f), (int, float))}
        if not metrics or progress.get("epoch") is None:
            return
        self._put(("epoch", str(progress.get("phase") or "train"), int(progress["epoch"]), metrics))

    def finish(self, result: Mapping[str, Any] | None, failed: str | None = None) -> None:
        """The run's end: epochs still unseen are read from metrics.jsonl, then the summary."""
        if not self.entries:
            return
        if result and "evals" in result:  # an evaluation stage: its metrics join the evaluated run
            if self.thread is not None or self.started or self.evaluated_info is None:
                return
            run_key = result.get("run_key") or self.run_key
            if not run_key:
                return
            self.info_of = lambda: self.evaluated_info(str(run_key))
            self.rundir = None  # the evaluated run's curves and layers are tracked already
            result = {k: v for k, v in summary_of(result).items() if k.startswith("eval/")}
        self._put(("finish", dict(result or {}), failed))
        self.close()

    # ----------------------------------------------------------------- the thread
    def _put(self, item: tuple) -> None:
        if not self.threaded:
            self._handle(item)
            return
        if self.thread is None:
            self.thread = threading.Thread(target=self._loop, name="tickets-track", daemon=True)
            self.thread.start()
        try:
            self.queue.put_nowait(item)
        except queue.Full:  # the trackers cannot keep up: drop rather than wait
            pass

    def _loop(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            self._handle(item)

    def close(self, timeout: float | None = None) -> None:
        if self.thread is None:
            return
        limit = float(os.environ.get("TICKETS_TRACK_TIMEOUT", "30")) if timeout is None else timeout
        try:
            self.queue.put_nowait(_STOP)
        except queue.Full:
            pass
        self.thread.join(limit)
        if self.thread.is_alive():
            _warn(f"trackers did not finish within {limit:g} s (TICKETS_TRACK_TIMEOUT); the run is stored as usual")
        self.thread = None

    # ----------------------------------------------------------------- delivery
    def _start(self) -> None:
        self.started = True
        try:
            info = self.info_of()
        except Exception as exc:
            _warn(f"tracking off for this run: {type(exc).__name__}: {exc}")
            self.entries = []
            return
        for name, target in self.entries:
            hint = missing_library(name)
            if hint:
                _warn(hint)
                continue
            try:
                self.trackers[name] = factory(name)(target, info)
            except Exception as exc:
                _warn(f"tracker {name} failed to start ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                      f"training goes on without it")

    def _each(self, call: Callable[[Any], None]) -> None:
        for name in list(self.trackers):
            try:
                call(self.trackers[name])
            except Exception as exc:
                _warn(f"tracker {name} failed ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                      f"training goes on without it")
                self.trackers.pop(name, None)

    def _layers(self) -> list[dict[str, Any]]:
        import json

        path = self.rundir / "layers.json" if self.rundir is not None else None
        if path is None or not path.exists():
            return []
        try:
            layers = json.loads(path.read_text())
            return layers if isinstance(layers, list) else []
        except (OSError, ValueError):
            return []

    def _achieved(self) -> float | None:
        """Sparsity of the current mask (layers.json), re-read when the file changes (iterative
        pruning rewrites it every round)."""
        try:
            stamp = (self.rundir / "layers.json").stat().st_mtime_ns if self.rundir is not None else None
        except OSError:
            stamp = None
        if stamp is not None and stamp != getattr(self, "_stamp", None):
            self._stamp = stamp
            layers = self._layers()
            total = sum(int(r.get("weights") or 0) for r in layers)
            if total:
                self.sparsity = 1.0 - sum(int(r.get("kept") or 0) for r in layers) / total
        return self.sparsity

    def _handle(self, item: tuple) -> None:
        if not self.started:
            self._start()
        if not self.trackers:
            return
        if item[0] == "epoch":
            _, phase, epoch, metrics = item
            self.seen.add((phase, epoch))
            achieved = self._achieved()
            if achieved is not None:
                metrics = {**metrics, "sparsity": achieved}
            self._each(lambda t: t.epoch(phase, epoch, metrics))
        elif item[0] == "finish":
            _, result, failed = item
            for phase, epoch, metrics in unseen_epochs(self.rundir, self.seen):
                self._each(lambda t: t.epoch(phase, epoch, metrics))
            layers = self._layers()
            summary = summary_of(result)
            if self.meta is not None:  # provenance is complete only now (git, environment, data)
                from registry.track.base import provenance_tags

                tags = provenance_tags(self.meta)
                self._each(lambda t: t.tag(tags) if hasattr(t, "tag") else None)
            self._each(lambda t: t.finish(summary, layers, failed))


def unseen_epochs(rundir: Path | None, seen: set[tuple[str, int]]) -> list[tuple[str, int, dict[str, float]]]:
    """metrics.jsonl lines not delivered as events (a domain that reports no metrics, a resume)."""
    import json

    path = rundir / "metrics.jsonl" if rundir is not None else None
    if path is None or not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
            key = (str(rec.get("phase", "train")), int(rec["epoch"]))
        except (ValueError, KeyError, TypeError):
            continue
        if key in seen:
            continue
        seen.add(key)
        metrics = {f: rec[f] for f in EPOCH_FIELDS if isinstance(rec.get(f), (int, float))}
        if metrics:
            out.append((*key, metrics))
    return out


def summary_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """Final numbers of a result.json (evaluation entries flattened to "eval/<name>/<metric>")."""
    out = {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    out.update({k: int(v) for k, v in result.items() if isinstance(v, bool)})
    for item in result.get("evals") or ():
        if isinstance(item, Mapping) and isinstance(item.get("value"), (int, float)):
            out[f"eval/{item.get('eval')}/{item.get('metric')}"] = item["value"]
    return out


def sink_for(stage: Mapping[str, Any], rundir: Path, meta: Mapping[str, Any] | None = None) -> Sink:
    """The sink of one stage run by this process (empty, and free, when no tracker is chosen)."""
    try:
        entries = wanted(stage)
    except Exception as exc:  # a bad TICKETS_TRACK: said once, the run goes on
        _warn(str(exc))
        entries = []

    def info():
        from registry.track.base import run_info

        return run_info(stage, rundir, meta)

    def evaluated(key: str) -> RunInfo:
        """The evaluated run as its own training tracked it (same key, name, group)."""
        import dataclasses

        from registry.atomic import read_json

        other = rundir.parent / key
        try:
            trained = read_json(other / "stage.json")
        except (OSError, ValueError):
            trained = {**stage, "key": key}
        from registry.track.base import run_info

        found = run_info(trained, other if other.exists() else rundir, meta)
        return dataclasses.replace(found, home=rundir.parent.parent)

    sink = Sink(entries, info, rundir)
    sink.evaluated_info = evaluated
    sink.run_key = (stage.get("deps") or {}).get("run")
    sink.meta = meta
    return sink
