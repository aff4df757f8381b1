"""Commands that validate, plan, query or report never import torch (issue 22, "Speed a user feels").

Timing is never asserted (CI shares its machine): what is pinned is the cause of the seconds, the
modules a command imports, checked in a fresh process after the command ran. bench/cli_latency.py
measures the times themselves beside `import torch`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "torchvision", "pandas", "numpy", "sqlmodel", "sqlalchemy", "matplotlib", "jinja2")

DRIVER = """
import json, sys
from tickets.cli.main import cli
try:
    code = cli(args=sys.argv[1:], prog_name="tickets", standalone_mode=False) or 0
except SystemExit as exc:
    code = exc.code
except Exception as exc:  # UserError and click's usage errors end here without main()'s handler
    code = type(exc).__name__ + ": " + str(exc)
print("\\nMODULES " + json.dumps({"code": code, "heavy": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def imported(home: Path, *argv: str) -> tuple[object, set[str], str]:
    env = {**os.environ, "TICKETS_HOME": str(home), "PYTHONPATH": str(ROOT), "TICKETS_PLUGINS": ""}
    done = subprocess.run([sys.executable, "-c", DRIVER, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    line = [x for x in done.stdout.splitlines() if x.startswith("MODULES ")]
    assert line, done.stdout + done.stderr
    data = json.loads(line[-1][len("MODULES "):])
    return data["code"], set(data["heavy"]), done.stdout + done.stderr


@pytest.fixture(scope="module")
def quickstart_home(tmp_path_factory):
    from bench.cli_latency import quickstart_store

    home = tmp_path_factory.mktemp("quickstart")
    quickstart_store(home)
    return home


def test_a_method_typo_is_one_line_without_torch_pandas_or_sqlmodel(tmp_path):
    code, heavy, out = imported(tmp_path, "run", "--dataset", "fashionmnist", "--model", "lenet300",
                                "--method", "snipp", "--sparsity", "0.9")
    assert "unknown method 'snipp' (did you mean 'snip'?)" in out
    assert code != 0
    assert not heavy, heavy


def test_sql_select_1_imports_neither_pandas_nor_sqlmodel(tmp_path):
    code, heavy, out = imported(tmp_path, "sql", "SELECT 1 AS one")
    assert code == 0 and "one" in out
    assert not heavy, heavy


def test_report_quickstart_reads_rows_without_pandas(quickstart_home):
    code, heavy, out = imported(quickstart_home, "report", "quickstart")
    assert code == 0, out
    assert "Random Tickets" in out and "LeNet-300-100" in out
    assert not heavy, heavy


def test_study_plan_computes_layer_shapes_without_building_networks(tmp_path):
    code, heavy, out = imported(tmp_path, "study", "plan", "studies/quickstart.py")
    assert code == 0, out
    assert "missing" in out
    assert not heavy & {"torch", "torchvision", "pandas", "sqlmodel", "matplotlib"}, heavy


def test_models_lists_every_model_from_the_catalog_without_torch(tmp_path):
    code, heavy, out = imported(tmp_path, "models")
    assert code == 0, out
    assert "resnet32" in out and "1,855,584" in out  # the paper's 2x ResNet32 on CIFAR-10
    assert not heavy & {"torch", "torchvision", "pandas", "sqlmodel"}, heavy


def test_the_model_catalog_is_current_and_matches_built_networks():
    from tickets.data import dataset_info
    from tickets.models import base, catalog

    assert catalog._catalog() is not None, (
        "tickets/models/catalog.json is stale (a model file changed): regenerate it with "
        "python -c \"import json; from tickets.models import catalog; "
        "catalog.CATALOG_FILE.write_text(json.dumps(catalog.build(), separators=(',', ':')) + '\\n')\"")
    base.MODELS.names()  # import the modules: the registry and the catalog must agree
    assert catalog.names() == [n for n in base.MODELS.names() if base.MODELS.get(n).__module__.startswith("tickets.")]
    for name in ("lenet300", "resnet20", "vgg11"):
        meta = dict(base.MODELS.meta(name))
        meta.pop("structure")
        assert catalog.meta(name) == meta
    for name, dataset in (("lenet300", "mnist"), ("resnet20", "cifar100")):
        info = dataset_info(dataset)
        net = base.build_model(name, info)
        built = tuple((f"{n}.weight", type(m).__name__, tuple(m.weight.shape)) for n, m in base.prunable_layers(net))
        assert catalog.layers(name, info, base.model_options(name)) == built
    # options off the defaults are never answered from the catalog
    assert catalog.layers("resnet20", dataset_info("cifar10"), {"width": 8, "block": "basic"}) is None


def test_the_plain_column_lists_and_ddl_agree_with_the_sqlmodel_tables():
    from registry import columns, schema

    assert columns.COLUMNS == schema.COLUMNS and columns.DDL == schema.ddl(), (
        "registry/columns.py is stale: python -c \"from registry import schema; schema.write_columns_module()\"")


def test_inlined_literals_leave_quoted_question_marks_and_escape_quotes():
    from registry.literals import inline

    sql = "SELECT '?' AS q, x = ? AND y IN (?, ?) -- ?"
    assert inline(sql, ["it's", 0.9, None]) == "SELECT '?' AS q, x = 'it''s' AND y IN (0.9::DOUBLE, NULL) -- ?"
    assert inline(sql, [b"bytes", 1, 2]) is None  # no literal spelling: the caller binds instead
    assert inline("SELECT ?", []) is None


def test_rows_and_frames_render_every_format_identically(quickstart_home):
    from registry.report import make_table, render
    from registry.report.loader import load_report
    from registry.report.render import FORMATS
    from registry.store import Store

    store = Store(quickstart_home)
    report, _ = load_report(ROOT / "reports", "quickstart")
    by_frame = make_table(report, query=store.frame)
    by_rows = make_table(report, query=lambda sql, params=None: store.frame(sql, params, rows=True))
    for fmt in FORMATS.names():
        assert render(by_rows, fmt) == render(by_frame, fmt), fmt
