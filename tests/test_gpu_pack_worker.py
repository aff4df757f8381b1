"""The pack worker: each member gets its own result.json or error.json and meta.json; the pack's own
outcome says whether every member finished (so the executor blocks dependents otherwise)."""
from __future__ import annotations

import json

from registry.atomic import write_json
from registry.pack_worker import run_pack
from registry.packing import Pack, member_outcome, write_pack


class PackingDomain:
    name = "packing-test"

    def run_packed(self, stages, rundirs, dep_dirs, reports):
        out = []
        for stage, report in zip(stages, reports):
            report({"event": "epoch", "epoch": 1, "epochs": 1})
            if stage["spec"]["fail"]:
                out.append(ValueError(f"member {stage['key']} broke"))
            else:
                out.append({"test_acc": 50.0 + stage["spec"]["seed"], "best_test_acc": 60.0})
        return out

    def runtime_info(self):
        return {"device": "cpu", "gpu_model": None, "torch_version": "x", "cuda_version": None, "threads": 3}


DOMAIN = PackingDomain()


def _member(home, key, seed, fail=False):
    rundir = home / "runs" / key
    rundir.mkdir(parents=True)
    write_json(rundir / "stage.json", {"key": key, "kind": "k", "spec": {"seed": seed, "fail": fail},
                                       "columns": {}, "deps": {}, "dep_dirs": {}, "domain": f"{__name__}:DOMAIN"})
    return rundir


def test_every_member_gets_its_own_files(tmp_path):
    dirs = [_member(tmp_path, "a", 1), _member(tmp_path, "b", 2)]
    folder = write_pack(tmp_path, Pack("p1", ("a", "b")), dirs, f"{__name__}:DOMAIN")
    assert run_pack(folder) == 0
    for rundir, seed in zip(dirs, (1, 2)):
        assert json.loads((rundir / "result.json").read_text())["test_acc"] == 50.0 + seed
        meta = json.loads((rundir / "meta.json").read_text())
        assert meta["packed_with"] == 2 and meta["threads"] == 3 and meta["finished"] >= meta["started"]
        assert json.loads((rundir / "progress.json").read_text())["epoch"] == 1
        assert not (rundir / "lease.json").exists()
    assert json.loads((folder / "result.json").read_text())["members"] == ["a", "b"]


def test_a_failing_member_fails_alone_and_the_pack_reports_it(tmp_path):
    dirs = [_member(tmp_path, "a", 1), _member(tmp_path, "b", 2, fail=True), _member(tmp_path, "c", 3)]
    folder = write_pack(tmp_path, Pack("p2", ("a", "b", "c")), dirs, f"{__name__}:DOMAIN")
    assert run_pack(folder) == 1
    assert [member_outcome(d)[0] for d in dirs] == ["done", "failed", "done"]
    assert member_outcome(dirs[1])[1] == "ValueError: member b broke"
    assert "1 of 3 packed stages did not finish: b" in json.loads((folder / "error.json").read_text())["reason"]
    # a retry of the same members: the old outcome is set aside, finished members are left alone
    (dirs[1] / "error.json").unlink()
    folder = write_pack(tmp_path, Pack("p2", ("a", "b", "c")), dirs, f"{__name__}:DOMAIN")
    assert not (folder / "error.json").exists() and (folder / "error.json.prev").exists()
    assert run_pack(folder) == 1 and member_outcome(dirs[0])[0] == "done"
