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


def test_reproducibility_names_what_must_match_exactly():
    text = " ".join(README.split())
    assert "What must match exactly" in text
    for needed in ("including its build", "`2.14.1+cu130` and `2.14.1+cpu`", "vector instruction set", "CPU thread count", "device type",
                   "CUDA and cuDNN versions"):
        assert needed in text, needed


def _readme_table():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import readme_table
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    return readme_table


def test_the_readme_table_is_compared_with_what_the_quickstart_printed(tmp_path):
    readme_table = _readme_table()
    printed = "\n".join(readme_table.table_block(README))
    assert printed.count("\n") >= 10  # title, header, six rows, caption
    assert readme_table.compare(README, "32/32 stages done\n" + printed + "\n") == []
    first_row = next(line for line in printed.splitlines() if "Full Network" in line)
    changed = printed.replace(first_row, first_row.replace(first_row.split("│")[2], "   99.99±0.01 "))
    diff = readme_table.compare(README, changed)
    assert any(line.startswith("+") and "99.99±0.01" in line for line in diff), diff
    assert any(line.startswith("-") and "Full Network" in line for line in diff), diff
    out = tmp_path / "quickstart.out"
    out.write_text(changed)
    ours = readme_table.readme_environment(README)
    assert ours and ours.startswith("torch 2.") and ", cpu " in ours

    def check(env):
        return subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_table.py"), "check", str(out)],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "TICKETS_QUICKSTART_ENV": env})

    done = check(ours)  # on the README's own environment a difference fails
    assert done.returncode == 1 and "99.99±0.01" in done.stderr
    other = check("torch 2.14.1+cpu, cpu AVX2")  # elsewhere it is shown, and expected
    assert other.returncode == 0 and "99.99±0.01" in other.stdout and "expected to differ" in other.stdout
    assert "readme_table.py check" in (ROOT / ".ci" / "run").read_text()
    # where CI saved a real quickstart's output, the README must be it
    saved = os.environ.get("TICKETS_QUICKSTART_OUTPUT")
    if saved:
        assert readme_table.compare(README, Path(saved).read_text()) == []


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
