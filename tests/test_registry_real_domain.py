"""The registry with the real pruning domain: one tiny cell on synthetic data, then a rerun."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli


@pytest.mark.slow
def test_tickets_run_with_the_real_domain_then_rerun_runs_nothing(tmp_path):
    home = tmp_path / "home"
    args = ["--home", str(home), "run", "--dataset", "synthetic", "--model", "lenet300",
            "--method", "random_tickets", "--sparsity", "0.9", "--set", "epochs=1"]
    runner = CliRunner()
    out = runner.invoke(cli, args)
    assert out.exit_code == 0, out.output
    rows = Store(home).frame("SELECT r.kind, r.method, r.sparsity, r.status, s.test_acc, "
                             "(SELECT count(*) FROM layers l WHERE l.key = r.key) AS layers "
                             "FROM runs r JOIN results s USING (key)")
    assert rows.to_dict("records")[0]["status"] == "done" and rows["layers"][0] > 0
    assert 0 <= rows["test_acc"][0] <= 100
    out = runner.invoke(cli, args)
    assert out.exit_code == 0 and "nothing to run: 1/1 stages done" in out.output
