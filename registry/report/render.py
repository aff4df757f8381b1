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
from typing import Any, Callable

from registry.errors import UserError
from registry.naming import Registry
from registry.report.table import Cell, Table

Renderer = Callable[[Table], str]
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
    return str(text).replace("|", "\\|").replace("*", "\\*")


def num(value: Any) -> str:
    """A number for machine-readable output: full precision, empty for none."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return ""
    return repr(round(float(value), 10))


def csvrow(values: list[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if v is None else v for v in values])
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


def render_template(name: str, table: Table) -> str:
    import jinja2

    folder = templates_dir()
    try:
        template = _environment(str(folder), name.endswith(".tex.j2")).get_template(name)
    except jinja2.TemplateNotFound:
        raise UserError(f"template {name} not found in {folder} (set TICKETS_TEMPLATES)") from None
    fields = list(table.columns[0]) if table.columns else []
    return template.render(table=table, compare=table.compare, column_labels=column_labels(table),
                           fields=_csv_fields(table),
                           fields_of=lambda c: [c.coords.get(f, "") for f in _csv_fields(table)],
                           axis_fields=fields)


def _csv_fields(table: Table) -> list[str]:
    seen: dict[str, None] = {}
    for _, _, c in table.cells():
        seen.update(dict.fromkeys(c.coords))
    return list(seen)


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


@FORMATS.register("latex", suffix=".tex")
def render_latex(table: Table) -> str:
    return render_template("report.tex.j2", table)


@FORMATS.register("markdown", suffix=".md")
def render_markdown(table: Table) -> str:
    return render_template("report.md.j2", table)


@FORMATS.register("html", suffix=".html")
def render_html(table: Table) -> str:
    return render_template("report.html.j2", table)


@FORMATS.register("csv", suffix=".csv")
def render_csv(table: Table) -> str:
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


def rich_table(table: Table, markup: bool = True):
    """A rich.Table of the report (bold cells in bold)."""
    from rich.markup import escape
    from rich.table import Table as RichTable

    out = RichTable(title=escape(table.title), caption=escape("\n".join(table.footnotes)), caption_justify="left",
                    show_lines=False)
    out.add_column(table.row_title or "", no_wrap=True)
    for label in column_labels(table):
        out.add_column(escape(label), justify="right", no_wrap=not table.compare)
    for i, section in enumerate(table.sections):
        if i:
            out.add_section()
        if section.heading:
            out.add_row(f"[italic]{escape(section.heading)}[/italic]" if markup else section.heading)
        for row in section.rows:
            out.add_row(escape(row.label), *(_plain(c, table.compare, markup) for c in row.cells))
    return out


@FORMATS.register("text", suffix=".txt")
def render_text(table: Table) -> str:
    """The terminal table as plain text (bold cells between asterisks)."""
    from rich.console import Console

    buf = io.StringIO()
    width = 40 + 18 * table.ncols * (2 if table.compare else 1)
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(rich_table(table, markup=False))
    return buf.getvalue()


def render(table: Table, fmt: str) -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; known: {', '.join(FORMATS.names())}")
    return FORMATS.get(fmt)(table)
