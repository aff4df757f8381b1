"""What a new user meets (issue 22): the torch build setup picks, hints that name the right command,
typos that get "did you mean"."""
from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
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
