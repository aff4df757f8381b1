"""Exchange files: bad values are refused with one line and the store unchanged; duplicates are
reported; exports write only what they say; seeds beyond 32 bits are stored."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from registry.store import Store
from tickets.cli.main import cli

HEADER = "dataset,model,method,check,sparsity,seed,test_acc,collapsed\n"
GOOD = "cifar10,vgg19,snip,none,0.9,0,93.5,false\n"


def _tickets(home, *args):
    result = CliRunner().invoke(cli, ["--home", str(home), *args])
    return result.exit_code, result.output


def _count(home) -> int:
    return int(Store(home).frame("SELECT count(*) AS n FROM runs")["n"][0])


@pytest.mark.parametrize("row, message", [
    ("cifar10,vgg19,snip,none,0.9,-1,93.5,false", "seed '-1' is not a non-negative integer"),
    ("cifar10,vgg19,snip,none,0.9,1.5,93.5,false", "seed '1.5' is not a non-negative integer"),
    ("cifar10,vgg19,snip,none,0.9,1,150,false", "test_acc '150' out of range; expected a percentage in [0, 100]"),
    ("cifar10,vgg19,snip,none,0.9,1,0.9x,false", "test_acc '0.9x' is not a number"),
    ("cifar10,vgg19,snip,none,0.9,1,93.5,maybe", "collapsed 'maybe' is not true/false"),
    ("cifar10,vgg19,snip,none,1.5,1,93.5,false", "sparsity '1.5' out of range"),
    ("cifar10,vgg19,,none,0.9,1,93.5,false", "method '' is not a name"),
])
def test_bad_rows_are_refused_and_nothing_is_written(tmp_path, row, message):
    home = tmp_path / "home"
    path = tmp_path / "in.csv"
    path.write_text(HEADER + GOOD + row + "\n")
    code, out = _tickets(home, "store", "import", str(path))
    assert code == 2 and message in out and "row 3" in out
    assert len(out.strip().splitlines()) == 1
    assert not Store(home).exists() or _count(home) == 0


def test_names_are_stripped_and_repeats_are_reported(tmp_path):
    home = tmp_path / "home"
    path = tmp_path / "in.csv"
    path.write_text(HEADER + " cifar10 , vgg19,snip,none,0.9,0,93.5,false\n")
    assert _tickets(home, "store", "import", str(path)) == (0, f"imported 1 new runs from {path}\n")
    assert Store(home).frame("SELECT dataset, model FROM runs").iloc[0].tolist() == ["cifar10", "vgg19"]
    path.write_text(HEADER + GOOD + "cifar10,vgg19,snip,none,0.9,1,93.7,false\n")
    code, out = _tickets(home, "store", "import", str(path))
    assert code == 0 and "imported 1 new runs" in out and "1 already in the store (stored values kept)" in out
    assert _count(home) == 2


def test_seeds_beyond_32_bits_are_stored(tmp_path):
    home = tmp_path / "home"
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "cifar10,vgg19,snip,none,0.9,3000000000,93.5,false\n")
    assert _tickets(home, "store", "import", str(path))[0] == 0
    assert int(Store(home).frame("SELECT seed FROM runs")["seed"][0]) == 3_000_000_000


def test_export_refuses_what_it_cannot_write(tmp_path):
    home = tmp_path / "home"
    path = tmp_path / "in.csv"
    path.write_text(HEADER + GOOD)
    assert _tickets(home, "store", "import", str(path))[0] == 0
    code, out = _tickets(home, "store", "export", str(tmp_path / "backup.duckdb"))
    assert code == 2 and "export writes .csv or .parquet" in out and not (tmp_path / "backup.duckdb").exists()
    code, out = _tickets(home, "store", "export", str(tmp_path / "no" / "such" / "x.csv"))
    assert code == 2 and out.startswith("error: cannot write") and "is not a writable folder" in out
    code, out = _tickets(home, "store", "export", str(tmp_path / "ok.parquet"))
    assert code == 0 and (tmp_path / "ok.parquet").read_bytes()[:4] == b"PAR1"
