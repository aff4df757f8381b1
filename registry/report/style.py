"""How figures look: one fixed style (colour, marker, line style) per series name, paper-sized
figures and embeddable (Type 42) fonts.

A series keeps its style wherever it appears: the style is looked up by name in an ordered list
(declared names first, e.g. a report's series labels or the domain's method list), never by the
order in which one panel happens to meet its lines, so a panel missing a series does not shift the
others' colours. Colours are the Okabe-Ito colour-blind-safe palette; markers and line styles vary
with them, so series stay apart in greyscale print."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from registry.errors import UserError

# Okabe & Ito (2008), without yellow (too light on white), plus grey, dark red and Tol's indigo (his
# teal was a second bluish green: Random Tickets and LR rewinding looked alike)
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000", "#882255",
           "#999999", "#332288")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
LINESTYLES = ("-", "--", ":", "-.")

# Text widths of common venues, in inches: a one-column figure and a full-width (figure*) figure.
SIZES = {"column": 3.3, "page": 6.9}
FONT_SIZE = 8  # points at print size: the smallest text a venue's checker accepts comfortably


def style_at(i: int) -> dict[str, Any]:
    """The i-th style: colour and marker advance together; the line style changes with them and
    again each time the palette wraps, so no two of the first 40 styles are equal."""
    return {"color": PALETTE[i % len(PALETTE)], "marker": MARKERS[i % len(MARKERS)],
            "linestyle": LINESTYLES[(i + i // len(PALETTE)) % len(LINESTYLES)]}


class StyleBook:
    """Series name -> style, fixed for the whole figure (and for every figure given the same order)."""

    def __init__(self, order: Iterable[Any] = (), names: Iterable[Any] = ()):
        self._index: dict[Any, int] = {}
        for name in list(order) + sorted({n for n in names if n not in set(order)}, key=str):
            self._index.setdefault(name, len(self._index))

    def __call__(self, name: Any) -> dict[str, Any]:
        if name not in self._index:
            self._index[name] = len(self._index)
        return style_at(self._index[name])

    def order(self, names: Iterable[Any]) -> list[Any]:
        """`names` in style order (the legend's order)."""
        return sorted(set(names), key=lambda n: (self._index.get(n, len(self._index)), str(n)))


class MethodStyles:
    """Styles for series that are a method plus a qualifier (check, variant, sparsity): colour and
    marker name the method (fixed by `order`, e.g. every registered method, so a method looks the
    same in every figure), the line style the qualifier (the plain method solid). Only when there
    are more qualifiers than line styles (keep ratios at many sparsities) does every series take a
    full style of its own instead, so they stay apart."""

    def __init__(self, order: Iterable[Any], pairs: Iterable[tuple[Any, Any]]):
        pairs = list(pairs)
        self._methods = StyleBook(order, [m for m, _ in pairs])
        self._qualifiers = sorted({q for _, q in pairs if q}, key=str)
        # one method with several qualifiers, or more qualifiers than line styles: every series its
        # own colour, marker and line style instead
        flat = len(self._qualifiers) >= len(LINESTYLES)  # colour names the method wherever it can
        self._single = StyleBook(sorted(set(pairs), key=lambda p: self.key(*p))) if flat else None

    def _rank(self, qualifier: Any) -> int:
        return self._qualifiers.index(qualifier) + 1 if qualifier in self._qualifiers else 0

    def __call__(self, method: Any, qualifier: Any = "") -> dict[str, Any]:
        if self._single is not None:
            return self._single((method, qualifier))
        return dict(self._methods(method), linestyle=LINESTYLES[self._rank(qualifier) % len(LINESTYLES)])

    def key(self, method: Any, qualifier: Any = "") -> tuple[int, int]:
        """Sort key: methods in style order, each method's plain line first."""
        return (self._methods._index.get(method, 10**6), self._rank(qualifier))


@dataclass(frozen=True)
class FigureOptions:
    """Print size and decoration. `width` in inches (`column`/`page` presets or a number);
    `height` derived from the panel grid unless given; no title unless asked for (a paper's
    caption carries it)."""

    width: float = SIZES["page"]
    height: float | None = None
    title: str | None = None
    font_size: float = FONT_SIZE

    def columns(self, panels: int) -> int:
        """Panels per row: as many as leave each at least 1.6 in wide, at most 3."""
        return max(1, min(3, panels, int(self.width / 1.6)))

    def panel_size(self, nrows: int, ncols: int, aspect: float = 0.75) -> tuple[float, float]:
        if self.height is not None:
            return self.width, self.height
        return self.width, max(1.6, min(self.width / ncols * aspect, 2.8) * nrows + 0.3)


_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:[x×]\s*(\d+(?:\.\d+)?))?\s*(?:in)?\s*$")


def parse_size(text: str | None) -> tuple[float, float | None]:
    """`column`, `page`, `3.5` or `7x3` (inches) -> (width, height or None)."""
    if text is None:
        return SIZES["page"], None
    if text in SIZES:
        return SIZES[text], None
    match = _SIZE_RE.match(text)
    if match:
        width = float(match.group(1))
        height = float(match.group(2)) if match.group(2) else None
        if 1.0 <= width <= 20.0 and (height is None or 0.5 <= height <= 20.0):
            return width, height
    raise UserError(f"bad figure size {text!r}: use {', '.join(SIZES)} "
                    f"({', '.join(f'{v:g} in' for v in SIZES.values())} wide), a width in inches (3.5) "
                    f"or WIDTHxHEIGHT in inches (7x3)")


def rc(options: FigureOptions) -> dict[str, Any]:
    """matplotlib settings for print: Type 42 (TrueType) fonts embedded in PDF/PS instead of Type 3,
    which IEEE/ACM PDF checkers reject; text at `font_size` points."""
    size = options.font_size
    return {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none",
            "font.size": size, "axes.titlesize": size, "axes.labelsize": size, "xtick.labelsize": size - 1,
            "ytick.labelsize": size - 1, "legend.fontsize": size - 1, "figure.titlesize": size + 1,
            "lines.linewidth": 1.2, "lines.markersize": 4, "errorbar.capsize": 2, "axes.linewidth": 0.6,
            "grid.linewidth": 0.4, "savefig.dpi": 300}


def legend_columns(labels: Sequence[str], width_in: float, font_size: float = FONT_SIZE) -> int:
    """As many legend columns as fit across the figure (about 0.55 font-size per character)."""
    longest = max((len(s) for s in labels), default=1)
    per_column = (longest * 0.55 * font_size + 3 * font_size) / 72  # text + marker, inches
    return max(1, min(len(labels), int(width_in / per_column)))
