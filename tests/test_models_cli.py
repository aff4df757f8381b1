"""`tickets models` and `tickets datasets` through the real CLI entry point."""
from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner

from tickets.cli.main import cli


def invoke(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_models_json_has_the_paper_counts():
    result = invoke("models", "--dataset", "cifar10", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["model"]: row for row in json.loads(result.output)["models"]}
    assert rows["resnet32"]["prunable"] == 1_855_584 and rows["resnet32"]["num_layers"] == 34
    assert rows["vgg19"]["prunable"] == 20_024_000 and rows["vgg19"]["num_layers"] == 17
    assert rows["resnet32"]["options"] == {"width": 32, "block": "basic"}
    assert (rows["resnet56"]["depth"], rows["resnet56"]["block"], rows["resnet56"]["widths"]) == (56, "basic", [16, 32, 64])
    assert rows["lenet5"]["compatible"] is False and "28x28 grayscale" in rows["lenet5"]["reason"]


def test_models_table_uses_thousands_separators():
    result = invoke("models", "--dataset", "cifar10")
    assert result.exit_code == 0
    assert "1,855,584" in result.output and "20,024,000" in result.output


def test_one_model_lists_its_layers():
    result = invoke("models", "resnet32", "--dataset", "cifar10", "--json")
    layers = json.loads(result.output)["models"][0]["layers"]
    names = [layer["name"] for layer in layers]
    assert names[0] == "conv1.weight" and names[-1] == "fc.weight"
    assert names.index("layer2.0.shortcut.0.weight") == names.index("layer2.0.conv2.weight") + 1
    assert layers[-1]["shape"] == [10, 128] and layers[-1]["weights"] == 1280
    assert sum(layer["weights"] for layer in layers) == 1_855_584
    table = invoke("models", "vgg19", "-d", "cifar100", "-o", "width=0.5")
    assert table.exit_code == 0 and "features.0.weight" in table.output and "classifier.weight" in table.output


def test_models_bad_input_exits_2_with_one_line():
    result = CliRunner().invoke(cli, ["models", "lenet5", "--dataset", "cifar10"])
    assert result.exit_code == 2
    assert "model lenet5 needs 28x28 grayscale input; dataset cifar10 is 3x32x32" in result.output
    result = CliRunner().invoke(cli, ["models", "--dataset", "imagenet21k"])  # imagenet is known (issue 18)
    assert result.exit_code == 2 and "unknown dataset 'imagenet21k'" in result.output
    result = CliRunner().invoke(cli, ["models", "resnet32", "-o", "depth=3"])
    assert result.exit_code == 2 and "accepted options: width" in result.output


def test_datasets_lists_presence(tmp_path):
    result = invoke("datasets", "--root", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    rows = {row["dataset"]: row for row in json.loads(result.output)["datasets"]}
    assert rows["cifar10"]["present"] is False
    assert str(tmp_path / "cifar10" / "cifar-10-batches-py") in rows["cifar10"]["expected"]
    assert rows["synthetic"]["present"] is True
    assert rows["tinyimagenet"]["shape"] == [3, 64, 64] and rows["tinyimagenet"]["classes"] == 200
    table = invoke("datasets", "--root", str(tmp_path))
    assert table.exit_code == 0 and "cifar100" in table.output


def test_cli_module_does_not_import_torch():
    code = "import sys, tickets.cli.models; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
