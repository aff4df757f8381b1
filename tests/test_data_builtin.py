"""Dataset infos without files, the Debian Fashion-MNIST, and the learnable synthetic datasets."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.nn import functional as F

from registry.errors import UserError
from tickets.data import DATASETS, cache_path, dataset_info, load_dataset, locate
from tickets.data.mnist import DEBIAN_FASHION


def test_names_and_infos_need_no_files(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_DATA", str(tmp_path / "empty"))
    assert {"cifar10", "cifar100", "tinyimagenet", "fashionmnist", "mnist", "synthetic"} <= set(DATASETS.names())
    c10, c100, tiny = dataset_info("cifar10"), dataset_info("cifar100"), dataset_info("tinyimagenet")
    assert (c10.channels, c10.size, c10.num_classes, c10.crop_padding) == (3, 32, 10, 4)
    assert c10.mean == (0.4914, 0.4822, 0.4465) and c10.std == (0.2023, 0.1994, 0.2010)
    assert c100.num_classes == 100 and c100.mean == (0.5071, 0.4867, 0.4408) and c100.std == (0.2675, 0.2565, 0.2761)
    assert (tiny.size, tiny.num_classes, tiny.crop_padding) == (64, 200, 4)
    assert tiny.mean == (0.4802, 0.4481, 0.3975) and tiny.std == (0.2770, 0.2691, 0.2821)
    assert dataset_info("mnist").mean == (0.1307,) and dataset_info("mnist").std == (0.3081,)
    assert dataset_info("fashionmnist").shape == (1, 28, 28) and dataset_info("fashionmnist").crop_padding == 0
    assert dataset_info("synthetic").shape == (1, 28, 28) and dataset_info("synthetic32").shape == (3, 32, 32)
    assert not (tmp_path / "empty").exists()
    with pytest.raises(Exception):  # frozen
        c10.num_classes = 11


def test_unknown_dataset_lists_known():
    with pytest.raises(UserError, match=r"unknown dataset 'cifar11'.*known: cifar10, cifar100"):
        load_dataset("cifar11")
    with pytest.raises(UserError, match="unknown dataset"):
        dataset_info("imagenet22k")
    assert dataset_info("imagenet").shape == (3, 224, 224)  # issue 18: declared without its files


@pytest.mark.skipif(not (DEBIAN_FASHION / "train-images-idx3-ubyte.gz").exists(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_debian_fashion_mnist_found_automatically():
    # the session data root (TICKETS_DATA from conftest) has no Fashion-MNIST of its own
    data = load_dataset("fashionmnist")
    assert data.x_train.shape == (60000, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
    assert data.x_train.dtype == torch.uint8
    assert sorted(data.y_train.unique().tolist()) == list(range(10))
    assert torch.bincount(data.y_test).tolist() == [1000] * 10
    mean = data.x_train.float().mean().item() / 255
    assert mean == pytest.approx(data.info.mean[0], abs=0.002)
    assert cache_path("fashionmnist").is_file()
    assert locate("fashionmnist") == cache_path("fashionmnist")


@pytest.mark.parametrize("name", ["synthetic", "synthetic32"])
def test_synthetic_is_seeded_balanced_and_file_free(name, tmp_path):
    a, b = load_dataset(name, root=tmp_path), load_dataset(name, root=tmp_path)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert a.x_train.shape == (512, *a.info.shape) and a.x_test.shape == (256, *a.info.shape)
    assert a.x_train.dtype == torch.uint8 and a.y_train.dtype == torch.int64
    assert torch.bincount(a.y_train, minlength=10).min() >= 50
    assert not list(Path(tmp_path).iterdir())  # generated, never cached
    x = a.x_train.float() / 255
    assert x.mean().item() == pytest.approx(a.info.mean[0], abs=0.03)
    assert x.std().item() == pytest.approx(a.info.std[0], abs=0.03)


def test_synthetic_is_learnable_but_not_trivial():
    from tickets.models import build_model

    data = load_dataset("synthetic")
    torch.manual_seed(0)
    model = build_model("lenet300", data.info)

    def prepare(x):
        return (x.float() / 255 - data.info.mean[0]) / data.info.std[0]

    def accuracy():
        with torch.no_grad():
            return (model(prepare(data.x_test)).argmax(1) == data.y_test).float().mean().item()

    assert accuracy() < 0.3
    for _ in range(2):
        for idx in torch.randperm(512).split(32):
            loss = F.cross_entropy(model(prepare(data.x_train[idx])), data.y_train[idx])
            model.zero_grad()
            loss.backward()
            with torch.no_grad():  # plain SGD by hand: torch.optim's first step imports torch._dynamo (seconds)
                for p in model.parameters():
                    p -= 0.1 * p.grad
    assert accuracy() > 0.5
