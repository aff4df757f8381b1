"""What a new user meets (issue 22): the torch build setup picks, hints that name the right command,
typos that get "did you mean"."""
from __future__ import annotations

import http.server
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _choice(index: str, gpu: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "TICKETS_TORCH_REINSTALL": "1", "TICKETS_GPU": gpu, "TICKETS_TORCH_CPU_INDEX": index,
           "TICKETS_TORCH_PROBE_SECONDS": "20"}
    return subprocess.run(["bash", str(ROOT / "scripts" / "torch_choice.sh")], env=env, capture_output=True,
                          text=True, timeout=120)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again on return: connecting is refused at once


def test_setup_falls_back_to_the_default_index_when_the_cpu_index_is_unreachable():
    done = _choice(f"http://127.0.0.1:{_closed_port()}/whl/cpu", "no")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""  # no extra pip arguments: the default index
    assert len(done.stderr.strip().splitlines()) == 1 and "did not answer" in done.stderr


def test_setup_picks_the_cpu_build_where_there_is_no_gpu_and_the_index_answers(tmp_path):
    (tmp_path / "torch").mkdir()
    (tmp_path / "torch" / "index.html").write_text("<a href='torch-2.14.1+cpu.whl'>torch</a>")
    handler = lambda *a, **k: http.server.SimpleHTTPRequestHandler(*a, directory=str(tmp_path), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        index = f"http://127.0.0.1:{server.server_address[1]}"
        done = _choice(index, "no")
        assert done.stdout.split() == ["--index-url", index, "--extra-index-url", "https://pypi.org/simple"]
        assert done.stderr.strip() == f"torch: no GPU here: the CPU build from {index}"
        with_gpu = _choice(index, "yes")
        assert with_gpu.stdout.strip() == "" and "CUDA build" in with_gpu.stderr
    finally:
        server.shutdown()
        server.server_close()


def test_setup_waits_for_the_dpkg_lock_and_installs_torch_before_the_package():
    text = (ROOT / "scripts" / "setup.sh").read_text()
    apt = [line for line in text.splitlines() if "apt-get" in line and not line.strip().startswith("#")]
    assert apt and all("DPkg::Lock::Timeout=" in line for line in apt)
    assert text.index("torch_choice.sh") < text.index("-e '.[dev]'")


def test_plan_on_a_machine_without_gpu_offers_the_cpu_calibration(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from tickets.cli.main import cli

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "study", "plan", str(ROOT / "studies" / "quickstart.py")])
    assert result.exit_code == 0, result.output
    hint = [line for line in result.output.splitlines() if "no throughput calibration" in line]
    assert hint and "--gpus" not in hint[0]
    assert "`tickets calibrate --model lenet300 --dataset fashionmnist` (this machine's CPU) projects CPU-hours" in hint[0]


@pytest.mark.parametrize("command", ["keep-ratios", "accuracy", "curves", "size"])
def test_a_misspelt_method_in_a_figure_filter_gets_did_you_mean(tmp_path, command):
    from click.testing import CliRunner

    from tickets.cli.main import cli

    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "figure", command, "--method", "snipp",
                                      "-o", str(tmp_path / "f.png")])
    assert result.exit_code == 2
    assert "unknown method 'snipp' (did you mean 'snip'?)" in result.output
    assert not (tmp_path / "f.png").exists()


def test_an_unquoted_check_column_gets_a_hint_to_quote_it(tmp_path):
    from click.testing import CliRunner

    from tickets.cli.main import cli

    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "sql", "SELECT method, check FROM runs"])
    assert result.exit_code == 2
    assert 'quote the column as "check"' in result.output


def _store_with_long_values(home: Path) -> str:
    import json

    import pandas as pd

    from registry.store import Store

    key = "0123456789abcdef"
    extra = {"kept_weights": 26_620, "prunable_weights": 266_200, "seconds_per_epoch": 12.3456,
             "wall_seconds": 40.1, "note": "a value long enough to be cut into fragments by a narrow column"}
    runs = pd.DataFrame([dict(key=key, kind="pretrain", status="done", source="local", dataset="fashionmnist",
                              model="lenet300", method="random_tickets", check="half_data_seed", sparsity=0.0,
                              seed=0, variant="batch_size=128 epochs=3 milestones=2 nesterov=True", spec="{}")])
    results = pd.DataFrame([dict(key=key, test_acc=86.123, best_test_acc=86.5, train_loss=0.31, test_loss=0.4,
                                 achieved_sparsity=0.0, collapsed=False, seconds=40.0, extra=json.dumps(extra),
                                 params=266_610, flops=266_200, dense_params=266_610, dense_flops=266_200)])
    Store(home).add_new_runs({"runs": runs, "results": results})
    return key, extra


def test_runs_ls_and_show_never_cut_a_token_when_piped(tmp_path):
    import json

    from click.testing import CliRunner

    from tickets.cli.main import cli

    key, extra = _store_with_long_values(tmp_path)
    listed = CliRunner().invoke(cli, ["--home", str(tmp_path), "runs", "ls"])  # CliRunner's stdout is a pipe
    assert listed.exit_code == 0, listed.output
    row = [line for line in listed.output.splitlines() if key in line]
    assert len(row) == 1  # one line per run, nothing folded onto the next
    for token in ("pretrain", "random_tickets", "half_data_seed", "fashionmnist", "86.123"):
        assert token in row[0], token
    shown = CliRunner().invoke(cli, ["--home", str(tmp_path), "runs", "show", key[:6]])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    extra_line = [line for line in lines if line.strip().startswith("extra ")]
    assert extra_line and json.loads(extra_line[0].split(None, 1)[1]) == extra  # whole, parseable
    assert any(line.split() == ["dense_flops", "266200"] for line in lines)
