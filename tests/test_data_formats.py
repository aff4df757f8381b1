"""Each loader on small files written in the real on-disk formats, decode-once caching, errors."""
from __future__ import annotations

import gzip
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from registry.errors import UserError
from tickets.data import cache_path, data_root, dataset_info, load_dataset, locate


@pytest.fixture
def root(tmp_path, monkeypatch) -> Path:
    """A private data root; downloads disabled so a missing file never reaches for the network."""
    monkeypatch.setenv("TICKETS_DOWNLOAD", "0")
    return tmp_path / "data"


def _pickle(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(entry, fh, protocol=2)


def _cifar_images(rng, n):
    return rng.integers(0, 256, size=(n, 3 * 32 * 32), dtype=np.uint8)


def write_cifar10(folder: Path, rng, per_batch=3):
    written = {"x_train": [], "y_train": []}
    for i in range(1, 6):
        data, labels = _cifar_images(rng, per_batch), rng.integers(0, 10, per_batch).tolist()
        _pickle(folder / f"data_batch_{i}", {b"batch_label": f"training batch {i} of 5".encode(),
                                             b"labels": labels, b"data": data,
                                             b"filenames": [b"x.png"] * per_batch})
        written["x_train"].append(data)
        written["y_train"] += labels
    test, test_labels = _cifar_images(rng, 4), rng.integers(0, 10, 4).tolist()
    _pickle(folder / "test_batch", {b"batch_label": b"testing batch 1 of 1", b"labels": test_labels,
                                    b"data": test, b"filenames": [b"y.png"] * 4})
    return (np.concatenate(written["x_train"]).reshape(-1, 3, 32, 32), np.array(written["y_train"]),
            test.reshape(-1, 3, 32, 32), np.array(test_labels))


def test_cifar10_pickles_decode_exactly(root):
    rng = np.random.default_rng(0)
    x_train, y_train, x_test, y_test = write_cifar10(root / "cifar10" / "cifar-10-batches-py", rng)
    data = load_dataset("cifar10", root=root)
    assert data.info == dataset_info("cifar10")
    assert data.x_train.dtype == torch.uint8 and data.y_train.dtype == torch.int64
    assert data.x_train.shape == (15, 3, 32, 32) and data.x_test.shape == (4, 3, 32, 32)
    assert np.array_equal(data.x_train.numpy(), x_train) and np.array_equal(data.y_train.numpy(), y_train)
    assert np.array_equal(data.x_test.numpy(), x_test) and np.array_equal(data.y_test.numpy(), y_test)
    # channel-first layout of the pickles: the first 1024 bytes of a row are the red plane
    assert np.array_equal(data.x_train[0, 0].flatten().numpy(), x_train.reshape(15, -1)[0, :1024])


def test_cifar10_folder_directly_under_root(root):
    write_cifar10(root / "cifar-10-batches-py", np.random.default_rng(1), per_batch=1)
    assert locate("cifar10", root) == root / "cifar-10-batches-py"
    assert load_dataset("cifar10", root=root).x_train.shape[0] == 5


def test_cifar100_uses_fine_labels(root):
    rng = np.random.default_rng(2)
    folder = root / "cifar100" / "cifar-100-python"
    train, test = _cifar_images(rng, 6), _cifar_images(rng, 2)
    fine, coarse = [0, 99, 42, 7, 63, 5], [0, 19, 3, 2, 1, 4]
    _pickle(folder / "train", {b"filenames": [b"a"] * 6, b"batch_label": b"training batch 1 of 1",
                               b"fine_labels": fine, b"coarse_labels": coarse, b"data": train})
    _pickle(folder / "test", {b"filenames": [b"b"] * 2, b"batch_label": b"testing batch 1 of 1",
                              b"fine_labels": [98, 1], b"coarse_labels": [5, 6], b"data": test})
    data = load_dataset("cifar100", root=root)
    assert data.y_train.tolist() == fine and data.y_test.tolist() == [98, 1]
    assert torch.equal(data.x_test, torch.from_numpy(test.reshape(2, 3, 32, 32)))
    assert data.info.num_classes == 100


def test_missing_cifar_names_folder_and_files(root):
    with pytest.raises(UserError) as err:
        load_dataset("cifar10", root=root)
    message = str(err.value)
    assert str(root / "cifar10" / "cifar-10-batches-py") in message
    assert "data_batch_1" in message and "test_batch" in message
    with pytest.raises(UserError, match=r"cifar-100-python/\{train, test\}"):
        load_dataset("cifar100", root=root)


def test_failed_download_still_says_where_files_go(root, monkeypatch):
    import torchvision.datasets

    calls = []

    def offline(*args, **kwargs):
        calls.append((args, kwargs))
        raise RuntimeError("no network")

    monkeypatch.setenv("TICKETS_DOWNLOAD", "1")
    monkeypatch.setattr(torchvision.datasets, "CIFAR10", offline)
    with pytest.warns(UserWarning, match="download of cifar10 failed"):
        with pytest.raises(UserError, match="cifar-10-batches-py"):
            load_dataset("cifar10", root=root)
    assert calls and calls[0][1]["download"] is True and calls[0][0][0] == str(root / "cifar10")


def test_corrupt_pickle_is_a_user_error(root):
    folder = root / "cifar10" / "cifar-10-batches-py"
    write_cifar10(folder, np.random.default_rng(3), per_batch=1)
    _pickle(folder / "data_batch_2", {b"pixels": b""})
    with pytest.raises(UserError, match="data_batch_2 is not a CIFAR pickle batch"):
        load_dataset("cifar10", root=root)


# ---------------------------------------------------------------- MNIST / Fashion-MNIST idx files

def _idx(array: np.ndarray) -> bytes:
    return struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}i", *array.shape) \
        + array.astype(np.uint8).tobytes()


