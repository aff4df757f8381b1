"""Run what a study is missing: plan, write stage.json files, dispatch in dependency order,
ingest each finished run at once, and summarise failures.

Safe to kill at any moment: finished stages live in their run directories (ingested on the next
plan), running ones keep their lease while their worker lives, stale leases are reclaimed, and a
restarted stage resumes from its own checkpoints (the domain's job)."""
from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from registry.atomic import write_json
from registry.errors import UserError
from registry.executors import EXECUTORS, Job
from registry.grid import Study, describe_cell, label_cell
from registry.domain import load_domain
from registry.plan import Plan, load_executors, make_plan
from registry.say import say
from registry.store import Store

@dataclass
class Outcome:
    total: int
    done: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # key, cell, reason
    blocked: list[tuple[str, str, str]] = field(default_factory=list)
    submitted: int = 0
    ran: int = 0
    problems: list[str] = field(default_factory=list)
    unstored: list[str] = field(default_factory=list)  # finished, not stored: the store was held elsewhere

    @property
    def exit_code(self) -> int:
        return 1 if (self.failures or self.blocked or self.problems or self.unstored) else 0


def write_stage(store: Store, stage_key: str, plan: Plan) -> Path:
    stage = plan.stages[stage_key]
    rundir = store.rundir(stage_key)
    rundir.mkdir(parents=True, exist_ok=True)
    write_json(rundir / "stage.json", {
        "key": stage_key, "kind": stage.kind, "identity": dict(stage.identity), "spec": dict(stage.spec),
        "columns": dict(stage.columns), "deps": dict(stage.deps),
        "dep_dirs": {role: str(store.rundir(k)) for role, k in stage.deps.items()},
        "domain": plan.domain_path,
        **({"plugins": list(plan.plugins)} if plan.plugins else {}),
    })
    from registry.membership import add

    add(rundir, plan.study.name)  # which study asked for it: read by ingest into the `studies` column
    return rundir


def clear_failure(rundir: Path) -> None:
    """--retry-failed: keep the old files for inspection, out of the way of the next attempt."""
    for name in ("error.json", "result.json"):
        path = rundir / name
        if path.exists():
            os.replace(path, rundir / f"{name}.prev")


def _cell_text(plan: Plan, key: str) -> str:
    cell = plan.first_cell(key)
    return describe_cell(cell) if cell else ""


