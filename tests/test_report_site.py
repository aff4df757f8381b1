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
