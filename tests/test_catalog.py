"""`tickets methods|checks|rules` list what exists with options and defaults (issue 15)."""
from __future__ import annotations

import json
import uuid

from click.testing import CliRunner

from tickets.cli.main import cli


def _json(*args):
    out = CliRunner().invoke(cli, [*args, "--format", "json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.output)


def test_methods_list_every_option_with_its_default():
    from tickets.pruning.methods import METHODS

    rows = {r["method"]: r for r in _json("methods")}
    assert set(rows) == set(METHODS.names())
    # the released code's scoring batch depends on dataset and network: None = resolved per cell
    assert rows["snip"]["options"] == {"samples_per_class": None, "iterations": None, "augment": None,
                                       "fidelity": "released"} and rows["snip"]["uses_data"] is True
    assert rows["imp"]["options"]["rounds"] == 5 and rows["imp"]["needs_pretrain"] is True
    assert rows["random_tickets"]["options"] == {"rule": "smart"}
    assert rows["dense"]["prunes"] is False and rows["dense"]["summary"] == "the unpruned network"


def test_checks_and_rules():
    checks = {r["check"]: r for r in _json("checks")}
    assert checks["corrupt"]["applies_to"] == "data" and checks["reinit"]["applies_to"] == "mask"
    assert "random labels and random pixels" in checks["corrupt"]["description"]
    rules = {r["rule"]: r["description"] for r in _json("rules")}
    assert {"smart", "erk", "uniform", "ascend"} <= set(rules) and "classifier 0.3" in rules["smart"]
    table = CliRunner().invoke(cli, ["rules"])
    assert table.exit_code == 0 and "smart_uniform" in table.output


def test_a_plugin_method_is_listed(tmp_path, monkeypatch):
    name = f"mine_{uuid.uuid4().hex[:8]}"
    (tmp_path / "mymethods.py").write_text(f'''
from dataclasses import dataclass
from tickets.pruning.methods import METHODS, Method

@METHODS.register()
@dataclass(frozen=True)
class Mine(Method):
    """My own pruning method."""
    name = "{name}"
    uses_data = False
    strength: float = 0.5
''')
    monkeypatch.setenv("TICKETS_PLUGINS", "")  # recorded, so what --plugin sets there is undone after the test
    out = CliRunner().invoke(cli, ["--plugin", str(tmp_path / "mymethods.py"), "methods", "--format", "json"])
    assert out.exit_code == 0, out.output
    row = {r["method"]: r for r in json.loads(out.output)}[name]
    assert row["options"] == {"strength": 0.5} and row["summary"] == "My own pruning method."
