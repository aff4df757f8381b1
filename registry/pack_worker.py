"""The worker's side of a pack (see registry/packing.py): take every member's lease, hand the members
to the domain's `run_packed`, and publish each member's result.json or error.json exactly as a
separate worker would (meta.json included), then the pack's own outcome.

A member that is already finished is left as it is; one leased by another process is left to it.
Members are leased before anything runs and keep their heartbeats until the pack ends."""
from __future__ import annotations

import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any, Mapping

from registry import lease as leases
from registry.atomic import read_json, write_json


def run_pack(folder: Path) -> int:
    from registry.worker import FAILED, HELD, NanLoss, _check_finite, _Heartbeat

    pack = read_json(folder / "pack.json")
    if (folder / "result.json").exists():
        return 0
    own = leases.acquire(folder)
    if own is None:
        return HELD
    held: list[tuple[Any, _Heartbeat]] = [(own, _Heartbeat(own))]
    held[0][1].start()
    try:
        members: list[tuple[Path, dict]] = []
        for path in pack["members"]:
            rundir = Path(path)
            if (rundir / "result.json").exists() or (rundir / "error.json").exists():
                continue
            lease = leases.acquire(rundir)
            if lease is None:  # someone else runs it; its scheduler watches it
                continue
            beat = _Heartbeat(lease)
            beat.start()
            held.append((lease, beat))
            members.append((rundir, read_json(rundir / "stage.json")))
        results = _run(pack, members, folder)
        for (rundir, _), outcome in zip(members, results):
            meta = outcome.pop("meta")
            if "result" in outcome:
                try:
                    _check_finite(outcome["result"])
                except NanLoss as exc:
                    outcome = {"error": str(exc), "traceback": ""}
            meta["finished"] = time.time()
            write_json(rundir / "meta.json", meta)
            if "result" in outcome:
                write_json(rundir / "result.json", outcome["result"])
            else:
                write_json(rundir / "error.json", {"reason": outcome["error"], "traceback": outcome["traceback"]})
        failed = [Path(p).name for p in pack["members"] if not (Path(p) / "result.json").exists()]
        if failed:
            write_json(folder / "error.json", {"reason": f"{len(failed)} of {len(pack['members'])} packed "
                                                         f"stages did not finish: {', '.join(failed)}",
                                               "traceback": ""})
            return FAILED
        write_json(folder / "result.json", {"members": pack["keys"], "finished": time.time()})
        return 0
    finally:
        for lease, beat in held:
            beat.stop.set()
            leases.release(lease)


def _run(pack: Mapping[str, Any], members: list[tuple[Path, dict]], folder: Path) -> list[dict[str, Any]]:
    """[{"meta", "result"} | {"meta", "error", "traceback"}] per member, in order."""
    from registry.domain import load_domain
    from registry.worker import _code_version, runtime_meta

    started = time.time()
    metas = [{"host": socket.gethostname(), "pid": os.getpid(), "started": started, "packed_with": len(members)}
             for _ in members]
    for (rundir, _), meta in zip(members, metas):
        write_json(rundir / "meta.json", meta)
    if not members:
        return []
    try:
        domain = load_domain(pack["domain"])
        stages = [stage for _, stage in members]
        rundirs = [rundir for rundir, _ in members]
        dep_dirs = [{role: Path(p) for role, p in (s.get("dep_dirs") or {}).items()} for s in stages]

        from registry.track.sink import sink_for

        sinks = [sink_for(stage, rundir, meta) for stage, rundir, meta in zip(stages, rundirs, metas)]

        def reporter(rundir: Path, sink):
            def report(progress: Mapping[str, Any]) -> None:
                record = {**progress, "time": time.time()}
                write_json(rundir / "progress.json", record)
                write_json(folder / "progress.json", record)  # the executor watches the pack's folder
                sink.event(progress)  # each member is its own tracked run, all from this process
            return report

        outcomes = list(domain.run_packed(stages, rundirs, dep_dirs, [reporter(r, k) for r, k in zip(rundirs, sinks)]))
        version = _code_version(domain)
        extra = runtime_meta(domain)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # the pack as a whole broke: every member fails with this reason
        reason, tb = f"{type(exc).__name__}: {exc}", traceback.format_exc()
        return [{"meta": m, "error": reason, "traceback": tb} for m in metas]
    out = []
    from registry.provenance import run_provenance

    for meta, outcome, stage in zip(metas, outcomes, stages):
        meta.update(extra, code_version=version)
        meta.update(run_provenance(domain, stage))
        if isinstance(outcome, BaseException):
            tb = "".join(traceback.format_exception(type(outcome), outcome, outcome.__traceback__))
            out.append({"meta": meta, "error": f"{type(outcome).__name__}: {outcome}", "traceback": tb})
        else:
            out.append({"meta": meta, "result": dict(outcome)})
    for sink, item in zip(sinks, out):
        sink.finish(item.get("result"), failed=item.get("error"))
    return out
