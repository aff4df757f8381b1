"""Stored names written out as text that stays text, in each place a reader opens it.

Run names, methods, checks and study names come from run files and imported tables: anyone who can
write a run directory or hand over an exchange file chooses them. Written as-is they became HTML in a
Markdown report (`<img onerror=...>`), formulas in a spreadsheet (`=cmd|' /C calc'!A0`) and
terminal escape sequences in `runs ls` (ESC, BEL). Each writer passes them through one of these."""
from __future__ import annotations

import re
from typing import Any

# Markdown's inline specials (emphasis, code, links and images, table pipes, strikethrough) and those
# that only act at the start of a line (headings, lists, numbered lists); '<' '>' '&' become entities
# (a backslash does not stop raw HTML in every renderer).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MD_LEADING = re.compile(r"^(\s*)([#+=-]|\d+(?=[.)]))")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_C0_C1 = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"[\r\n\t]+")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def markdown_text(text: Any) -> str:
    """`text` as literal Markdown: HTML characters as entities, specials backslash-escaped, on one line."""
    text = _LINE_BREAKS.sub(" ", terminal_text(text))
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _MD_LEADING.sub(lambda m: m.group(1) + "\\" + m.group(2) if not m.group(2).isdigit()
                           else m.group(1) + m.group(2) + "\\", text)
    return "".join(_HTML.get(ch, ch) for ch in text)


def csv_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run (OWASP's rule: a text cell starting with = + - @ tab or
    CR gets a leading '); numbers, and text that is a plain number such as '-0.5', stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_uncell(value: Any) -> Any:
    """The stored text of a cell `csv_cell` neutralised (an exchange file read back)."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START) \
            and not _NUMBER.match(value[1:]):
        return value[1:]
    return value


def csv_frame(frame: Any) -> Any:
    """A copy of a pandas frame with every text cell passed through `csv_cell`."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or str(out[column].dtype) in ("str", "string"):
            out[column] = out[column].map(csv_cell)
    out.columns = [csv_cell(str(c)) for c in out.columns]
    return out


def terminal_text(text: Any) -> str:
    """`text` without C0/C1 control characters (ESC, BEL, CSI ...), so a stored name cannot move the
    cursor, retitle the window or ring the bell; tabs and newlines stay."""
    return _C0_C1.sub("", str(text))
