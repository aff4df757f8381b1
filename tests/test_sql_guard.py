"""User SQL (`tickets sql`, `registry.api.sql`) can read the store and nothing else: DuckDB's parser
decides what a query is, and the connection it runs on cannot touch files, the network, extensions
or its own settings. Every refusal is one line, exit 2, and leaves the store and the disk as they were."""
from __future__ import annotations

import hashlib
import itertools
import random
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from registry import api
from registry.errors import UserError
from registry.store import Store
from tickets.cli.main import cli


def _seed(home: Path) -> Store:
    store = Store(home)
    store.add_new_runs({
        "runs": pd.DataFrame([
            {"key": "k1", "kind": "ticket", "status": "done", "dataset": "d", "model": "m", "method": "[x] list",
             "check": "none", "sparsity": 0.5, "seed": 0, "spec": "{}"},
            {"key": "k2", "kind": "ticket", "status": "done", "dataset": "d", "model": "m", "method": "snip",
             "check": "none", "sparsity": 0.9, "seed": 1, "spec": "{}"},
        ]),
        "results": pd.DataFrame([{"key": "k1", "test_acc": 91.5}, {"key": "k2", "test_acc": 88.0}]),
    })
    return store


def _tree(root: Path) -> dict[str, str]:
    """Every file under root with a digest of its bytes: any write, new file or removal shows."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rows(store: Store) -> dict[str, int]:
    return {t: int(store.frame(f"SELECT count(*) AS n FROM {t}")["n"][0]) for t in ("runs", "results")}


@pytest.fixture(scope="module")
def seeded_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("seeded") / "home"
    _seed(home)
    return home


@pytest.fixture
def world(tmp_path, seeded_home):
    """A fresh copy of one seeded home per test (building a store costs ~1 s on a busy machine)."""
    home = tmp_path / "home"
    shutil.copytree(seeded_home, home)
    store = Store(home)
    out = tmp_path / "out"
    out.mkdir()
    return {"home": home, "store": store, "out": out, "db": store.path, "root": tmp_path}


# The reported bypasses and their relatives: (query, words the one-line refusal must contain).
ATTACKS = [
    ("SELECT $$'$$ AS a; COPY (SELECT * FROM runs) TO '{out}/x.csv'; --'", "one statement at a time"),
    ("SELECT $$'$$ AS a; ATTACH '{db}' AS w (READ_WRITE); DELETE FROM w.runs; --'", "one statement at a time"),
    ("SELECT $t$'$t$ AS a; DELETE FROM runs; --'", "one statement at a time"),
    ("SELECT E'\\';' AS a; DELETE FROM runs; --'", "one statement at a time"),
    ("SELECT E'\\'' AS a; COPY runs TO '{out}/e.csv'; --'", "one statement at a time"),
    ("SELECT * FROM read_text('/etc/shadow')", "not allowed here"),
    ("SELECT content FROM read_text('/etc/hostname')", "not allowed here"),
    ("SELECT * FROM read_csv('/etc/passwd')", "not allowed here"),
    ("SELECT * FROM read_text('{db}.lock')", "not allowed here"),
    ("SELECT * FROM read_parquet('https://example.org/a.parquet')", "not allowed here"),
    ("SELECT * FROM glob('/etc/*')", "not allowed here"),
    ("SELECT * FROM query('COPY runs TO ''{out}/q.csv''')", "COPY is not allowed"),
    ("SELECT * FROM query('FROM enable_logging()')", "enable_logging() changes the database"),
    ("FROM enable_logging('QueryLog')", "enable_logging() changes the database"),
    ("SELECT * FROM (FROM disable_logging())", "disable_logging() changes"),
    ("SELECT 1 FROM enable_profiling()", "enable_profiling() changes"),
    ("FROM checkpoint()", "checkpoint() changes"),
    ("FROM force_checkpoint()", "force_checkpoint() changes"),
    ("FROM truncate_duckdb_logs()", "truncate_duckdb_logs() changes"),
    ("SUMMARIZE FROM enable_logging()", "enable_logging() changes"),
    ("IMPORT DATABASE '{out}'", "IMPORT is not allowed"),
    ("USE memory", "USE is not allowed"),
    ("ANALYZE", "ANALYZE is not allowed"),
    ("ANALYZE runs", "ANALYZE is not allowed"),
    ("CHECKPOINT", "CHECKPOINT is not allowed"),
    ("FORCE CHECKPOINT", "FORCE CHECKPOINT is not allowed"),
    ("/* a */ -- b\n use memory", "USE is not allowed"),
    ("TRUNCATE runs", "TRUNCATE is not allowed"),
    ("COPY runs TO '{out}/y.csv'", "COPY is not allowed"),
    ("COPY (SELECT * FROM runs) TO '{out}/y.parquet' (FORMAT parquet)", "COPY is not allowed"),
    ("EXPORT DATABASE '{out}/dump'", "is not allowed"),
    ("ATTACH '{db}' AS w (READ_WRITE)", "ATTACH is not allowed"),
    ("ATTACH '{out}/new.duckdb' AS n", "ATTACH is not allowed"),
    ("INSTALL httpfs", "INSTALL/LOAD is not allowed"),
    ("LOAD httpfs", "INSTALL/LOAD is not allowed"),
    ("SET enable_external_access = true", "SET is not allowed"),
    ("RESET lock_configuration", "is not allowed"),
    ("PRAGMA enable_profiling", "PRAGMA is not allowed"),
    ("EXPLAIN ANALYZE COPY runs TO '{out}/z.csv'", "EXPLAIN is not allowed"),
    ("DELETE FROM runs", "DELETE is not allowed"),
    ("/* ; */ DELETE FROM runs", "DELETE is not allowed"),
    ("WITH x AS (SELECT 1) INSERT INTO runs SELECT * FROM runs", "INSERT is not allowed"),
    ("UPDATE runs SET status = 'failed'", "UPDATE is not allowed"),
    ("DROP TABLE runs", "DROP is not allowed"),
    ("CREATE TABLE t AS SELECT 1", "CREATE is not allowed"),
    ("SELECT 1; DROP TABLE runs", "one statement at a time"),
    ("SELEC 1", 'SQL syntax error at or near "SELEC"'),
    ("PIVOT runs ON method USING count(*)", "needs its values listed"),
    ("-- only a comment", "empty query"),
]


@pytest.mark.parametrize("query, message", ATTACKS, ids=[q[:40] for q, _ in ATTACKS])
def test_sql_refuses_with_one_line_and_changes_nothing(world, query, message):
    query = query.format(out=world["out"], db=world["db"])
    before_tree, before_rows = _tree(world["root"]), _rows(world["store"])
    result = CliRunner().invoke(cli, ["--home", str(world["home"]), "sql", "--", query])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    with pytest.raises(UserError, match=re.escape(message)):
        api.sql(query, home=world["home"])
    assert _tree(world["root"]) == before_tree
    assert _rows(world["store"]) == before_rows == {"runs": 2, "results": 2}


def test_import_database_is_refused_before_any_file_is_read(world, tmp_path):
    """DuckDB's parser reads DIR/schema.sql for IMPORT DATABASE: the refusal must neither leak a
    file's first token nor tell a directory with a (symlinked) schema.sql from one without."""
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "schema.sql").symlink_to("/etc/passwd")
    messages = []
    for directory in (leaky, tmp_path / "absent"):
        with pytest.raises(UserError) as caught:
            api.sql(f"IMPORT DATABASE '{directory}'", home=world["home"])
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == ("the store is read-only here: IMPORT is not allowed; "
                                          "use SELECT, WITH, FROM, DESCRIBE, SHOW or SUMMARIZE")


