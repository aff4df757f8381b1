"""Run directories deleted, removed or corrupted after ingest (issue 11, defects 6 and 10): a row
whose run directory is gone is not done, `tickets runs rm` forgets runs, and a result.json changed
after ingest is noticed by the next plan."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli
from test_registry_sweep import _log, _study, env  # noqa: F401  (fixture)

SMALL = """
from tickets.study import Grid, Study
TRAIN = {{"epochs": 2, "sleep": {sleep}}}
study = Study("small",
    Grid(datasets=["d1"], models=["m1"], methods=["lt", "rand"], sparsities=[0.5, 0.9], train=TRAIN),
    domain="fake_domain:DOMAIN")
"""


def _tickets(home, *args, input=None):
    return CliRunner().invoke(cli, ["--home", str(home), *args], input=input)


@pytest.fixture
def swept(env):  # noqa: F811
    """The small study run once: 1 pretrain, 2 lt tickets, 2 rand tickets."""
    study, home = _study(env, sleep=0.0, text=SMALL), env / "home"
    out = _tickets(home, "study", "run", str(study))
    assert out.exit_code == 0, out.output
    return study, home


def _key(home, where: str) -> str:
    return Store(home).frame(f"SELECT key FROM runs WHERE {where} ORDER BY key")["key"][0]


def _starts(env) -> int:  # noqa: F811
    return sum(1 for line in _log(env).elements() if line.startswith("start"))


def test_a_deleted_run_directory_is_not_done_and_ingest_forgets_its_row(env, swept):  # noqa: F811
    study, home = swept
    gone = _key(home, "method = 'rand' AND sparsity = 0.5")
    shutil.rmtree(home / "runs" / gone)
    plan = _tickets(home, "study", "plan", str(study))
    assert plan.exit_code == 0 and "missing" in plan.output
    with Store(home).writer() as con:  # an imported run has no run directory and stays
        con.execute("INSERT INTO runs (key, kind, status, source) VALUES ('imp0000000000000', 'imported', "
                    "'imported', 'imported')")
    shutil.rmtree(home / "runs" / _key(home, "method = 'rand' AND sparsity = 0.9"))
    with pytest.warns(UserWarning, match="forgot 2 runs whose run directory is gone"):
        out = _tickets(home, "store", "ingest")
    assert out.exit_code == 0, out.output
    keys = set(Store(home).frame("SELECT key FROM runs")["key"])
    assert gone not in keys and "imp0000000000000" in keys and len(keys) == 4
    before = _starts(env)
    again = _tickets(home, "study", "run", str(study))
    assert again.exit_code == 0 and "2 ran now" in again.output and _starts(env) == before + 2


def test_runs_rm_removes_directory_and_rows_and_the_run_runs_again(env, swept):  # noqa: F811
    study, home = swept
    key = _key(home, "method = 'rand' AND sparsity = 0.5")
    short = _tickets(home, "runs", "rm", key[:3], "--yes")
    assert short.exit_code == 2 and "too short" in short.output
    kept = _tickets(home, "runs", "rm", key[:6], input="n\n")  # asked, and said no
    assert kept.exit_code == 1 and (home / "runs" / key).exists()
    out = _tickets(home, "runs", "rm", key[:6], "--yes")
    assert out.exit_code == 0 and "removed 1 run" in out.output, out.output
    assert not (home / "runs" / key).exists()
    for table in ("runs", "results", "epochs", "layers"):
        assert Store(home).frame(f"SELECT count(*) AS n FROM {table} WHERE key = ?", [key])["n"][0] == 0
    again = _tickets(home, "study", "run", str(study))
    assert again.exit_code == 0 and "1 ran now" in again.output


def test_runs_rm_by_filter_names_dependents(env, swept):  # noqa: F811
    study, home = swept
    pretrain = _key(home, "kind = 'pretrain'")
    tickets = list(Store(home).frame("SELECT key FROM runs WHERE method = 'lt' ORDER BY key")["key"])
    none = _tickets(home, "runs", "rm")
    assert none.exit_code == 2 and "give run keys or at least one filter" in none.output
    out = _tickets(home, "runs", "rm", "--kind", "pretrain", "--yes")
    assert out.exit_code == 0, out.output
    assert "2 runs depend on these, kept" in out.output and all(t in out.output for t in tickets)
    assert not (home / "runs" / pretrain).exists() and all((home / "runs" / t).exists() for t in tickets)
    out = _tickets(home, "runs", "rm", "--method", "rand", "--yes")
    assert out.exit_code == 0 and "removed 2 runs" in out.output
    assert set(Store(home).frame("SELECT method FROM runs")["method"]) == {"lt"}
    out = _tickets(home, "runs", "rm", tickets[0][:8], "--yes")
    assert out.exit_code == 0
    assert set(Store(home).frame("SELECT key FROM runs")["key"]) == {tickets[1]}


def test_runs_rm_dependents_flag_removes_the_chain(env, swept):  # noqa: F811
    study, home = swept
    pretrain = _key(home, "kind = 'pretrain'")
    out = _tickets(home, "runs", "rm", pretrain, "--dependents", "--yes")
    assert out.exit_code == 0 and "removed 3 runs" in out.output, out.output
    assert set(Store(home).frame("SELECT method FROM runs")["method"]) == {"rand"}


def test_a_result_corrupted_after_ingest_is_noticed_by_the_next_run(env, swept):  # noqa: F811
    study, home = swept
    key = _key(home, "method = 'rand' AND sparsity = 0.9")
    (home / "runs" / key / "result.json").write_text('{"test_acc": ')  # damaged on disk after ingest
    out = _tickets(home, "study", "run", str(study))
    assert out.exit_code == 1 and key in out.output and "corrupt result.json" in out.output
    before = _starts(env)
    out = _tickets(home, "study", "run", str(study), "--retry-failed")
    assert out.exit_code == 0, out.output
    assert _starts(env) == before + 1
    assert Store(home).frame("SELECT status FROM runs WHERE key = ?", [key])["status"][0] == "done"
    out = _tickets(home, "study", "run", str(study))
    assert out.exit_code == 0 and "nothing to run: 5/5 stages done" in out.output
