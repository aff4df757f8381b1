"""Tables where they are read: LaTeX that fits an article and a NeurIPS-width page (compiled when
pdflatex exists), a standalone sortable HTML page and a site of every report, terminal tables that
never cut a number, CSV columns the same for every report, captions naming metric and interval."""
from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest
from click.testing import CliRunner

from registry.report import make_table, render
from registry.report.loader import load_report
from registry.report.render import LatexLayout, print_table
from registry.store import Store
from tickets.cli.main import cli

from test_report_paper import REPORTS, TABLES, imported_runs


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The paper's Tables 1-4 as a store import would hold them (three seeds per cell)."""
    home = tmp_path_factory.mktemp("tables") / "home"
    columns = ["dataset", "model", "method", "check", "sparsity", "seed", "test_acc", "best_test_acc"]
    runs = pd.concat([imported_runs(name)[columns] for name in TABLES]).drop_duplicates().reset_index(drop=True)
    runs["key"] = [f"p{i:05d}" for i in range(len(runs))]
    runs["kind"], runs["status"], runs["source"], runs["variant"] = "ticket", "imported", "imported", ""
    Store(home).add_new_runs({"runs": runs, "results": runs[["key", "test_acc", "best_test_acc"]]})
    return home


def invoke(home, *args):
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    return result.exit_code, result.output


def table(home, name, **kw):
    report, folder = load_report(REPORTS, name)
    return make_table(report, query=Store(home).frame, folder=folder, **kw)


# ---------------------------------------------------------------- LaTeX

PAGES = {"article": "", "neurips": "\\usepackage[textwidth=5.5in]{geometry}"}  # NeurIPS: 5.5 in text


def compile_latex(folder, name, preamble, files):
    doc = folder / f"doc_{name}.tex"
    doc.write_text("\\documentclass{article}\n" + preamble + "\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n"
                   "\\begin{document}\n" + "\n\\clearpage\n".join(f"\\input{{{f.name}}}" for f in files)
                   + "\n\\end{document}\n")
    done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", doc.name], cwd=folder,
                          capture_output=True, text=True, timeout=120)
    log = (folder / f"doc_{name}.log").read_text(errors="replace")
    assert done.returncode == 0, log[-2000:]
    return log


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="no TeX installation (pdflatex)")
def test_latex_tables_fit_article_and_neurips_pages(home, tmp_path):
    variants = {"t1": ("table1",), "t2c": ("table2", "--compare", "paper"),
                "t3cs": ("table3", "--compare", "paper", "--split"), "t4w": ("table4", "--wide", "--font-size", "footnotesize"),
                "t1c": ("table1", "--compare", "paper")}
    files = []
    for stem, args in variants.items():
        target = tmp_path / f"{stem}.tex"
        code, out = invoke(home, "report", *args, "-o", str(target))
        assert code == 0, out
        files.append(target)
    for page, preamble in PAGES.items():
        log = compile_latex(tmp_path, page, preamble, files)
        assert "Overfull \\hbox" not in log, (page, re.findall(r"Overfull \\hbox \([0-9.]+pt too wide\)", log))
    # the check can fail: the same table without fitting is far wider than an article's text
    code, out = invoke(home, "report", "table1", "--no-fit", "-o", str(tmp_path / "nofit.tex"))
    assert code == 0 and "graphicx" not in (tmp_path / "nofit.tex").read_text()
    log = compile_latex(tmp_path, "nofit", "", [tmp_path / "nofit.tex"])
    assert re.search(r"Overfull \\hbox \((\d+)", log) and int(re.search(r"Overfull \\hbox \((\d+)", log).group(1)) > 100


def test_latex_layout_options_and_visible_notes(home):
    t = table(home, "table1", compare="paper")
    latex = render(t, "latex")
    assert latex.count("\\begin{tabular}") == 1 and "\\resizebox{\\linewidth}{!}" in latex and "\\small" in latex
    note = next(line for line in latex.splitlines() if "In brackets" in line)
    assert not note.lstrip().startswith("%")  # the meaning of the brackets is printed, not commented out
    split = render(t, "latex", layout=LatexLayout(split=True, fit=False, wide=True, font="scriptsize"))
    assert split.count("\\begin{tabular}{lccc}") == 2 and "\\begin{table*}" in split and "\\end{table*}" in split
    assert "\\scriptsize" in split and "resizebox" not in split
    blocks = split.split("\\begin{tabular}")[1:]
    assert "CIFAR-10}" in blocks[0] and "CIFAR-100" not in blocks[0] and "CIFAR-100}" in blocks[1]
    caption = next(line for line in latex.splitlines() if line.startswith("\\caption{"))
    # the paper tables show what the paper printed: the best epoch's test accuracy (docs/FIDELITY.md)
    assert ("Metric: best-epoch test accuracy in \\% (epoch chosen on the test set, as the paper printed), "
            "mean $\\pm$ std over seeds") in caption
    # the bold rule once (in the notes), no store column names in words meant for a reader
    assert latex.count("Bold:") == 1 and "Bold:" not in caption and "bold number" not in latex
    assert "best\\_test\\_acc" not in caption
    code, out = invoke(home, "report", "table1", "--format", "latex", "--interval", "sem", "--font-size", "huge")
    assert code == 2 and "'huge' is not one of" in out