def run_study(study: Study, home: str | os.PathLike, *, workers: int | None = None, gpus: Sequence[str] | None = None,
              retry_failed: bool = False, executor: str = "local", executor_options: Mapping[str, Any] | None = None,
              console: Any = None, runs_per_gpu: int = 1, share: str | None = None) -> Outcome:
    from rich.console import Console

    console = console or Console(stderr=True)
    store = Store(home)
    load_executors()
    options: dict[str, Any] = {**dict(study.resources.get(executor, {})),  # the command line wins
                               **({"workers": workers} if workers is not None else {}),
                               **dict(executor_options or {})}
    if gpus:
        options["gpus"] = list(gpus)
    if share not in (None, "processes", "packed"):
        raise UserError(f"unknown sharing mode {share!r}; known: processes, packed")
    if int(runs_per_gpu) != 1 and not gpus and share != "packed":
        raise UserError(f"--runs-per-gpu {runs_per_gpu} needs --gpus (or --share packed to pack CPU runs)")
    if gpus and (int(runs_per_gpu) != 1 or share):  # runs sharing a GPU (registry/executors/gpu_slots.py)
        options.update(runs_per_gpu=int(runs_per_gpu), share=share or "processes")
    pack_size = int(runs_per_gpu) if share == "packed" else 1
    from registry.track.choose import choose  # -X track=...: the trackers' option, not the executor's

    choose(study, options.pop("track", None), lambda line: say(console, ("warning:", "yellow"), " ", line))
    runner = EXECUTORS.get(executor)(**options)  # unknown options fail here, before any planning
    if pack_size > 1 and runner.detached:  # a queued pack's members would look missing to the next plan
        raise UserError(f"--share packed works with the local executor only, not {executor!r}")
    plan = make_plan(study, store)
    for problem in plan.problems:
        say(console, ("not ingested:", "yellow"), " ", problem)
    if retry_failed:
        for key, status in plan.status.items():
            if status == "failed":
                clear_failure(store.rundir(key))
                plan.status[key] = "missing"
    total = len(plan.stages)
    outcome = Outcome(total=total)
    if plan.busy:  # stored by the next run; said once, in the summary
        outcome.unstored.append(plan.busy)

    # Stages downstream of a failure cannot run; everything else missing or running is work.
    bad = {k for k, s in plan.status.items() if s == "failed"}
    todo: list[str] = []
    for key, stage in plan.stages.items():  # dependency order
        if plan.status[key] in ("missing", "running"):
            if any(d in bad for d in stage.deps.values()):
                bad.add(key)
                outcome.blocked.append((key, _cell_text(plan, key), "blocked: a dependency failed"))
            else:
                todo.append(key)
    for key, status in plan.status.items():
        if status == "failed":
            outcome.failures.append((key, _cell_text(plan, key), plan.reasons.get(key, "failed")))
    outcome.done = plan.counts()["done"]
    for key, how in plan.ended.items():  # say why a submitted stage is submitted again
        say(console, f"resubmitting {key}: its job ended without a result ({how})")
    if not todo:
        say(console, f"nothing to run: {outcome.done}/{total} stages done")
        _summarise(console, outcome)
        return outcome

    if not runner.detached:  # data lives on this machine: refuse up front rather than fail every stage
        problems = plan.readiness(todo, fetch=True)
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise UserError(f"nothing started: {problems[0]}{more}")

    jobs = []
    todo_set = set(todo)
    fresh = {key for key in todo if not store.rundir(key).exists()}  # only these may be packed
    for key in todo:
        if plan.status[key] == "missing":
            write_stage(store, key, plan)
    from registry.packing import Pack, domain_pack_key, form_packs, write_pack

    pack_key = domain_pack_key(load_domain(plan.domain_path), plan.stages) if pack_size > 1 else None
    units = form_packs(todo, pack_key, pack_size, fresh.__contains__) if pack_key else list(todo)
    packs: dict[str, Pack] = {u.key: u for u in units if isinstance(u, Pack)}
    job_of = {m: p.key for p in packs.values() for m in p.members}
    for unit in units:
        members = unit.members if isinstance(unit, Pack) else (unit,)
        key = unit.key if isinstance(unit, Pack) else unit
        after = tuple(dict.fromkeys(job_of.get(d, d) for m in members for d in plan.stages[m].deps.values()
                                    if d in todo_set and job_of.get(d, d) != key))
        rundir = (write_pack(store.home, unit, [store.rundir(m) for m in members], plan.domain_path)
                  if isinstance(unit, Pack) else store.rundir(key))
        jobs.append(Job(key=key, rundir=rundir, after=after))

    prepare = getattr(runner, "prepare", None)
    if prepare is not None:  # refuse bad resources before any progress is drawn or job submitted
        prepare()
    ingester = _Ingester(store)
    started: set[str] = set()
    from registry.progress_log import LineProgress, wants_lines

    progress_kind = LineProgress if wants_lines(console) else _Progress  # a log file gets lines, not a bar
    with ingester, progress_kind(console, total, outcome.done) as progress:
        def on_event(event: str, job: Job, info: Mapping[str, Any]) -> None:
            pack = packs.get(job.key)
            if pack is not None:  # a pack's events are its members' events
                from registry.packing import member_outcome

                for member in pack.members:
                    sub = Job(key=member, rundir=store.rundir(member))
                    if event in ("done", "failed") and not info.get("blocked"):
                        status, reason = member_outcome(sub.rundir)
                        if status == "unfinished":
                            progress.finish(member, False)
                            outcome.blocked.append((member, _cell_text(plan, member), reason))
                            continue
                        on_event(status, sub, {"reason": reason} if reason else {})
                    else:  # start, waiting, progress (members train in step: one report serves all)
                        on_event(event, sub, info)
                return
            if event == "start":
                started.add(job.key)
                cell = plan.first_cell(job.key)
                progress.start(job.key, plan.stages[job.key].kind, label_cell(cell) if cell else "")
            elif event == "progress":
                progress.update(job.key, info)
            elif event == "waiting":  # its worker found the stage leased by another scheduler
                started.discard(job.key)
                progress.start(job.key, plan.stages[job.key].kind, "(running elsewhere)")
            elif event == "interrupted":  # killed by a signal: it resumes from its checkpoints
                console.print(f"{job.key[:8]}: worker killed by {info.get('signal')}; resuming from its "
                              f"checkpoints (retry {info.get('attempt')} of {info.get('retries')})",
                              highlight=False, markup=False)
            elif event == "submitted":
                outcome.submitted += 1
            elif event in ("done", "failed"):
                progress.finish(job.key, event == "done")
                if not info.get("blocked"):
                    ingester.put(job.rundir)
                if event == "done":
                    outcome.done += 1
                    # not the stages another scheduler ran meanwhile (watched, or found finished by our worker)
                    outcome.ran += job.key in started and not info.get("elsewhere")
                elif info.get("blocked"):
                    outcome.blocked.append((job.key, _cell_text(plan, job.key), str(info.get("reason"))))
                else:
                    outcome.failures.append((job.key, _cell_text(plan, job.key), str(info.get("reason"))))

        runner.launch(jobs, on_event)
    outcome.problems.extend(ingester.problems)
    if ingester.unstored:
        outcome.unstored.append(ingester.unstored)
    if runner.detached:
        say(console, f"submitted {outcome.submitted} stages with executor {executor!r}; "
                     f"follow them with `tickets study status`")
    _summarise(console, outcome)
    return outcome