def write_idx_folder(folder: Path, rng, n_train=7, n_test=3, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for i, (stem, array) in enumerate(arrays.items()):
        raw = _idx(array)
        compress = gz if isinstance(gz, bool) else gz[i]
        if compress:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / stem).write_bytes(raw)
    return arrays


def _assert_idx_equal(data, arrays):
    assert torch.equal(data.x_train, torch.from_numpy(arrays["train-images-idx3-ubyte"]).unsqueeze(1))
    assert data.y_train.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert torch.equal(data.x_test, torch.from_numpy(arrays["t10k-images-idx3-ubyte"]).unsqueeze(1))
    assert data.y_test.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert data.y_train.dtype == torch.int64 and data.x_train.shape[1:] == (1, 28, 28)


def test_mnist_gz_in_torchvision_layout(root):
    arrays = write_idx_folder(root / "mnist" / "MNIST" / "raw", np.random.default_rng(4), gz=True)
    _assert_idx_equal(load_dataset("mnist", root=root), arrays)


def test_fashionmnist_raw_and_mixed_files(root):
    arrays = write_idx_folder(root / "FashionMNIST" / "raw", np.random.default_rng(5),
                              gz=[False, True, False, True])
    assert locate("fashionmnist", root) == root / "FashionMNIST" / "raw"
    data = load_dataset("fashionmnist", root=root)
    _assert_idx_equal(data, arrays)
    assert data.info.mean == (0.2860,) and data.info.std == (0.3530,)


def test_truncated_idx_is_a_user_error(root):
    folder = root / "mnist" / "raw"
    write_idx_folder(folder, np.random.default_rng(6), gz=False)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(UserError, match="train-images-idx3-ubyte is truncated"):
        load_dataset("mnist", root=root)


def test_missing_mnist_names_files_and_folder(root):
    with pytest.raises(UserError, match=r"train-images-idx3-ubyte.*\(optionally \.gz\) in .*mnist/MNIST/raw"):
        load_dataset("mnist", root=root)


# ---------------------------------------------------------------- Tiny-ImageNet folder

