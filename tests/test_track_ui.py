"""The TensorBoard UI, started on loopback over what the tracker wrote, shows the run's curve in
headless Chromium (skipped only where no Chromium is installed; scripts/setup.sh installs it)."""
from __future__ import annotations

import html
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from registry.track.base import RunInfo

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_run(port: int, name: str, server: subprocess.Popen, deadline_s: float = 120) -> None:
    """Poll TensorBoard's own run list until it has loaded our run (or give up at the deadline)."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"tensorboard exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=5) as answer:
                if any(name in run for run in json.loads(answer.read())):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"tensorboard did not list {name!r} within {deadline_s:g} s")


@pytest.mark.slow
@pytest.mark.skipif(BROWSER is None, reason="no Chromium installed (scripts/setup.sh installs it)")
def test_tensorboard_shows_a_tracked_runs_curve_in_headless_chromium(tmp_path):
    pytest.importorskip("tensorboard")
    from registry.track.tensorboard import TensorBoardRun

    info = RunInfo("a1b2c3d4e5f60718", "ticket", "snip 90% seed 0", "quickstart", {"method": "snip"}, {},
                   ("quickstart",), tmp_path)
    run = TensorBoardRun(str(tmp_path / "tb"), info)
    for epoch, acc in ((1, 61.25), (2, 70.5), (3, 77.75)):
        run.epoch("retrain", epoch, {"test_acc": acc})
    run.writer.close()

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", "--logdir", str(tmp_path / "tb"),
                               "--host", "127.0.0.1", "--port", str(port), "--reload_interval", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_run(port, "snip 90% seed 0", server)
        page = f"http://127.0.0.1:{port}/#timeseries"
        common = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--window-size=1400,900", "--virtual-time-budget=20000"]
        dom = subprocess.run([*common, "--dump-dom", page], capture_output=True, text=True, timeout=180).stdout
        # the scalars dashboard draws its curves as SVG, which renders without a GPU: screenshot it
        curves = f"http://127.0.0.1:{port}/#scalars&tagFilter=retrain%2Ftest_acc"
        subprocess.run([*common, f"--screenshot={tmp_path / 'tensorboard.png'}", curves], capture_output=True,
                       timeout=180)
    finally:
        server.kill()
        server.wait(30)
    text = html.unescape(dom)
    card = text[text.index('title="retrain/test_acc"'):]
    card = card[:card.find("</scalar-card-component>")]
    assert "<canvas" in card  # the time series card has its chart...
    assert "quickstart/snip 90% seed 0 [a1b2c3d4]" in re.sub(r"\s+", " ", card)  # ...for our run...
    assert any(v in card for v in ("61.25", "70.5", "77.75"))  # ...with its values in the card's table
    shutil.copy(tmp_path / "tensorboard.png", os.environ.get("TICKETS_UI_SCREENSHOT", tmp_path / "copy.png"))
    assert _curve_pixels(tmp_path / "tensorboard.png") > 150  # the run's line, in its colour, in a chart


def _curve_pixels(png: Path) -> int:
    """Pixels of the one run's colour (TensorBoard's first, an orange) right of the run list and below
    the (also orange) header: a drawn curve is a few hundred of them, an empty chart none."""
    from PIL import Image

    image = Image.open(png).convert("RGB")
    width, height = image.size
    pixels = image.load()
    count = 0
    for y in range(int(height * 0.15), height):
        for x in range(int(width * 0.27), width):
            r, g, b = pixels[x, y]
            if r > 200 and 80 < g < 170 and b < 110:
                count += 1
    return count
