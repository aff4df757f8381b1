"""The README's printed quickstart table against what a quickstart run printed.

    python scripts/readme_table.py check OUTPUT   # exit 1 with a diff when they differ
    python scripts/readme_table.py write OUTPUT   # put OUTPUT's table into README.md

OUTPUT is the text `bash scripts/quickstart.sh` printed (piped, so bold cells read `*…*`). The table is
the block from the report's title line to its "final-epoch test accuracy" line; .ci/run checks it after
the quickstart, so the README shows what a fresh clone prints, digit for digit."""
from __future__ import annotations

import difflib
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


def write(readme: str, output: str) -> str:
    ours, printed = table_block(readme), table_block(output)
    if not ours or not printed:
        raise SystemExit("no table to replace or none printed")
    text = readme.splitlines()
    start = next(i for i, line in enumerate(text) if line.strip() == FIRST)
    return "\n".join(text[:start] + printed + text[start + len(ours):]) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("check", "write"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    output = Path(argv[1]).read_text()
    readme = README.read_text()
    if argv[0] == "write":
        README.write_text(write(readme, output))
        print(f"README.md: quickstart table replaced from {argv[1]}")
        return 0
    diff = compare(readme, output)
    if diff:
        print("README.md's quickstart table is not what this quickstart printed "
              f"(`python scripts/readme_table.py write {argv[1]}` replaces it):", file=sys.stderr)
        print("\n".join(diff), file=sys.stderr)
        return 1
    print("README.md's quickstart table matches the quickstart output")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
