"""User SQL runs under a memory cap, a thread cap and a time limit, and Ctrl-C stops it: each stop is
one line naming the limit and how to raise it (registry.sqllimits)."""
from __future__ import annotations

import os
import signal

import duckdb
import pytest
from click.testing import CliRunner

from registry import api
from registry.errors import UserError
from registry.sqllimits import SqlLimits, run_limited
from tickets.cli.main import cli

ENDLESS = "SELECT count(*) FROM range(1000000000000000) a"


@pytest.fixture
def home(tmp_path):
    import warnings

    warnings.filterwarnings("ignore", message="no store at ")
    return tmp_path / "home"


def test_an_endless_query_stops_at_the_time_limit_with_one_line(home):
    with pytest.raises(UserError, match=r"query stopped at the 0\.2 s time limit; raise it with --timeout"):
        api.sql(ENDLESS, home=home, limits=SqlLimits(timeout_s=0.2))
    result = CliRunner().invoke(cli, ["--home", str(home), "sql", "--timeout", "0.2", ENDLESS])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: query stopped at the 0.2 s time limit; raise it with --timeout SECONDS or "
        "TICKETS_SQL_TIMEOUT (0: none)"]


def test_memory_and_threads_are_capped_and_cannot_be_set_back(home, monkeypatch):
    frame = api.sql("SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t", home=home)
    assert frame.values.tolist() == [["1.8 GiB", 2]]  # 2GB as DuckDB prints it
    monkeypatch.setenv("TICKETS_SQL_MEMORY", "512MB")
    monkeypatch.setenv("TICKETS_SQL_THREADS", "1")
    frame = api.sql("SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t", home=home)
    assert frame.values.tolist() == [["488.2 MiB", 1]]
    with pytest.raises(UserError, match="SET is not allowed"):
        api.sql("SET memory_limit = '100GB'", home=home)


def test_a_query_past_the_memory_cap_names_the_cap_and_how_to_raise_it(home):
    big = "SELECT length(string_agg(repeat('x', 1000000), '')) AS n FROM range(2000)"  # ~2 GB of text
    with pytest.raises(UserError) as caught:
        api.sql(big, home=home, limits=SqlLimits(memory="64MB", threads=1))
    assert str(caught.value).startswith("query needs more than the 64MB memory limit; raise it with --memory")


def test_ctrl_c_interrupts_a_running_query():
    """SIGINT arrives after the query has been handed to DuckDB (sent from inside the run itself:
    no timing), even with SIGINT ignored as in a script's background job."""
    con = duckdb.connect(":memory:")
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        def run():
            os.kill(os.getpid(), signal.SIGINT)
            return con.execute(ENDLESS).fetchall()

        with pytest.raises(UserError, match="^query stopped by Ctrl-C$"):
            run_limited(con, run, SqlLimits(timeout_s=0))
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN  # put back as it was
    finally:
        signal.signal(signal.SIGINT, previous)
        con.close()


@pytest.mark.parametrize("env, value, words", [
    ("TICKETS_SQL_TIMEOUT", "soon", "TICKETS_SQL_TIMEOUT='soon' is not a number"),
    ("TICKETS_SQL_MEMORY", "lots", "SQL memory limit 'lots' is not a size"),
    ("TICKETS_SQL_THREADS", "0", "SQL thread limit 0 must be at least 1"),
])
def test_a_bad_limit_setting_is_one_line(home, monkeypatch, env, value, words):
    monkeypatch.setenv(env, value)
    result = CliRunner().invoke(cli, ["--home", str(home), "sql", "SELECT 1"])
    assert result.exit_code == 2 and result.output.strip() == f"error: {words}" + (
        "; give one like 2GB or 512MB" if env == "TICKETS_SQL_MEMORY" else "")
