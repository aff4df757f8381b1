"""The README's printed quickstart table against what a quickstart run printed.

    python scripts/readme_table.py check OUTPUT   # exit 1 with a diff when they differ
    python scripts/readme_table.py write OUTPUT   # put OUTPUT's table into README.md

OUTPUT is the text `bash scripts/quickstart.sh` printed (piped, so bold cells read `*…*`). The table is
the block from the report's title line to its "final-epoch test accuracy" line; .ci/run checks it after
the quickstart, so the README shows what a fresh clone prints, digit for digit.

The digits depend on the torch build and on the CPU's vector instruction set torch dispatches to
(AVX-512 and AVX2 sum floats in different orders), so README.md names the environment its table is
from (`<!-- quickstart-environment: torch 2.14.1+cu130, cpu AVX512 -->`, written by `write`). On that
environment a difference fails the check; on another one it is shown and said to be expected."""
from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
FIRST = "Quickstart: pruned networks on Fashion-MNIST"
LAST = "final-epoch test accuracy in %."


def table_block(text: str) -> list[str]:
    """The report's lines, title to caption end, trailing spaces dropped; [] when absent."""
    lines = [line.rstrip() for line in text.splitlines()]
    starts = [i for i, line in enumerate(lines) if line.strip() == FIRST]
    if not starts:
        return []
    start = starts[-1]  # the last report printed (a rerun prints it again)
    ends = [i for i in range(start, len(lines)) if lines[i].strip() == LAST]
    return lines[start:ends[0] + 1] if ends else []


def compare(readme: str, output: str) -> list[str]:
    """The unified diff README -> output of the table; [] when they agree."""
    ours, printed = table_block(readme), table_block(output)
    if not printed:
        return [f"the quickstart output has no table (no line {FIRST!r} ... {LAST!r})"]
    if not ours:
        return [f"README.md has no quickstart table (no line {FIRST!r} ... {LAST!r})"]
    return list(difflib.unified_diff(ours, printed, "README.md", "quickstart output", lineterm=""))


MARK = re.compile(r"<!-- quickstart-environment: (.*?) -->")


def environment() -> str:
    """This machine's torch build and CPU capability, as the README's marker spells them
    (TICKETS_QUICKSTART_ENV stands in for them: the tests check both branches on any machine)."""
    if os.environ.get("TICKETS_QUICKSTART_ENV"):
        return os.environ["TICKETS_QUICKSTART_ENV"]
    probe = "import torch; print(f'torch {torch.__version__}, cpu {torch.backends.cpu.get_cpu_capability()}')"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()


def readme_environment(readme: str) -> str | None:
    found = MARK.search(readme)
    return found.group(1) if found else None


def write(readme: str, output: str, env: str) -> str:
    ours, printed = table_block(readme), table_block(output)
    if not ours or not printed:
        raise SystemExit("no table to replace or none printed")
    text = readme.splitlines()
    start = next(i for i, line in enumerate(text) if line.strip() == FIRST)
    new = "\n".join(text[:start] + printed + text[start + len(ours):]) + "\n"
    marker = f"<!-- quickstart-environment: {env} -->"
    if MARK.search(new):
        return MARK.sub(marker, new)
    raise SystemExit("README.md has no <!-- quickstart-environment: ... --> line to update")


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("check", "write"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    output = Path(argv[1]).read_text()
    readme = README.read_text()
    here = environment()
    if argv[0] == "write":
        README.write_text(write(readme, output, here))
        print(f"README.md: quickstart table replaced from {argv[1]} ({here})")
        return 0
    diff = compare(readme, output)
    if not diff:
        print(f"README.md's quickstart table matches the quickstart output ({here})")
        return 0
    theirs = readme_environment(readme)
    if theirs is not None and theirs != here and table_block(output):
        print(f"README.md's quickstart table is from {theirs}; this machine has {here}, whose floating-point "
              "sums differ, so its digits are expected to differ (not an error):")
        print("\n".join(diff))
        return 0
    print("README.md's quickstart table is not what this quickstart printed on the README's own environment "
          f"({here}); `python scripts/readme_table.py write {argv[1]}` replaces it:", file=sys.stderr)
    print("\n".join(diff), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
