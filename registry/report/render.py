"""Output formats: Jinja templates from `templates/` (LaTeX, Markdown, HTML, CSV) and a rich
terminal table. `FORMATS` maps a name to a function Table -> str.

Templates live at the repository root (`templates/`, next to `registry/`); TICKETS_TEMPLATES
points elsewhere. The LaTeX environment uses << >> / <% %> delimiters so braces stay LaTeX's."""
from __future__ import annotations

import csv
import io
import os
import re
from functools import lru_cache
from pathlib import Path
from dataclasses import dataclass
from typing import Any, Callable

from registry.errors import UserError
from registry.naming import Registry
from registry.report.table import Cell, HeaderCell, Table

Renderer = Callable[..., str]  # (table, **layout options) -> text
FORMATS: Registry[Renderer] = Registry("report format")

_TEX_SPECIALS = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 "±": r"$\pm$", "†": r"$^\dagger$", "‡": r"$^\ddagger$", "§": r"\S{}", "¶": r"\P{}",
                 "–": "--", "—": "---", "Δ": r"$\Delta$"}
_TEX_RE = re.compile("|".join(re.escape(k) for k in _TEX_SPECIALS))
_TEX_MARKS = {"†": r"\dagger", "‡": r"\ddagger", "§": r"\S", "¶": r"\P"}


def templates_dir() -> Path:
    env = os.environ.get("TICKETS_TEMPLATES")
    if env:
        return Path(env)
    from registry.resources import shared_dir  # the checkout's templates/, or an installed copy

    return shared_dir("templates")


def tex(text: Any) -> str:
    return _TEX_RE.sub(lambda m: _TEX_SPECIALS[m.group(0)], str(text))


def texmark(mark: str) -> str:
    return "".join(_TEX_MARKS.get(ch, ch) for ch in mark)


def md(text: Any) -> str:
    """Stored names as literal Markdown: no raw HTML, no emphasis or links of their own."""
    from registry.textsafe import markdown_text

    return markdown_text(text)