def test_caption_names_the_interval_rule(home):
    t = table(home, "table2", interval="t95")
    assert "the bold rule uses the 95% t-interval" in t.caption_note
    assert "Metric: best-epoch test accuracy in % (epoch chosen on the test set, as the paper printed)," in t.caption_note
    assert "best_test_acc" not in t.caption_note


# ---------------------------------------------------------------- HTML

class Page(HTMLParser):
    """What a test needs from a page: doctype, tags met, text of title/style/script, cells."""

    def __init__(self, text):
        super().__init__()
        self.doctype, self.tags, self.stack, self.bold, self.links, self.images = None, [], [], [], [], []
        self.title = self.style = self.script = ""
        self.meta = {}
        self.feed(text)

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self.stack.append(tag)
        if tag == "meta":
            self.meta.update(attrs)
        if tag == "a":
            self.links.append(attrs.get("href"))
        if tag == "img":
            self.images.append(attrs.get("src"))
        if tag in ("meta", "img"):
            self.stack.pop()

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data):
        where = self.stack[-1] if self.stack else ""
        if where == "title":
            self.title += data
        elif where == "style":
            self.style += data
        elif where == "script":
            self.script += data
        elif where == "b":
            self.bold.append(data)

    def count(self, tag):
        return sum(1 for t, _ in self.tags if t == tag)


def test_html_is_a_standalone_sortable_page_bold_only_where_bold(home):
    t = table(home, "table1")
    page = Page(render(t, "html"))
    assert page.doctype.lower() == "doctype html" and page.meta.get("charset") == "utf-8"
    assert page.title == t.title
    assert "text-align: right" in page.style and "tbody { border-top: 2px solid" in page.style
    assert "font-weight: normal" in page.style  # headers and row labels are not bold by default
    assert page.count("tbody") == len(t.sections)  # one block per network, separated by a rule
    assert sorted(page.bold) == sorted(f"{c.mean_s}±{c.std_s}" for _, _, c in t.cells() if c.bold)
    assert "addEventListener(\"click\"" in page.script and "aria-sort" in page.script
    values = [a["data-value"] for tag, a in page.tags if tag == "td" and "data-value" in a]
    assert len(values) == sum(1 for _, _, c in t.cells() if not c.blank and not c.missing)


def test_report_all_html_builds_a_page_per_report_and_an_index(home, tmp_path):
    site = tmp_path / "site"
    code, out = invoke(home, "report", "--all", "--format", "html", "-o", str(site))
    assert code == 0, out
    index = Page((site / "index.html").read_text())
    assert index.doctype.lower() == "doctype html"
    for name in TABLES:
        assert f"{name}.html" in index.links
        page = Page((site / f"{name}.html").read_text())
        assert page.count("table") == 1 and "index.html" in page.links
    assert "figure3.svg" in index.images and (site / "figure3.svg").read_bytes().lstrip().startswith(b"<?xml")
    assert "quickstart" in (site / "index.html").read_text() and not (site / "quickstart.html").exists()
    assert "skipped quickstart" in out
    code, out = invoke(home, "report", "--all", "--format", "html")
    assert code == 2 and "-o DIR" in out
    code, out = invoke(home, "report", "table1", "--all", "-o", str(site))
    assert code == 2 and "not both" in out


# ---------------------------------------------------------------- terminal and CSV

def test_terminal_tables_never_cut_numbers(home):
    from rich.console import Console

    t = table(home, "table1", compare="paper")
    numbers = {f"{c.mean_s}±{c.std_s}" if c.std_s else c.mean_s for _, _, c in t.cells() if not c.blank}
    for width in (60, 80, 100, 123, 200):
        buf = io.StringIO()
        print_table(t, Console(file=buf, width=width, force_terminal=True, color_system=None))
        text = buf.getvalue()
        assert "…" not in text and max(len(line) for line in text.splitlines()) <= width
        assert all(n in text for n in numbers), width
        if width < 123:
            assert text.count("┏") > 1  # split into blocks rather than squeezed
    plain = render(t, "text", width=70)
    assert "…" not in plain and all(n in plain for n in numbers)


def test_csv_has_the_same_columns_in_every_report(home):
    headers = set()
    for name in TABLES:
        rows = list(csv.DictReader(io.StringIO(render(table(home, name), "csv"))))
        headers.add(tuple(rows[0]))
        assert all(r["metric"] == "best_test_acc" and r["interval"] == "std" for r in rows)
        methods = {r["method"] for r in rows}
        assert "dense" in methods and len(methods) >= 3 and all(r["check"] for r in rows)
    assert len(headers) == 1
    (header,) = headers
    assert header[:12] == ("report", "section", "row_key", "row", "dataset", "model", "method", "check",
                           "sparsity", "variant", "metric", "interval")
