"""Reads a W&B offline run file (`run-<id>.wandb`, LevelDB log framing of wandb's protobuf
`Record`s), so tests check what the W&B tracker wrote without a W&B server."""
from __future__ import annotations

import json
import struct
from pathlib import Path

BLOCK = 32768
HEADER = 7  # ":W&B" + magic (2 bytes) + version (1 byte)


def records(path: Path) -> list:
    from wandb.proto import wandb_internal_pb2 as pb

    data = Path(path).read_bytes()
    assert data[:4] == b":W&B", f"{path} is not a W&B run file"
    pos, chunks, partial = HEADER, [], b""
    while pos + 7 <= len(data):
        left = BLOCK - pos % BLOCK
        if left < 7:  # the rest of a block too small for a record header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        pos += 7
        chunk, pos = data[pos:pos + length], pos + length
        if kind == 1:
            chunks.append(chunk)
        elif kind == 2:
            partial = chunk
        elif kind == 3:
            partial += chunk
        elif kind == 4:
            chunks.append(partial + chunk)
            partial = b""
    out = []
    for chunk in chunks:
        record = pb.Record()
        record.ParseFromString(chunk)
        out.append(record)
    return out


def read_run(folder: Path) -> dict:
    """{"run": {id, name, group}, "config": {...}, "history": [{key: value}], "summary": {...}} of one
    offline run folder (`offline-run-<time>-<id>`)."""
    (path,) = Path(folder).glob("run-*.wandb")
    out = {"run": {}, "config": {}, "history": [], "summary": {}}
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            out["run"] = {"id": record.run.run_id, "name": record.run.display_name, "group": record.run.run_group}
            for item in record.run.config.update:
                out["config"][item.key] = json.loads(item.value_json)
        elif kind == "config":
            for item in record.config.update:
                out["config"][item.key] = json.loads(item.value_json)
        elif kind == "history":
            out["history"].append({(item.key or "/".join(item.nested_key)): json.loads(item.value_json)
                                   for item in record.history.item})
        elif kind == "summary":
            for item in record.summary.update:
                out["summary"][item.key or "/".join(item.nested_key)] = json.loads(item.value_json)
    return out