def test_logging_settings_are_unchanged_after_a_refused_enable_logging(world):
    with pytest.raises(UserError, match="enable_logging"):
        api.sql("FROM enable_logging('QueryLog')", home=world["home"])
    assert list(api.sql("SELECT current_setting('enable_logging') AS on_", home=world["home"])["on_"]) == [False]
    assert list(api.sql("SELECT * FROM query('SELECT 7 AS n')", home=world["home"])["n"]) == [7]


def test_the_locked_connection_holds_even_without_the_parser_check(world):
    """The second wall: statements run straight on the user-SQL connection still cannot write,
    reach files, load extensions or unlock themselves."""
    import duckdb

    before = _tree(world["root"])
    out = world["out"]
    with world["store"].reader(locked=True) as con:
        for statement in (f"COPY runs TO '{out}/a.csv'", f"ATTACH '{world['db']}' AS w (READ_WRITE)",
                          "SELECT * FROM read_text('/etc/hostname')", "INSTALL httpfs", "LOAD httpfs",
                          "SET enable_external_access = true", "SET autoload_known_extensions = true",
                          "DELETE FROM runs", "CREATE TABLE t (a INT)"):
            with pytest.raises(duckdb.Error):
                con.execute(statement)
        assert con.execute("SELECT current_setting('enable_external_access')").fetchone() == (False,)
    with pytest.raises(UserError, match="not allowed here"):
        world["store"].frame("SELECT * FROM read_text('/etc/hostname')", locked=True)
    assert _tree(world["root"]) == before


