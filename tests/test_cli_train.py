"""`tickets train`: every method and every applicable check end to end on `synthetic`, bad input,
and one real Fashion-MNIST run when the Debian dataset package is installed."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tickets.cli.main import cli

FASHION = Path("/usr/share/datasets/fashion-mnist")
BASE = ["train", "--dataset", "synthetic", "--model", "lenet5", "--epochs", "1", "--seed", "0",
        "--batch-size", "64", "--device", "cpu"]
SUMMARY = re.compile(r"^(\S+) lenet5/synthetic sparsity 0\.9( check \S+)? seed 0: test acc \d+\.\d\d% "
                     r"\(best \d+\.\d\d%\), \d+\.\d s/epoch, kept 10\.0% of 61,470 weights( \(a layer collapsed\))? -> (\S+)$")

RUNS = [  # (method, check, extra args): every method once, every check with a method it applies to
    ("random", "none", []), ("random_tickets", "none", []), ("snip", "none", []), ("grasp", "none", []),
    ("synflow", "none", ["--opt", "iterations=10"]), ("lt", "none", []), ("imp", "none", ["--opt", "rounds=2"]),
    ("wr", "none", ["--opt", "rewind_epoch=0"]), ("lrr", "none", []), ("hybrid", "none", []),
    ("obd", "none", []), ("scratch_e", "none", []), ("scratch_b", "none", []),
    ("random_tickets", "none", ["--opt", "rule=erk"]),
    ("snip", "random_labels", []), ("grasp", "random_pixels", []), ("snip", "corrupt", []),
    ("snip", "half_data", []), ("lrr", "half_data", []), ("lt", "corrupt", []),
    ("lt", "rearrange", []), ("lrr", "shuffle_weights", []), ("snip", "reinit", []),
    ("random_tickets", "rearrange", []),
]

pytestmark = pytest.mark.usefixtures("single_thread")


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")  # shared: pretrainings are reused across the runs


def invoke(args, **kw):
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kw)


def test_dense_run_and_summary(out):
    res = invoke([*BASE, "--out", str(out)])
    assert res.exit_code == 0, res.output
    line = res.output.strip().splitlines()[-1]
    m = re.match(r"^dense lenet5/synthetic seed 0: test acc (\d+\.\d\d)% \(best \d+\.\d\d%\), "
                 r"\d+\.\d s/epoch, 61,470 weights -> (\S+)$", line)
    assert m, line
    rundir = Path(m.group(2))
    assert rundir.name.startswith("pretrain-")
    result = json.loads((rundir / "result.json").read_text())
    assert f"{result['test_acc']:.2f}" == m.group(1)
    assert result["achieved_sparsity"] == 0.0 and result["collapsed"] is False and result["epochs"] == 1
    stage = json.loads((rundir / "stage.json").read_text())
    assert stage["kind"] == "pretrain" and stage["key"] == rundir.name.split("-", 1)[1]
    assert stage["domain"] == "tickets.domain:DOMAIN" and stage["columns"]["method"] == "dense"
    for name in ("metrics.jsonl", "layers.json", "pretrain/weights-0000.pt", "pretrain/weights-0001.pt"):
        assert (rundir / name).exists(), name


@pytest.mark.slow
@pytest.mark.parametrize("method, check, extra", RUNS, ids=[f"{m}-{c}{'-' + e[-1] if e else ''}" for m, c, e in RUNS])
def test_every_method_and_check_end_to_end(out, method, check, extra):
    res = invoke([*BASE, "--out", str(out), "--method", method, "--sparsity", "0.9", "--check", check, *extra])
    assert res.exit_code == 0, res.output
    line = res.output.strip().splitlines()[-1]
    m = SUMMARY.match(line)
    assert m and m.group(1) == method, line
    rundir = Path(m.group(4))
    assert result_collapse_matches(rundir, m.group(3))
    result = json.loads((rundir / "result.json").read_text())
    assert result["achieved_sparsity"] == pytest.approx(0.9, abs=1e-4)
    assert 0.0 <= result["test_acc"] <= 100.0
    stage = json.loads((rundir / "stage.json").read_text())
    columns = dict(stage["columns"])
    assert "batch_size=64 epochs=1 milestones=none" in columns.pop("variant")  # what differs from the defaults
    assert columns == {"dataset": "synthetic", "model": "lenet5", "method": method, "check": check,
                       "sparsity": 0.9, "seed": 0}
    layers = json.loads((rundir / "layers.json").read_text())
    assert sum(r["kept"] for r in layers) == result["kept_weights"]
    # a second invocation finds the finished stage and only prints the summary
    again = invoke([*BASE, "--out", str(out), "--method", method, "--sparsity", "0.9", "--check", check, *extra])
    assert again.output.strip().splitlines()[-1] == line


def result_collapse_matches(rundir: Path, flag) -> bool:
    result = json.loads((rundir / "result.json").read_text())
    layers = json.loads((rundir / "layers.json").read_text())
    return result["collapsed"] == bool(flag) == any(r["kept"] == 0 for r in layers)


@pytest.mark.parametrize("args, message", [
    (["--method", "lotery", "--sparsity", "0.9"], "unknown method 'lotery'"),
    (["--method", "lt"], "give --sparsity"),
    (["--method", "lt", "--sparsity", "1.5"], "sparsity must be in [0, 1)"),
    (["--method", "synflow", "--sparsity", "0.9", "--check", "half_data"],
     "check 'half_data' does not apply to method 'synflow': it uses no data in its pruning step"),
    (["--epochs", "-2"], "epochs must be >= 0"),
    (["--dataset", "synthetic32"], "model lenet5 needs 28x28 grayscale input"),
    (["--set", "warmup=3"], "unknown training option 'warmup'"),
    (["--set", "lr"], "--set must look like key=value"),
    (["--method", "snip", "--sparsity", "0.9", "--opt", "temperature=3"], "unknown option 'temperature' for method snip"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    target = tmp_path / "out"
    res = CliRunner().invoke(cli, [*BASE, "--out", str(target), *args])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert not target.exists()  # nothing half-written


def test_unwritable_out_and_missing_data(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = CliRunner().invoke(cli, [*BASE, "--out", str(blocker / "runs")])
    assert res.exit_code == 2 and "cannot write to output folder" in res.output
    monkeypatch.setenv("TICKETS_DOWNLOAD", "0")
    target = tmp_path / "out"
    res = CliRunner().invoke(cli, ["train", "--dataset", "cifar10", "--model", "resnet20", "--epochs", "1",
                                   "--data-root", str(tmp_path / "nodata"), "--out", str(target)])
    assert res.exit_code == 2, res.output
    assert "cifar10" in res.output and not target.exists()


@pytest.mark.slow
@pytest.mark.skipif(not FASHION.is_dir(), reason="Debian package dataset-fashion-mnist not installed")
def test_real_fashion_mnist_run(tmp_path):
    res = invoke(["train", "--dataset", "fashionmnist", "--model", "lenet300", "--epochs", "1",
                  "--batch-size", "128", "--method", "random_tickets", "--sparsity", "0.9",
                  "--device", "cpu", "--out", str(tmp_path / "runs")])
    assert res.exit_code == 0, res.output
    line = res.output.strip().splitlines()[-1]
    assert line.startswith("random_tickets lenet300/fashionmnist sparsity 0.9 seed 0: test acc "), line
    acc = float(re.search(r"test acc (\d+\.\d+)%", line).group(1))
    assert acc > 60.0, line  # far above chance (10%) after one epoch at 90% sparsity
    assert "kept 10.0% of 266,200 weights" in line
