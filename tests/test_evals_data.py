"""OoD sets in their distributed formats (SVHN .mat, CIFAR-100 pickles, MNIST idx) on small files
written here, and the offline sets (scikit-learn's digits, seeded noise) shaped like the
in-distribution data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from registry.errors import UserError
from tickets.data import dataset_info, load_dataset
from tickets.evals.oodsets import fit_to, ood_images


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_DOWNLOAD", "0")
    return tmp_path / "data"


def write_svhn(folder, rng, n_train=5, n_test=4):
    """The SVHN format-2 files: X uint8 [32, 32, 3, N], y [N, 1] with 10 for the digit 0."""
    from scipy.io import savemat

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = rng.integers(0, 256, (32, 32, 3, n), dtype=np.uint8)
        y = rng.integers(1, 11, (n, 1)).astype(np.uint8)
        savemat(str(folder / f"{split}_32x32.mat"), {"X": x, "y": y})
        out[split] = (x, y)
    return out


def test_svhn_mat_files_decode_with_channels_first_and_zero_labels(root):
    written = write_svhn(root / "svhn", np.random.default_rng(1))
    data = load_dataset("svhn", root=root)
    x, y = written["test"]
    assert data.x_test.shape == (4, 3, 32, 32) and data.x_test.dtype == torch.uint8
    assert torch.equal(data.x_test[2, 1], torch.from_numpy(x[:, :, 1, 2]))  # image 2, green channel
    assert data.y_test.tolist() == [int(v) % 10 for v in y[:, 0]]
    assert 0 in data.y_test.tolist() or 10 not in y  # label 10 became 0


def test_a_file_that_is_not_svhn_is_one_line(root):
    folder = root / "svhn"
    folder.mkdir(parents=True)
    for name in ("train_32x32.mat", "test_32x32.mat"):
        (folder / name).write_bytes(b"not a mat file")
    with pytest.raises(UserError, match="not a MATLAB file"):
        load_dataset("svhn", root=root)


def test_ood_sets_for_cifar10_read_svhn_and_cifar100_in_their_formats(root):
    from test_data_formats import _pickle  # tests/ is on sys.path (pytest rootdir importmode)

    rng = np.random.default_rng(2)
    write_svhn(root / "svhn", rng)
    folder = root / "cifar100" / "cifar-100-python"
    test = rng.integers(0, 256, (3, 3 * 32 * 32), dtype=np.uint8)
    _pickle(folder / "train", {b"data": rng.integers(0, 256, (2, 3072), dtype=np.uint8), b"fine_labels": [0, 1]})
    _pickle(folder / "test", {b"data": test, b"fine_labels": [5, 6, 7]})
    info = dataset_info("cifar10")
    svhn = ood_images("svhn", info, root=root)
    assert svhn.shape == (4, 3, 32, 32)
    cifar100 = ood_images("cifar100", info, root=root)
    assert torch.equal(cifar100, torch.from_numpy(test.reshape(3, 3, 32, 32)))


def test_mnist_idx_as_ood_set_for_fashion_mnist(root):
    from test_data_formats import write_idx_folder

    arrays = write_idx_folder(root / "mnist" / "MNIST" / "raw", np.random.default_rng(3))
    images = ood_images("mnist", dataset_info("fashionmnist"), root=root)
    assert torch.equal(images, torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).unsqueeze(1))


def test_digits_are_scikit_learns_upsampled_to_the_target_shape():
    from sklearn.datasets import load_digits

    images = ood_images("digits", dataset_info("fashionmnist"))
    assert images.shape == (1797, 1, 28, 28) and images.dtype == torch.uint8
    source = load_digits().images
    # a blank 8x8 image stays blank, a bright pixel stays bright in its upsampled block
    assert images.float().mean() == pytest.approx(source.mean() * 255 / 16, rel=0.05)
    rgb = ood_images("digits", dataset_info("cifar10"))
    assert rgb.shape == (1797, 3, 32, 32) and torch.equal(rgb[:, 0], rgb[:, 2])


def test_noise_is_seeded_and_rgb_to_grey_uses_luma():
    info = dataset_info("fashionmnist")
    assert torch.equal(ood_images("noise", info, seed=3), ood_images("noise", info, seed=3))
    assert not torch.equal(ood_images("noise", info, seed=3), ood_images("noise", info, seed=4))
    red = torch.zeros(1, 3, 28, 28, dtype=torch.uint8)
    red[:, 0] = 200
    assert fit_to(red, info).unique().tolist() == [round(0.299 * 200)]
    with pytest.raises(UserError, match="in-distribution dataset itself"):
        ood_images("fashionmnist", info)