def write_tinyimagenet(base: Path, rng) -> dict:
    from PIL import Image

    folder = base / "tiny-imagenet-200"
    wnids = ["n09999999", "n01443537", "n02124075"]  # unsorted on purpose: index = sorted order
    (folder).mkdir(parents=True)
    (folder / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (folder / "words.txt").write_text("n01443537\tgoldfish\n")
    colours = {}

    def blocky(seed_colour):
        # 8x8 flat blocks survive JPEG at quality 100 almost exactly
        coarse = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        return np.kron(coarse, np.ones((8, 8, 1), dtype=np.uint8))

    train = []
    for wnid in sorted(wnids):
        images = folder / "train" / wnid / "images"
        images.mkdir(parents=True)
        (folder / "train" / wnid / f"{wnid}_boxes.txt").write_text("")
        for k in (1, 0):  # written out of order: files are read sorted by name
            array = blocky(k)
            Image.fromarray(array).save(images / f"{wnid}_{k}.JPEG", quality=100, subsampling=0)
            colours[f"{wnid}_{k}"] = array
        train += [(wnid, f"{wnid}_0"), (wnid, f"{wnid}_1")]
    val = folder / "val" / "images"
    val.mkdir(parents=True)
    lines, test = [], []
    for i, wnid in enumerate(["n02124075", "n01443537", "n09999999", "n01443537"]):
        name = f"val_{i}.JPEG"
        array = blocky(i)
        if i == 3:  # a grayscale JPEG, as some Tiny-ImageNet images are
            gray = array[..., 0]
            Image.fromarray(gray, mode="L").save(val / name, quality=100)
            array = np.repeat(gray[..., None], 3, axis=2)
        else:
            Image.fromarray(array).save(val / name, quality=100, subsampling=0)
        lines.append(f"{name}\t{wnid}\t0\t0\t63\t63")
        colours[name] = array
        test.append((wnid, name))
    (folder / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    (folder / "test" / "images").mkdir(parents=True)  # the unlabelled test split is ignored
    return {"train": train, "test": test, "pixels": colours, "sorted": sorted(wnids)}


def test_tinyimagenet_folder_as_distributed(root):
    expected = write_tinyimagenet(root / "tinyimagenet", np.random.default_rng(7))
    data = load_dataset("tinyimagenet", root=root)
    index = {w: i for i, w in enumerate(expected["sorted"])}
    assert data.y_train.tolist() == [index[w] for w, _ in expected["train"]]
    assert data.y_test.tolist() == [index[w] for w, _ in expected["test"]] == [1, 0, 2, 0]
    assert data.x_train.shape == (6, 3, 64, 64) and data.x_test.shape == (4, 3, 64, 64)
    for i, (_, key) in enumerate(expected["train"]):
        diff = (data.x_train[i].permute(1, 2, 0).int() - torch.from_numpy(expected["pixels"][key]).int()).abs()
        assert diff.float().mean() < 2.0 and diff.max() <= 16, key
    for i, (_, key) in enumerate(expected["test"]):
        diff = (data.x_test[i].permute(1, 2, 0).int() - torch.from_numpy(expected["pixels"][key]).int()).abs()
        assert diff.float().mean() < 2.0 and diff.max() <= 16, key
    assert torch.equal(data.x_test[3, 0], data.x_test[3, 1])  # grayscale expanded to RGB


def test_tinyimagenet_directly_under_root_and_bad_annotation(root):
    write_tinyimagenet(root, np.random.default_rng(8))
    annotations = root / "tiny-imagenet-200" / "val" / "val_annotations.txt"
    annotations.write_text(annotations.read_text() + "val_9.JPEG\tn00000000\t0\t0\t1\t1\n")
    with pytest.raises(UserError, match=r"val_annotations.txt line 5: .*wnid from wnids.txt"):
        load_dataset("tinyimagenet", root=root)


def test_missing_tinyimagenet_says_what_is_expected(root):
    with pytest.raises(UserError, match=r"tinyimagenet/tiny-imagenet-200/ with wnids.txt.*val_annotations.txt"):
        load_dataset("tinyimagenet", root=root)


# ---------------------------------------------------------------- caching and roots

def test_second_load_reads_the_cache(root):
    arrays = write_idx_folder(root / "mnist" / "MNIST" / "raw", np.random.default_rng(9))
    first = load_dataset("mnist", root=root)
    cache = cache_path("mnist", root)
    assert cache == root / "mnist" / "mnist.uint8.pt" and cache.is_file()
    saved = torch.load(cache, weights_only=True)
    assert set(saved) == {"x_train", "y_train", "x_test", "y_test"}
    for f in (root / "mnist" / "MNIST" / "raw").iterdir():  # the source is gone: only the cache is left
        f.unlink()
    second = load_dataset("mnist", root=root)
    _assert_idx_equal(second, arrays)
    assert torch.equal(first.x_train, second.x_train)
    assert locate("mnist", root) == cache
    assert not list(cache.parent.glob(".*.tmp"))  # written atomically, no stray temporaries
    umask = os.umask(0)
    os.umask(umask)
    assert cache.stat().st_mode & 0o777 == 0o666 & ~umask  # shareable like any file, not mkstemp's 0600


def test_corrupt_cache_is_decoded_again(root):
    arrays = write_idx_folder(root / "mnist" / "MNIST" / "raw", np.random.default_rng(10))
    load_dataset("mnist", root=root)
    cache = cache_path("mnist", root)
    cache.write_bytes(cache.read_bytes()[:100])
    with pytest.warns(UserWarning, match="ignoring unreadable dataset cache"):
        data = load_dataset("mnist", root=root)
    _assert_idx_equal(data, arrays)
    assert torch.load(cache, weights_only=True)["x_train"].shape == (7, 1, 28, 28)  # rewritten whole


def test_data_root_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("TICKETS_DATA", str(tmp_path / "env"))
    assert data_root() == (tmp_path / "env").resolve()
    assert data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    monkeypatch.delenv("TICKETS_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_root() == (tmp_path / "home" / ".cache" / "tickets" / "data").resolve()
