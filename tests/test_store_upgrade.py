"""A store written by an older version (without the provenance columns, its views selecting only what
it had) must read at once with this one: `tickets report` on such a home failed with "Referenced
column code_version not found" until some writer ran. The first reader upgrades it in a write session."""
from __future__ import annotations

import duckdb
from click.testing import CliRunner

from bench.cli_latency import quickstart_store
from tickets.cli.main import cli

OLD_VIEW = """CREATE OR REPLACE VIEW run_results AS
SELECT r.key, r.kind, r.status, r.source, r.dataset, r.model, r.method, r."check", r.sparsity, r.seed,
       coalesce(r.variant, '') AS variant, s.test_acc, s.best_test_acc, s.achieved_sparsity, s.collapsed,
       r.spec, coalesce(r.studies, '') AS studies
FROM runs r LEFT JOIN results s ON s.key = r.key"""
NEW_COLUMNS = ("code_version", "git_diff_hash", "env_hash", "data_fingerprint")


def old_store(home):
    quickstart_store(home)
    (home / "store.read.duckdb").unlink(missing_ok=True)  # an older version published no snapshot
    con = duckdb.connect(str(home / "store.duckdb"))
    con.execute("DROP VIEW IF EXISTS eval_results")
    con.execute("DROP VIEW run_results")
    for column in NEW_COLUMNS:
        con.execute(f"ALTER TABLE runs DROP COLUMN {column}")
    con.execute("ALTER TABLE results DROP COLUMN test_top5")
    con.execute(OLD_VIEW)
    con.close()


def test_the_first_read_of_an_older_store_upgrades_it_and_every_read_works(tmp_path):
    home = tmp_path / "home"
    old_store(home)
    runner = CliRunner()
    report = runner.invoke(cli, ["--home", str(home), "report", "quickstart"])
    assert report.exit_code == 0, report.output
    assert "86.10±0.14" in report.output  # the dense row, from the old rows
    con = duckdb.connect(str(home / "store.duckdb"), read_only=True)
    have = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'runs'").fetchall()}
    con.close()
    assert set(NEW_COLUMNS) <= have
    sql = runner.invoke(cli, ["--home", str(home), "sql", "SELECT count(*) AS n, count(code_version) AS v "
                                                         "FROM run_results"])
    assert sql.exit_code == 0 and "32" in sql.output, sql.output
    assert (home / "store.read.duckdb").is_file()  # readers are on the snapshot again
