"""`tickets ratios`: table, JSON and plot output; bad input exits 2 with one line."""
from __future__ import annotations

import json

from click.testing import CliRunner

from tickets.cli.main import cli


def run(*args):
    return CliRunner().invoke(cli, ["ratios", *args], catch_exceptions=False)


def test_json_vgg19_paper_figures():
    res = run("vgg19", "--dataset", "cifar10", "--rule", "smart", "--sparsity", "0.98", "--json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    ratios = [r["keep_ratio"] for r in out["layers"]]
    assert ratios[:2] == [1.0, 1.0] and abs(ratios[2] - 0.838) < 1e-3
    assert out["total"] == 20_024_000
    assert abs(out["achieved_sparsity"] - 0.98) < 1e-4
    assert set(out["layers"][0]) == {"layer", "shape", "weights", "kept", "keep_ratio"}


def test_table_and_plots(tmp_path):
    png, pdf = tmp_path / "r.png", tmp_path / "r.pdf"
    res = run("resnet32", "-d", "cifar10", "-s", "0.98", "--plot", str(png))
    assert res.exit_code == 0, res.output
    assert "keep ratio" in res.output and "layer1.0.conv1.weight" in res.output
    assert "achieved sparsity 0.98" in res.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    res = run("lenet300", "-d", "fashionmnist", "-r", "erk", "-s", "0.9", "--plot", str(pdf), "--json")
    assert res.exit_code == 0, res.output
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert len(json.loads(res.output)["layers"]) == 3


def test_bad_input_exits_2():
    for args, words in [(("vgg19", "-s", "1.0"), "sparsity"), (("vgg19", "-r", "smrt"), "known"),
                        (("vgg19", "-r", "uniform_plus", "-s", "0.99999"), "features.0.weight"),
                        (("vgg19", "--plot", "x.gif"), ".png")]:
        res = CliRunner().invoke(cli, ["ratios", *args])
        assert res.exit_code == 2, (args, res.output)
        assert words in res.output
