"""Printing data as data on a Rich console.

Keys, cells, failure reasons, run names and paths are data: a '[x] list' method or an 'a[/]b'
reason must print as written, never be read as Rich markup (where it vanishes or raises
MarkupError). Only our own labels carry a style, and a line is never re-wrapped mid-message."""
from __future__ import annotations

from typing import Any


def line(*parts: Any) -> Any:
    """A rich Text from plain strings and (text, style) pairs; nothing in it is markup."""
    from rich.text import Text

    out = Text()
    for part in parts:
        if isinstance(part, tuple):
            out.append(str(part[0]), style=part[1])
        else:
            out.append(str(part))
    return out


def say(console: Any, *parts: Any) -> None:
    """Print one line of labels and data (see `line`), unhighlighted and not re-wrapped."""
    console.print(line(*parts), soft_wrap=True, highlight=False)