def num(value: Any) -> str:
    """A number for machine-readable output: full precision, empty for none."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return ""
    return repr(round(float(value), 10))


def csvrow(values: list[Any]) -> str:
    buf = io.StringIO()
    from registry.textsafe import csv_cell

    # names a spreadsheet would run as formulas (=cmd|..., +HYPERLINK, @SUM) get a leading '
    csv.writer(buf, lineterminator="").writerow(["" if v is None else csv_cell(v) for v in values])
    return buf.getvalue()


@lru_cache(maxsize=4)
def _environment(folder: str, latex: bool):
    import jinja2

    options: dict[str, Any] = dict(loader=jinja2.FileSystemLoader(folder), undefined=jinja2.StrictUndefined,
                                   keep_trailing_newline=True)
    if latex:
        options.update(block_start_string="<%", block_end_string="%>", variable_start_string="<<",
                       variable_end_string=">>", comment_start_string="<#", comment_end_string="#>",
                       autoescape=False)
    else:
        options.update(autoescape=jinja2.select_autoescape(["html.j2"]))
    env = jinja2.Environment(**options)
    env.filters.update(tex=tex, texmark=texmark, md=md, csvrow=csvrow, num=num,
                       texminus=lambda s: str(s).replace("-", "$-$").replace("+", "$+$"))
    return env


def render_template(name: str, table: Table, **extra: Any) -> str:
    import jinja2

    folder = templates_dir()
    try:
        template = _environment(str(folder), name.endswith(".tex.j2")).get_template(name)
    except jinja2.TemplateNotFound:
        raise UserError(f"template {name} not found in {folder} (set TICKETS_TEMPLATES)") from None
    fields = list(table.columns[0]) if table.columns else []
    csv_fields = _csv_fields(table)
    return template.render(table=table, compare=table.compare, column_labels=column_labels(table),
                           fields=csv_fields, fields_of=lambda r, c: _csv_values(r, c, csv_fields),
                           axis_fields=fields, **extra)


# CSV: these fields always, in this order, in every report (empty where a report does not key by
# one), so CSVs of different reports stack; fields only some reports use follow, sorted.
CSV_FIELDS = ("dataset", "model", "method", "check", "sparsity", "variant")


def _csv_fields(table: Table) -> list[str]:
    seen: dict[str, None] = {}
    for _, r, c in table.cells():
        seen.update(dict.fromkeys(c.coords))
        seen.update(dict.fromkeys(r.where))
    return list(CSV_FIELDS) + sorted(set(seen) - set(CSV_FIELDS))


def _csv_values(row: Any, cell: Cell, fields: list[str]) -> list[Any]:
    out = []
    for f in fields:
        value = cell.coords.get(f, row.where.get(f, ""))
        if isinstance(value, (list, tuple, set, frozenset)):
            value = "|".join(str(v) for v in value)
        out.append(value)
    return out


def column_labels(table: Table) -> list[str]:
    """One label per printed column, joining the header rows ("CIFAR-10 90%")."""
    labels = [""] * table.ncols
    for hrow in table.header:
        j = 0
        for h in hrow:
            for k in range(h.span):
                labels[j + k] = (labels[j + k] + " " + h.label).strip()
            j += h.span
    return labels


@dataclass(frozen=True)
class LatexLayout:
    """How a LaTeX table meets the page. `font`: a LaTeX size command name; `fit`: shrink the
    table to the line width when it is wider (\\resizebox, needs graphicx); `wide`: a table*
    float across both columns of a two-column paper; `split`: one tabular per value of the outer
    column axis (or per half of the columns), stacked, so each is half as wide."""

    font: str = "small"
    fit: bool = True
    wide: bool = False
    split: bool = False


LATEX_FONTS = ("normalsize", "small", "footnotesize", "scriptsize", "tiny")


@dataclass
class Block:
    """The columns one tabular prints (all of them unless the layout splits the table)."""

    columns: list[int]
    header: list[list[HeaderCell]]


SPLIT_MIN_COLUMNS = 6  # a one-level table narrower than this gains nothing from being cut in two


def blocks(table: Table, split: bool) -> list[Block]:
    """Column blocks: one per outer header cell when splitting a multi-axis table, two halves when
    splitting a wide one-axis table, otherwise one block of every column."""
    every = list(range(table.ncols))
    if not split or table.ncols < 2:
        return [Block(every, table.header)]
    if len(table.header) > 1 and len(table.header[0]) > 1:
        ranges, start = [], 0
        for h in table.header[0]:
            ranges.append(list(range(start, start + h.span)))
            start += h.span
    elif table.ncols >= SPLIT_MIN_COLUMNS:
        half = (table.ncols + 1) // 2
        ranges = [every[:half], every[half:]]
    else:  # one level of a few columns (the Rethinking tables' -A/-B): narrow already, kept whole
        return [Block(every, table.header)]
    return [Block(cols, _block_header(table, cols)) for cols in ranges]


def _block_header(table: Table, cols: list[int]) -> list[list[HeaderCell]]:
    wanted = set(cols)
    header = []
    for hrow in table.header:
        out, start = [], 0
        for h in hrow:
            span = len(wanted & set(range(start, start + h.span)))
            if span:
                out.append(HeaderCell(h.label, span))
            start += h.span
        header.append(out)
    return header


@FORMATS.register("latex", suffix=".tex")
def render_latex(table: Table, layout: LatexLayout | None = None, **_: Any) -> str:
    layout = layout or LatexLayout()
    if layout.font not in LATEX_FONTS:
        raise UserError(f"unknown LaTeX font size {layout.font!r}; known: {', '.join(LATEX_FONTS)}")
    return render_template("report.tex.j2", table, layout=layout, fonts=fit_fonts(layout.font),
                           blocks=blocks(table, layout.split))


SMALLEST_FIT_FONT = "scriptsize"  # 7 pt in a 10 pt paper: the smallest a printed table should go


def fit_fonts(font: str) -> list[str]:
    """The sizes a fitted table tries, largest first, before it is scaled: from the requested one
    down to \\scriptsize (scaling alone took --compare tables to 5 pt at NeurIPS width)."""
    start, floor = LATEX_FONTS.index(font), LATEX_FONTS.index(SMALLEST_FIT_FONT)
    return list(LATEX_FONTS[start:max(start, floor) + 1])


@FORMATS.register("markdown", suffix=".md")
def render_markdown(table: Table, **_: Any) -> str:
    return render_template("report.md.j2", table)


@FORMATS.register("html", suffix=".html")
def render_html(table: Table, figures: list[str] | None = None, index: str | None = None,
                site: dict[str, Any] | None = None, **_: Any) -> str:
    """A standalone page (doctype, charset, title, CSS, sortable columns); `figures` are image
    paths shown under the table, `index` a link back to the index page."""
    return render_template("report.html.j2", table, figures=figures or [], index=index, site=site or {})


@FORMATS.register("csv", suffix=".csv")
def render_csv(table: Table, **_: Any) -> str:
    return render_template("report.csv.j2", table)


# ---------------------------------------------------------------- terminal

def _plain(c: Cell, compare: bool, markup: bool) -> str:
    if c.blank:
        return "-"
    if c.missing:
        text = "[dim]n/a[/dim]" if markup else "n/a"
    else:
        text = c.mean_s + (f"±{c.std_s}" if c.std_s else "")
        if c.bold:
            text = f"[bold]{text}[/bold]" if markup else f"*{text}*"
        text += c.mark
    if compare:
        if c.paper is not None:
            paper = c.paper_mean_s + (f"±{c.paper_std_s}" if c.paper_std_s else "")
            text += f"\npaper {paper}" + (f" Δ{c.diff_s}" if c.diff_s else "")
        else:
            text += "\npaper –"
    return text


def _width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.splitlines()), default=0)


def rich_tables(table: Table, markup: bool = True, width: int | None = None) -> list[Any]:
    """The report as rich tables that never cut a number: every value column is as wide as its
    widest value, and when they do not all fit in `width` the columns are split into blocks
    printed one below the other, each repeating the row labels."""
    from rich.markup import escape
    from rich.table import Table as RichTable

    labels = column_labels(table)
    texts = [[_plain(c, table.compare, False) for c in row.cells] for s in table.sections for row in s.rows]
    needed = [max([_width(labels[j])] + [_width(t[j]) for t in texts]) for j in range(table.ncols)]
    label_width = max([_width(table.row_title or "")] + [_width(r.label) for s in table.sections for r in s.rows]
                      + [_width(s.heading) for s in table.sections])
    chunks: list[list[int]] = [[]]
    if width is None:
        chunks = [list(range(table.ncols))]
    else:
        label_width = min(label_width, max(12, width // 3))  # long labels wrap rather than push numbers out
        used = label_width + 4
        for j in range(table.ncols):
            if chunks[-1] and used + needed[j] + 3 > width:
                chunks.append([])
                used = label_width + 4
            chunks[-1].append(j)
            used += needed[j] + 3
    out = []
    for k, cols in enumerate(chunks):
        part = f" (columns {k + 1}/{len(chunks)})" if len(chunks) > 1 else ""
        notes = "\n".join(table.footnotes) if k == len(chunks) - 1 else ""
        rich = RichTable(title=escape(table.title + part) if k == 0 or part else None, caption=escape(notes),
                         caption_justify="left", show_lines=False)
        rich.add_column(escape(table.row_title or ""), overflow="fold", max_width=label_width if width else None)
        for j in cols:
            rich.add_column(escape(labels[j]), justify="right", no_wrap=True, min_width=needed[j])
        for i, section in enumerate(table.sections):
            if i:
                rich.add_section()
            if section.heading:
                rich.add_row(f"[italic]{escape(section.heading)}[/italic]" if markup else escape(section.heading))
            for row in section.rows:
                rich.add_row(escape(row.label), *(_plain(row.cells[j], table.compare, markup) for j in cols))
        out.append(rich)
    return out


def rich_table(table: Table, markup: bool = True):
    """A rich.Table of the whole report (bold cells in bold), for a console wide enough."""
    return rich_tables(table, markup)[0]


def print_table(table: Table, console: Any) -> None:
    """Print to a terminal at its width, split into column blocks when it is too narrow."""
    for k, rich in enumerate(rich_tables(table, markup=True, width=console.width)):
        if k:
            console.print()
        console.print(rich)


@FORMATS.register("text", suffix=".txt")
def render_text(table: Table, width: int | None = None, **_: Any) -> str:
    """The terminal table as plain text (bold cells between asterisks), at `width` columns
    (default: wide enough for one block)."""
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, width=width or 10_000, color_system=None, force_terminal=False)
    for k, rich in enumerate(rich_tables(table, markup=False, width=width)):
        if k:
            console.print()
        console.print(rich)
    text = buf.getvalue()
    if width is None:  # trailing spaces of the 10,000-column canvas
        text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    return text


def render(table: Table, fmt: str, **options: Any) -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS.names())}")
    return FORMATS.get(fmt)(table, **options)


def render_index(title: str, home: str, pages: list[dict[str, Any]]) -> str:
    """The index page of a site of reports: `pages` hold name, title, file, figure and warning."""
    return _environment(str(templates_dir()), False).get_template("index.html.j2").render(
        title=title, home=home, pages=pages)
