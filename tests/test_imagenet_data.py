"""The imagenet / imagefolder datasets (issue 18): layouts, labels, messages, views and the
streaming loader's determinism (worker count, ranks, resume point, both decoders)."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from jpeg_trees import LAYOUTS, write_tree
from registry.errors import UserError
from tickets.data import DATASETS, dataset_info, load_dataset, register_imagefolder, register_imagenet_like


@pytest.fixture
def registered():
    """Fresh dataset names per test, removed afterwards (registries are per process)."""
    names = []

    def register(kind="imagenet", **kwargs):
        name = f"t{uuid.uuid4().hex[:8]}"
        names.append(name)
        if kind == "imagenet":
            register_imagenet_like(name, **{"size": 32, "num_classes": 4, **kwargs})
        else:
            register_imagefolder(name, **{"size": 32, **kwargs})
        return name

    yield register
    for name in names:
        DATASETS.unregister(name)


def test_imagenet_is_declared_without_files():
    info = dataset_info("imagenet")
    assert (info.channels, info.size, info.num_classes) == (3, 224, 1000)
    assert info.mean == (0.485, 0.456, 0.406) and info.std == (0.229, 0.224, 0.225)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_val_layout_gives_the_same_labels(tmp_path, registered, layout):
    name = registered()
    names = write_tree(tmp_path / name, layout, per_class=2, val_per_class=2)
    data = load_dataset(name, root=tmp_path)
    assert data.classes == tuple(sorted(names))
    assert data.num_train == 8 and data.train_labels == (0, 0, 1, 1, 2, 2, 3, 3)
    # val image k*4 + c + 1 is of class c in every layout (devkit IDs are in reverse wnid order)
    by_number = {Path(f).stem: y for f, y in zip(data.test_files, data.test_labels)}
    assert by_number == {f"ILSVRC2012_val_{k * 4 + c + 1:08d}": c for k in range(2) for c in range(4)}


def test_devkit_mapping_matches_torchvisions_reading(tmp_path):
    """torchvision's parse_meta_mat (nested in parse_devkit_archive) reads the struct by position:
    field 4 = num_children, fields 0-2 = ID, wnid, words; ours reads by field name."""
    import scipy.io

    from tickets.data.imagenet import devkit_wnids

    write_tree(tmp_path, "devkit", per_class=1, val_per_class=1)
    meta = scipy.io.loadmat(str(tmp_path / "ILSVRC2012_devkit_t12" / "data" / "meta.mat"), squeeze_me=True)["synsets"]
    leaves = [meta[i] for i, n in enumerate(list(zip(*meta))[4]) if n == 0]
    idcs, wnids = list(zip(*leaves))[:2]
    assert devkit_wnids(tmp_path) == dict(zip(idcs, wnids)) and len(idcs) == 4


def test_kaggle_layout_and_missing_parts_are_named(tmp_path, registered):
    name = registered()
    kaggle = tmp_path / name / "ILSVRC" / "Data" / "CLS-LOC"
    write_tree(kaggle, "loc", per_class=1, val_per_class=1)
    (kaggle / "LOC_val_solution.csv").rename(tmp_path / name / "LOC_val_solution.csv")  # Kaggle keeps it on top
    assert load_dataset(name, root=tmp_path).num_test == 4
    from tickets.data.fingerprint import data_fingerprint

    assert data_fingerprint(name, tmp_path).startswith("files:")  # the listing, not decoded tensors

    other = registered()
    write_tree(tmp_path / other, "devkit", per_class=1, val_per_class=1)
    (tmp_path / other / "ILSVRC2012_devkit_t12" / "data" / "meta.mat").unlink()
    with pytest.raises(UserError, match=r"val is flat but neither .*meta.mat.*LOC_val_solution.csv"):
        load_dataset(other, root=tmp_path)
    rows = json.loads(CliRunner().invoke(__import__("tickets.cli.main", fromlist=["cli"]).cli,
                                         ["datasets", "--root", str(tmp_path), "--json"]).output)["datasets"]
    row = next(r for r in rows if r["dataset"] == other)
    assert row["present"] is False and "is flat but neither" in row["expected"]
    assert next(r for r in rows if r["dataset"] == name)["present"] is True


def test_a_non_jpeg_and_a_corrupt_jpeg_are_one_line_naming_the_file(tmp_path, registered):
    name = registered()
    write_tree(tmp_path / name, "folders", per_class=2, val_per_class=1)
    stray = tmp_path / name / "train" / "n01440764" / "notes.gif"
    stray.write_bytes(b"GIF89a")
    with pytest.raises(UserError, match=f"{stray} is not an image file"):
        load_dataset(name, root=tmp_path)
    stray.unlink()
    bad = tmp_path / name / "train" / "n01441764" / "n01441764_1.JPEG"
    bad.write_bytes(b"\xff\xd8 not really a jpeg")
    data = load_dataset(name, root=tmp_path)
    from tickets.train.streaming import StreamingLoader

    for loader in ("reference", "gpu"):
        with pytest.raises(UserError, match=f"cannot decode image {bad}") as err:
            for _ in StreamingLoader(data, 4, device=torch.device("cpu"), num_workers=0, loader=loader).batches(None):
                pass
        assert "\n" not in str(err.value)


def test_imagefolder_counts_its_classes_and_reads_png(tmp_path, registered):
    from PIL import Image

    folder = tmp_path / "mine"
    for split in ("train", "test"):
        for c in ("cat", "dog", "emu"):
            (folder / split / c).mkdir(parents=True)
            Image.new("RGB", (20, 30), (80 * ("cat", "dog", "emu").index(c), 0, 0)).save(folder / split / c / "a.png")
    name = registered("imagefolder", path=folder)
    assert dataset_info(name).num_classes == 3
    data = load_dataset(name)
    assert data.classes == ("cat", "dog", "emu") and data.test_labels == (0, 1, 2)
    from tickets.train.batches import eval_batches

    for loader in ("reference", "gpu"):
        (x, y), = list(eval_batches(data, 8, torch.device("cpu"), loader=loader, num_workers=0))
        assert x.shape == (3, 3, 32, 32) and y.tolist() == [0, 1, 2]


def _epoch(loader, seed=3, **kwargs):
    return [(x.clone(), y.clone()) for x, y in loader.batches(torch.Generator().manual_seed(seed), **kwargs)]


def _same(a, b):
    return len(a) == len(b) and all(torch.equal(x, u) and torch.equal(y, v) for (x, y), (u, v) in zip(a, b))


def test_batches_do_not_depend_on_workers_ranks_or_resume(tmp_path, registered):
    from tickets.train.streaming import StreamingLoader

    name = registered()
    write_tree(tmp_path / name, "folders", per_class=5, val_per_class=1)
    data = load_dataset(name, root=tmp_path)  # 20 images, batches of 6: 6, 6, 6, 2
    cpu = torch.device("cpu")
    for mode in ("reference", "gpu"):
        base = _epoch(StreamingLoader(data, 6, device=cpu, num_workers=0, loader=mode))
        assert len(base) == 4 and sum(len(y) for _, y in base) == 20
        assert _same(base, _epoch(StreamingLoader(data, 6, device=cpu, num_workers=2, loader=mode)))
        assert _same(base[2:], _epoch(StreamingLoader(data, 6, device=cpu, num_workers=0, loader=mode), start=2))
        shards = [_epoch(StreamingLoader(data, 6, device=cpu, num_workers=0, loader=mode), rank=r, world=4)
                  for r in range(4)]
        merged = [(torch.cat([s[b][0] for s in shards]), torch.cat([s[b][1] for s in shards])) for b in range(4)]
        assert _same(base, merged)
        assert not torch.equal(base[0][0], _epoch(StreamingLoader(data, 6, device=cpu, num_workers=0,
                                                                  loader=mode), seed=4)[0][0])
        if mode == "reference":
            reference = base
    # the two decoders make the same crops: they differ only by resampling/rounding
    diff = max(float((a - b).abs().max()) for (a, _), (b, _) in zip(reference, base))
    assert diff < 0.2, diff  # normalised units (std ~0.23): under one part in 255 of the range ~ 0.017


def test_data_check_views_match_the_tensor_checks(tmp_path, registered):
    from tickets.pruning.checks import CHECKS
    from tickets.pruning.file_checks import corrupt_view

    name = registered()
    write_tree(tmp_path / name, "folders", per_class=4, val_per_class=1)
    data = load_dataset(name, root=tmp_path)
    x = torch.arange(data.num_train).view(-1, 1, 1, 1).to(torch.uint8)  # image i "is" i
    for check in ("random_labels", "half_data", "half_data_seed", "corrupt"):
        xt, yt = CHECKS.get(check).corrupt_data(x, data.y_train, num_classes=4, seed=7)
        view = corrupt_view(CHECKS.get(check), data, num_classes=4, seed=7)
        if check != "corrupt":  # random_pixels reorders the stand-in images too
            assert [data.train_files.index(f) for f in view.train_files] == xt.flatten().tolist(), check
        assert list(view.train_labels) == yt.tolist(), check
        assert (view.pixel_seed is not None) == (check == "corrupt")
    # pixels are permuted per image after the crop: same values, other places
    from tickets.train.streaming import StreamingLoader

    view = corrupt_view(CHECKS.get("random_pixels"), data, num_classes=4, seed=7)
    every = (list(range(8)), list(range(8)), 5, True)  # positions, files, epoch seed, train crop
    plain = StreamingLoader(data, 8, device=torch.device("cpu"), num_workers=0).reader[every]["images"]
    mixed = StreamingLoader(view, 8, device=torch.device("cpu"), num_workers=0).reader[every]["images"]
    assert plain.dtype == torch.uint8 and not torch.equal(plain, mixed)
    assert torch.equal(plain.flatten(1).sort(1).values, mixed.flatten(1).sort(1).values)


def test_packing_refuses_streamed_datasets(tmp_path, registered):
    from tickets.config import TrainConfig
    from tickets.models import build_model
    from tickets.train.packed import PackedTrainer

    name = registered()
    write_tree(tmp_path / name, "folders", per_class=1, val_per_class=1)
    data = load_dataset(name, root=tmp_path)
    with pytest.raises(UserError, match="streamed from files"):
        PackedTrainer([build_model("cnn_small", data.info)], data, TrainConfig(), generators=[torch.Generator()],
                      device="cpu")


def test_new_training_options_stay_out_of_keys_at_their_defaults():
    from tickets.domain import DOMAIN

    cell = {"dataset": "cifar10", "model": "resnet32", "method": "lt", "sparsity": 0.9, "seed": 0}
    plain = [s.key for s in DOMAIN.expand(cell)]
    defaults = {"loader": "reference", "checkpoint_steps": 0, "checkpoint_minutes": 0.0}
    assert [s.key for s in DOMAIN.expand({**cell, "train": defaults})] == plain
    assert [s.key for s in DOMAIN.expand({**cell, "train": {"loader": "gpu"}})][0] != plain[0]
    with pytest.raises(UserError, match="unknown loader 'dali'"):
        DOMAIN.expand({**cell, "train": {"loader": "dali"}})
    plan = DOMAIN.expand({"dataset": "imagenet", "model": "cnn_small", "method": "dense", "sparsity": 0.0, "seed": 0})
    assert plan and plan[0].spec["dataset"] == "imagenet"  # plans without any ImageNet file


def test_evaluations_and_held_out_split_read_the_streamed_files(tmp_path, registered, monkeypatch):
    from dataclasses import replace

    from tickets.evals.run import test_images, test_logits
    from tickets.models import build_model
    from tickets.train.validation import split_files

    monkeypatch.setenv("TICKETS_LOADER_WORKERS", "0")
    name = registered()
    write_tree(tmp_path / name, "loc", per_class=4, val_per_class=2)
    data = load_dataset(name, root=tmp_path)
    net = build_model("cnn_small", data.info).eval()
    logits, labels = test_logits(net, data, batch_size=3)
    assert logits.shape == (8, 4) and labels.tolist() == list(data.test_labels)
    images, first = test_images(data, 5)
    assert images.shape == (5, 3, 32, 32) and images.dtype == torch.uint8 and first.tolist() == list(data.test_labels[:5])
    train, held = split_files(data, 0.25)
    assert train.num_train == 12 and held.num_test == 4
    assert set(train.train_files).isdisjoint(held.test_files)
    assert set(train.train_files) | set(held.test_files) == set(data.train_files)
    assert replace(held, test_files=()).num_test == 0