def _summarise(console: Any, outcome: Outcome) -> None:
    failed = len(outcome.failures)
    say(console, f"{outcome.done}/{outcome.total} stages done, {outcome.ran} ran now, "
                 f"{failed} failed, {len(outcome.blocked)} blocked")
    for key, cell, reason in outcome.failures:  # cells and reasons are data, not markup
        say(console, "  ", ("failed", "red"), f" {key} {cell}: {reason}")
    for key, cell, reason in outcome.blocked:
        say(console, "  ", ("blocked", "yellow"), f" {key} {cell}: {reason}")
    for problem in outcome.problems:
        say(console, "  ", ("not ingested", "red"), f" {problem}")
    for problem in outcome.unstored:
        say(console, "  ", problem)
    if failed:
        say(console, f"  failed stages stay failed on a rerun; add --retry-failed to run "
                     f"{'it' if failed == 1 else 'them'} again (error.json is set aside)")


class _Ingester(threading.Thread):
    """Ingests finished runs as they land, in a thread so a slow write never delays dispatch.
    Runs that finish together share one short write session."""

    def __init__(self, store: Store):
        super().__init__(daemon=True)
        self.store = store
        self.queue: queue.Queue = queue.Queue()
        self.problems: list[str] = []
        self.error: BaseException | None = None
        self.unstored: str | None = None  # one line when the store was held by another process

    def put(self, rundir: Path) -> None:
        self.queue.put(rundir)

    def run(self) -> None:
        import registry.store as store_module
        from registry.ingest import ingest
        from registry.storebusy import StoreBusy, not_stored

        stop = False
        pending: list[Path] = []  # finished, not stored yet (the store was held by another process)
        busy: StoreBusy | None = None
        busy_at = 0.0
        while not stop:
            batch = [self.queue.get()]
            while True:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            stop = None in batch
            fresh = [b for b in batch if b is not None]
            pending.extend(fresh)
            if busy is not None and not fresh and time.monotonic() - busy_at < store_module.LOCK_RETRY_SECONDS:
                continue  # the store was found held a moment ago: no point waiting for it again now
            if pending:
                try:
                    self.problems.extend(ingest(self.store, pending)[1])
                    pending, busy = [], None
                except StoreBusy as exc:  # keep them and try again with the next batch
                    busy, busy_at = exc, time.monotonic()
                except BaseException as exc:  # reported after the sweep; run dirs keep the truth
                    self.error, pending = exc, []
        if busy is not None and pending:
            self.unstored = not_stored(len(pending), busy)

    def __enter__(self) -> "_Ingester":
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.queue.put(None)
        self.join()
        if self.error is not None and exc[0] is None:
            raise self.error


class _Progress:
    """A sweep-level bar (stages done / total) plus one line per running stage."""

    def __init__(self, console: Any, total: int, done: int):
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), console=console, transient=False)
        self.sweep = self.progress.add_task("stages", total=total, completed=done)
        self.lines: dict[str, Any] = {}
        self.labels: dict[str, str] = {}

    def __enter__(self) -> "_Progress":
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def start(self, key: str, kind: str, cell: str) -> None:
        from rich.markup import escape

        if key in self.lines:
            return
        self.labels[key] = f"  {key[:8]} {kind:<8} {cell}"
        self.lines[key] = self.progress.add_task(escape(self.labels[key]), total=None)

    def update(self, key: str, info: Mapping[str, Any]) -> None:
        from rich.markup import escape

        if key not in self.lines:
            return
        epochs, epoch = info.get("epochs"), info.get("epoch")
        text = escape(f"{self.labels[key]} · {info.get('phase', '')}")  # a label may hold [...]: not markup
        self.progress.update(self.lines[key], description=text,
                             total=epochs if isinstance(epochs, int) and epochs > 0 else None,
                             completed=epoch if isinstance(epoch, int) else 0)

    def finish(self, key: str, ok: bool) -> None:
        task = self.lines.pop(key, None)
        if task is not None:
            self.progress.remove_task(task)
        if ok:
            self.progress.advance(self.sweep)