READS = [
    ("SELECT method FROM runs ORDER BY key", ["[x] list", "snip"]),
    ("SELECT '/*x*/' AS s", ["/*x*/"]),
    ("SELECT 'a--b' AS s;", ["a--b"]),
    ("/* why */ SELECT 'x' AS s -- done\n", ["x"]),
    ("SELECT $$a;b$$ AS s", ["a;b"]),
    ("SELECT E'it\\'s' AS s", ["it's"]),
    ("WITH t AS (SELECT 'w' AS s) SELECT s FROM t", ["w"]),
    ("FROM (SELECT 'f' AS s)", ["f"]),
]


@pytest.mark.parametrize("query, values", READS)
def test_reading_queries_run_as_written(world, query, values):
    frame = api.sql(query, home=world["home"])
    assert list(frame.iloc[:, 0]) == values


def test_describe_show_and_table_info_are_reads(world):
    assert "method" in set(api.sql("DESCRIBE runs", home=world["home"])["column_name"])
    assert "run_results" in set(api.sql("SHOW TABLES", home=world["home"])["name"])
    assert "status" in set(api.sql("PRAGMA table_info('runs')", home=world["home"])["name"])
    assert list(api.sql("SELECT count(*) AS n FROM runs WHERE seed = ?", [1], home=world["home"])["n"]) == [1]
    pivot = api.sql("PIVOT runs ON method IN ('[x] list', 'snip') USING count(*) GROUP BY kind", home=world["home"])
    assert pivot[["[x] list", "snip"]].values.tolist() == [[1, 1]]


# ------------------------------------------------------------------------------ fuzz
# Literal and comment forms that can hide a ';' or a quote from a naive tokenizer, and what may follow.
OPENERS = ["'{p}'", "E'{p}'", "$${p}$$", "$q${p}$q$", "\"{p}\"", "/*{p}*/", "/* /* {p} */ */", "--{p}\n"]
PAYLOADS = ["'", "''", "\\'", ";", "--", "/*", "*/", "$$", "$q$", "\"", "\\", "E'", "\n"]
TAILS = ["; COPY runs TO '{out}/f.csv'", "; ATTACH '{db}' AS w (READ_WRITE); DELETE FROM w.runs",
         " UNION ALL SELECT content FROM read_text('/etc/hostname')", ""]


def _fuzz_queries(out: Path, db: Path) -> list[str]:
    queries = []
    for opener, payload, tail in itertools.product(OPENERS, PAYLOADS, TAILS):
        literal = opener.format(p=payload)
        queries.append(f"SELECT {literal} AS a{tail.format(out=out, db=db)}; --'")
    rng = random.Random(11)  # fixed seed: the same chains every run
    pieces = [o.format(p=p) for o in OPENERS for p in PAYLOADS] + [t.format(out=out, db=db) for t in TAILS] + [";", "'"]
    for _ in range(100):
        queries.append("SELECT " + " ".join(rng.choice(pieces) for _ in range(rng.randint(2, 6))))
    return queries


def test_fuzz_of_quote_comment_and_dollar_forms_never_writes(world):
    """~500 queries mixing every literal/comment form with write, attach and file-reading tails:
    each either reads (one SELECT) or is refused with a UserError; the store and disk never change."""
    before_tree, before_rows = _tree(world["root"]), _rows(world["store"])
    outcomes = {"read": 0, "refused": 0}
    for query in _fuzz_queries(world["out"], world["db"]):
        try:
            api.sql(query, home=world["home"])
            outcomes["read"] += 1
        except UserError as exc:
            assert "\n" not in str(exc), (query, str(exc))
            outcomes["refused"] += 1
        assert _tree(world["root"]) == before_tree, query
    assert _rows(world["store"]) == before_rows
    assert outcomes["read"] > 0 and outcomes["refused"] > 0, outcomes
