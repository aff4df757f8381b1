"""`tickets report --all --format html` (issue 22, item 12): a page only for reports with runs of their
own study, the absent ones in one short list at the end, and each page saying when it was made, from
how many runs, with which code, beside its CSV."""
from __future__ import annotations

import duckdb
from click.testing import CliRunner

from bench.cli_latency import quickstart_store
from tickets.cli.main import cli


def test_site_pages_only_for_reports_with_their_own_runs(tmp_path):
    home = tmp_path / "home"
    quickstart_store(home)
    con = duckdb.connect(str(home / "store.duckdb"))
    con.execute("UPDATE runs SET studies = 'quickstart', code_version = 'tickets 0.1 torch 2.14.1+cpu'")
    con.execute("INSERT INTO epochs (key, phase, epoch, train_loss, train_acc, test_loss, test_acc, lr, seconds) "
                "SELECT key, 'train', e, 1.0 / e, 50 + 10 * e, 1.1 / e, 48 + 9 * e, 0.1, 1 "
                "FROM runs, range(1, 4) t(e) WHERE sparsity IN (0.0, 0.98)")
    # another study's dense Fashion-MNIST training that the quickstart's filters would also catch
    con.execute("INSERT INTO runs (key, kind, status, source, dataset, model, method, \"check\", sparsity, seed, "
                "variant, spec, studies) VALUES ('other-dense', 'pretrain', 'done', 'local', 'fashionmnist', "
                "'lenet300', 'dense', 'none', 0.0, 7, 'epochs=3 milestones=2', '{}', 'someone_elses')")
    con.execute("INSERT INTO results (key, test_acc, best_test_acc, collapsed) VALUES ('other-dense', 50, 50, false)")
    con.close()
    site = tmp_path / "site"
    result = CliRunner().invoke(cli, ["--home", str(home), "report", "--all", "--format", "html", "-o", str(site)])
    assert result.exit_code == 0, result.output
    pages = sorted(p.name for p in site.glob("*.html"))
    assert pages == ["index.html", "quickstart.html"]
    page = (site / "quickstart.html").read_text()
    assert "from 32 runs (2 per cell)" in page and "tickets 0.1 torch 2.14.1+cpu" in page
    assert 'href="quickstart.csv"' in page and (site / "quickstart.csv").is_file()
    assert "Made 20" in page and " UTC" in page
    assert "50.00" not in page  # the other study's run is not pooled into the Full Network row
    assert (site / "quickstart-curves.svg").is_file() and 'src="quickstart-curves.svg"' in page
    index = (site / "index.html").read_text()
    body = index[index.index("<body>"):]
    assert body.index("quickstart.html") < body.index("No runs of their own studies yet")
    absent = body[body.index("No runs of their own studies yet"):]
    assert "table1" in absent and "rethinking_l1" in absent and absent.count("</p>") == 1


def test_site_page_shows_runs_per_cell_and_the_reliability_diagrams_of_its_calibrated_runs(tmp_path):
    """Each value says how many runs it averages (n=…); a page whose runs were calibrated shows one
    reliability diagram per cell (its lowest seed), copied beside the page."""
    from tickets.evals.figures import reliability_diagram

    home = tmp_path / "home"
    quickstart_store(home)
    con = duckdb.connect(str(home / "store.duckdb"))
    con.execute("UPDATE runs SET studies = 'quickstart'")
    con.execute("DELETE FROM runs WHERE key = 'lt-none-0.98-1'")  # one cell of a single run
    con.execute("DELETE FROM results WHERE key = 'lt-none-0.98-1'")
    # calibration evaluations of both dense seeds (one cell) and of one SNIP run
    for eval_key, run_key in (("cal-dense-1", "dense-1"), ("cal-dense-0", "dense-0"), ("cal-snip", "snip-none-0.9-0")):
        con.execute("INSERT INTO evals (key, run_key, eval, metric, value) VALUES (?, ?, 'calibration', 'ece', 0.03)",
                    [eval_key, run_key])
        bins = [{"lo": i / 4, "hi": (i + 1) / 4, "count": 10 * (i + 1), "accuracy": 0.2 * i, "confidence": i / 4 + 0.1}
                for i in range(4)]
        reliability_diagram(bins, home / "runs" / eval_key / "reliability.png", title=run_key, ece=0.03)
    con.close()
    site = tmp_path / "site"
    result = CliRunner().invoke(cli, ["--home", str(home), "report", "--all", "--format", "html", "-o", str(site)])
    assert result.exit_code == 0, result.output
    page = (site / "quickstart.html").read_text()
    assert page.count('<span class="n" title="runs in this cell">n=2</span>') == 15
    assert page.count('<span class="n" title="runs in this cell">n=1</span>') == 1
    assert "from 31 runs (1–2 per cell)" in page
    gallery = page[page.index('<section class="reliability">'):page.index("</section>")]
    assert gallery.count("<img ") == 2  # one per cell: dense's lowest seed, and the SNIP run
    assert 'src="quickstart-reliability/cal-dense-0.png"' in gallery and "cal-dense-1" not in gallery
    assert 'src="quickstart-reliability/cal-snip.png"' in gallery
    copied = site / "quickstart-reliability" / "cal-snip.png"
    assert copied.read_bytes() == (home / "runs" / "cal-snip" / "reliability.png").read_bytes()
