"""Small ImageNet-layout JPEG trees written by the tests (PIL), in each validation layout.

Images of class c are noise around the grey level 40 + 50·c, so a tiny network separates them in
one epoch. Wnids are assigned ILSVRC2012_IDs in REVERSE sorted order, as in the real devkit the
ID order differs from the sorted-wnid class order, so a mix-up of the two shows."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

LAYOUTS = ("folders", "devkit", "loc")


def wnids(classes: int) -> list[str]:
    return [f"n{1440764 + 1000 * i:08d}" for i in range(classes)]


def _image(rng, c: int, size: tuple[int, int]):
    from PIL import Image

    a = np.clip(rng.normal(40 + 50 * c, 20, (size[0], size[1], 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(a)


def write_devkit(folder: Path, names: list[str]) -> dict[str, int]:
    """ILSVRC2012_devkit_t12/data/meta.mat in the devkit's struct layout (one non-leaf synset too)."""
    import scipy.io

    fields = ["ILSVRC2012_ID", "WNID", "words", "gloss", "num_children", "children", "wordnet_height",
              "num_train_images"]
    ids = {w: len(names) - i for i, w in enumerate(names)}  # reverse order
    rows = [(ids[w], w, f"class {w}", "gloss", 0, np.zeros((0,), np.uint8), 0, 8) for w in names]
    rows.append((len(names) + 1, "n00001740", "entity", "gloss", len(names),
                 np.array([ids[w] for w in names], dtype=np.uint8), 5, 0))
    synsets = np.zeros((len(rows), 1), dtype=[(f, object) for f in fields])
    for i, row in enumerate(rows):
        for f, v in zip(fields, row):
            synsets[i, 0][f] = v
    data = folder / "ILSVRC2012_devkit_t12" / "data"
    data.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(data / "meta.mat"), {"synsets": synsets})
    return ids


def write_tree(folder: Path, layout: str = "folders", *, classes: int = 4, per_class: int = 8,
               val_per_class: int = 4, size: tuple[int, int] = (40, 48), seed: int = 0) -> list[str]:
    """`folder`/train/<wnid>/*.JPEG plus a val/ in `layout`; returns the wnids in class order."""
    rng = np.random.default_rng(seed)
    names = wnids(classes)
    for c, w in enumerate(names):
        (folder / "train" / w).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            _image(rng, c, size).save(folder / "train" / w / f"{w}_{k}.JPEG", quality=90)
    val = folder / "val"
    val.mkdir(parents=True, exist_ok=True)
    truth = []  # (file stem, wnid) in file-number order
    number = 0
    for k in range(val_per_class):
        for c, w in enumerate(names):
            number += 1
            stem = f"ILSVRC2012_val_{number:08d}"
            if layout == "folders":
                (val / w).mkdir(exist_ok=True)
                _image(rng, c, size).save(val / w / f"{stem}.JPEG", quality=90)
            else:
                _image(rng, c, size).save(val / f"{stem}.JPEG", quality=90)
            truth.append((stem, w))
    if layout == "devkit":
        ids = write_devkit(folder, names)
        gt = folder / "ILSVRC2012_devkit_t12" / "data" / "ILSVRC2012_validation_ground_truth.txt"
        gt.write_text("".join(f"{ids[w]}\n" for _, w in truth))
    elif layout == "loc":
        with open(folder / "LOC_val_solution.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["ImageId", "PredictionString"])
            for stem, w in truth:
                writer.writerow([stem, f"{w} 1 2 30 40 {w} 3 4 20 20"])
    return names
