"""The README's day-to-day claims (issue 15): one quickstart time, qualified reproducibility, the CUDA
download warning, and shell completion that works as documented."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_one_quickstart_time():
    docs = README + (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    times = set(re.findall(r"about ([\d.]+|one|two|three|four|five) minutes?", docs))
    assert times == {"2.5"}, times


def test_reproducibility_is_qualified_and_the_cuda_download_named():
    text = " ".join(README.split())
    assert "reproducible from the spec and seed on the same torch version with the same number of CPU threads" in text
    assert "4–5 GB" in text and "download.pytorch.org/whl/cpu" in text


def test_shell_completion_as_documented():
    assert '_TICKETS_COMPLETE=bash_source tickets' in README
    env = {**os.environ, "_TICKETS_COMPLETE": "bash_source"}
    script = subprocess.run([sys.executable, "-m", "tickets.cli.main"], env=env, capture_output=True, text=True,
                            timeout=60)
    assert "_tickets_completion()" in script.stdout
    env = {**os.environ, "_TICKETS_COMPLETE": "bash_complete", "COMP_WORDS": "tickets stu", "COMP_CWORD": "1"}
    words = subprocess.run([sys.executable, "-m", "tickets.cli.main"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert words.stdout.strip() == "plain,study"
