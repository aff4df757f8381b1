"""TensorBoard: one event-file folder per run, `<logdir>/<study>/<name> [<key8>]`, written with
TensorBoard's own event writer and protos (no torch needed). Scalars `<phase>/<metric>` per epoch,
`final/<metric>` for the summary, the per-layer keep ratios as the curve `layers/keep_ratio`
(x = layer index) and a text table, and the run's params as a text table.
The log folder: the tracker's target, else TICKETS_TENSORBOARD_DIR, else `<home>/tensorboard`."""
from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from registry.track.base import RunInfo, register

ENV = "TICKETS_TENSORBOARD_DIR"


def logdir(target: str | None, home: Path | None) -> Path:
    chosen = target or os.environ.get(ENV) or (str(home / "tensorboard") if home is not None else "tensorboard")
    return Path(chosen).expanduser()


def run_folder(root: Path, info: RunInfo) -> Path:
    safe = re.sub(r"[/\\\0]", "_", info.name)
    return root / (re.sub(r"[/\\\0]", "_", info.group) or "runs") / f"{safe} [{info.key[:8]}]"


def _markdown(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


class TensorBoardRun:
    def __init__(self, target: str | None, info: RunInfo, *, fresh: bool = False):
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        self.folder = run_folder(logdir(target, info.home), info)
        if fresh and self.folder.exists():  # a backfill rewrites the run whole: exporting twice is once
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.writer = EventFileWriter(str(self.folder), flush_secs=5)
        self.info = info
        params = sorted((k, v) for k, v in info.params.items())
        self._text("config", _markdown(params + sorted(info.tags.items()), ("name", "value")), 0)

    def _event(self, value: Any, step: int) -> None:
        from tensorboard.compat.proto import event_pb2, summary_pb2

        self.writer.add_event(event_pb2.Event(wall_time=time.time(), step=int(step),
                                              summary=summary_pb2.Summary(value=[value])))

    def _scalar(self, tag: str, value: float, step: int) -> None:
        from tensorboard.compat.proto import summary_pb2

        self._event(summary_pb2.Summary.Value(tag=tag, simple_value=float(value)), step)

    def _text(self, tag: str, text: str, step: int) -> None:
        from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2, types_pb2

        meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
        tensor = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=[text.encode()],
                                        tensor_shape=tensor_shape_pb2.TensorShapeProto())
        self._event(summary_pb2.Summary.Value(tag=tag, metadata=meta, tensor=tensor), step)

    def tag(self, tags: Mapping[str, str]) -> None:
        self._text("provenance", _markdown(sorted(tags.items()), ("name", "value")), 0)

    def epoch(self, phase: str, epoch: int, metrics: Mapping[str, float]) -> None:
        for name, value in metrics.items():
            self._scalar(f"{phase}/{name}", value, epoch)
        self.writer.flush()

    def finish(self, summary: Mapping[str, Any], layers: Sequence[Mapping[str, Any]], failed: str | None) -> None:
        for name, value in summary.items():
            self._scalar(f"final/{name}", value, 0)
        for idx, row in enumerate(layers):
            if isinstance(row.get("keep_ratio"), (int, float)):
                self._scalar("layers/keep_ratio", row["keep_ratio"], idx)
        if layers:
            self._text("layers", _markdown([(i, r.get("layer"), r.get("weights"), r.get("kept"), r.get("keep_ratio"))
                                            for i, r in enumerate(layers)],
                                           ("idx", "layer", "weights", "kept", "keep_ratio")), 0)
        if failed:
            self._text("failed", failed, 0)
        self.writer.flush()
        self.writer.close()


@register("tensorboard")
def tensorboard_run(target: str | None, info: RunInfo, fresh: bool = False) -> TensorBoardRun:
    return TensorBoardRun(target, info, fresh=fresh)
