"""The benchmark scripts import and run end to end with tiny step counts on the CPU."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_throughput_runs_both_ways_and_reports_a_ratio(capsys):
    from bench import throughput

    rows = throughput.main(["--models", "lenet300", "--steps", "2", "--warmup", "1", "--repeats", "1",
                            "--threads", "1", "--device", "cpu", "--workers", "1"])
    (row,) = rows
    assert row["model"] == "lenet300" and row["data"] == "fashionmnist"
    assert row["ref_img_s"] > 0 and row["ours_img_s"] > 0
    assert row["ours_ratio"] == pytest.approx(row["ours_img_s"] / row["ref_img_s"])
    assert "ratio" in capsys.readouterr().out


def test_reference_loader_yields_normalised_cropped_batches():
    from bench.reference import reference_loader
    from tickets.data import dataset_info

    info = dataset_info("cifar10")
    x = torch.zeros(8, 3, 32, 32, dtype=torch.uint8)
    loader = reference_loader(x, torch.zeros(8, dtype=torch.long), info, batch_size=4, workers=0)
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 3, 32, 32) and xb.dtype == torch.float32
    # black images: 0 inside, zero padding shows as 0 too, normalised to -mean/std everywhere
    expected = -torch.tensor(info.mean) / torch.tensor(info.std)
    torch.testing.assert_close(xb.amax(dim=(0, 2, 3)), expected)


@pytest.mark.slow
def test_packing_bench_runs_every_way(capsys):
    from bench import packing

    rows = packing.main(["--models", "lenet300", "--packs", "2", "--steps", "2", "--threads", "1",
                         "--device", "cpu"])
    assert [r["k"] for r in rows] == [2]
    for r in rows:
        assert r["sequential"] > 0 and r["processes"] > 0 and r["packed"] > 0
    assert "aggregate training images/s" in capsys.readouterr().out


@pytest.mark.slow
def test_parity_reports_both_accuracies():
    from bench import parity

    (row,) = parity.main(["--models", "lenet300", "--epochs", "1", "--seeds", "0", "--threads", "1",
                          "--workers", "0", "--train-limit", "256", "--device", "cpu"])
    assert len(row["ref"]) == len(row["ours"]) == 1
    assert 0 <= row["ref"][0] <= 100 and 0 <= row["ours"][0] <= 100


def test_parity_agreement_rule():
    from bench.parity import agree

    assert agree([90.0, 90.4], [90.2, 90.1])
    assert not agree([90.0, 90.1], [85.0, 85.2])
