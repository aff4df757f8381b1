"""ImageNet (ILSVRC-2012) and any folder of class sub-folders, as file-backed (streamed) datasets.

`imagenet` is found under `<root>/imagenet/`, `<root>/ILSVRC2012/` or the Kaggle layout
`<root>/imagenet/ILSVRC/Data/CLS-LOC/`, with `train/<wnid>/*.JPEG` and the validation set (the test
set) in one of the layouts people have:
  1. `val/<wnid>/*.JPEG` (class folders, e.g. after torchvision's or the usual valprep script);
  2. a flat `val/ILSVRC2012_val_XXXXXXXX.JPEG` with the devkit's ground truth,
     `ILSVRC2012_devkit_t12/data/meta.mat` + `ILSVRC2012_validation_ground_truth.txt` (ILSVRC2012_ID
     per image, mapped to a wnid through meta.mat's leaf synsets, as torchvision's ImageNet does);
  3. a flat `val/` with `LOC_val_solution.csv` (Kaggle: `ImageId,PredictionString`, first token the wnid)
     in the dataset folder or one of its three parents.
Class index = position of the wnid in the sorted training class folders (ImageFolder/ImageNet order).

`register_imagefolder(name, path)` declares a user's own folder of class sub-folders
(`<path>/train/<class>/*`, `<path>/val/<class>/*` or `<path>/test/<class>/*`) as the dataset `name`,
e.g. in a plugin module (TICKETS_PLUGINS); `register_imagenet_like(name, size=...)` registers the
ImageNet layouts under another name and image size (tests train 32-px crops of small trees)."""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Sequence

from registry.errors import UserError
from tickets.data.base import DATASETS, DatasetSource
from tickets.data.files import (
    IMAGE_SUFFIXES,
    JPEG_SUFFIXES,
    FileData,
    check_classes,
    class_folders,
    image_files,
    scan_class_tree,
)
from tickets.data.info import DatasetInfo

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGENET = DatasetInfo("imagenet", 3, 224, 1000, mean=IMAGENET_MEAN, std=IMAGENET_STD)
DEVKIT = Path("ILSVRC2012_devkit_t12") / "data"
META, GROUND_TRUTH = "meta.mat", "ILSVRC2012_validation_ground_truth.txt"
LOC_CSV = "LOC_val_solution.csv"
VAL_NAME = re.compile(r"ILSVRC2012_val_(\d{8})\.", re.IGNORECASE)


def candidates(root: Path, name: str) -> list[Path]:
    folders = [root / name, root / name / "ILSVRC" / "Data" / "CLS-LOC"]
    if name == "imagenet":
        folders += [root / "ILSVRC2012", root / "ILSVRC" / "Data" / "CLS-LOC"]
    return folders


def val_layout(folder: Path) -> str | None:
    """"folders", "devkit", "loc" or None (labels missing) for the val/ of an ImageNet folder."""
    val = folder / "val"
    if not val.is_dir():
        return None
    if class_folders(val):
        return "folders"
    if (folder / DEVKIT / META).is_file() and (folder / DEVKIT / GROUND_TRUTH).is_file():
        return "devkit"
    if loc_csv(folder) is not None:
        return "loc"
    return None


def loc_csv(folder: Path) -> Path | None:
    for parent in [folder, *list(folder.parents)[:3]]:
        if (parent / LOC_CSV).is_file():
            return parent / LOC_CSV
    return None


def imagenet_locator(name: str):
    def locate(root: Path) -> Path | None:
        for folder in candidates(root, name):
            if (folder / "train").is_dir() and val_layout(folder) is not None:
                return folder
        return None

    return locate


def imagenet_expected(name: str):
    def expected(root: Path) -> str:
        want = (f"{root / name}/ with train/<wnid>/*.JPEG and either val/<wnid>/*.JPEG, or a flat "
                f"val/ with {DEVKIT / META} + {DEVKIT / GROUND_TRUTH}, or a flat val/ with {LOC_CSV} "
                f"(also accepted: the Kaggle folder {name}/ILSVRC/Data/CLS-LOC/)")
        for folder in candidates(root, name):
            if not folder.is_dir():
                continue
            if not (folder / "train").is_dir():
                return f"{want}; {folder} has no train/"
            if not (folder / "val").is_dir():
                return f"{want}; {folder} has no val/"
            return (f"{want}; {folder / 'val'} is flat but neither {folder / DEVKIT / META} with "
                    f"{GROUND_TRUTH} nor {LOC_CSV} is there")
        return want

    return expected


def devkit_wnids(folder: Path) -> dict[int, str]:
    """ILSVRC2012_ID -> wnid of the 1000 leaf synsets in the devkit's meta.mat."""
    import scipy.io

    path = folder / DEVKIT / META
    try:
        synsets = scipy.io.loadmat(str(path), squeeze_me=True)["synsets"]
        return {int(s["ILSVRC2012_ID"]): str(s["WNID"]) for s in synsets if int(s["num_children"]) == 0}
    except Exception as exc:  # not a .mat, no synsets struct, other fields
        raise UserError(f"{path} is not the ILSVRC2012 devkit's meta.mat ({type(exc).__name__}: {exc})") from None


def val_number(path: str) -> int:
    match = VAL_NAME.search(Path(path).name)
    if match is None:
        raise UserError(f"{path}: a flat val/ needs ILSVRC2012_val_XXXXXXXX.JPEG file names to match "
                        f"its ground truth")
    return int(match.group(1))


def devkit_labels(folder: Path, files: Sequence[str], index: dict[str, int]) -> list[int]:
    wnid_of = devkit_wnids(folder)
    gt_path = folder / DEVKIT / GROUND_TRUTH
    truth = [line.strip() for line in gt_path.read_text().splitlines() if line.strip()]
    labels = []
    for path in files:
        number = val_number(path)
        if number > len(truth):
            raise UserError(f"{path} has no line in {gt_path} ({len(truth)} lines)")
        try:
            wnid = wnid_of[int(truth[number - 1])]
        except (ValueError, KeyError):
            raise UserError(f"{gt_path} line {number}: {truth[number - 1]!r} is not an ILSVRC2012_ID of "
                            f"{folder / DEVKIT / META}") from None
        labels.append(_index(index, wnid, path))
    return labels


def loc_labels(csv_path: Path, files: Sequence[str], index: dict[str, int]) -> list[int]:
    with open(csv_path, newline="") as fh:
        rows = csv.DictReader(fh)
        if rows.fieldnames is None or not {"ImageId", "PredictionString"} <= set(rows.fieldnames):
            raise UserError(f"{csv_path}: expected the header ImageId,PredictionString")
        wnid_of = {row["ImageId"]: (row["PredictionString"] or "").split()[:1] for row in rows}
    labels = []
    for path in files:
        found = wnid_of.get(Path(path).stem)
        if not found:
            raise UserError(f"{path} has no row in {csv_path}")
        labels.append(_index(index, found[0], path))
    return labels


def _index(index: dict[str, int], wnid: str, path: str) -> int:
    if wnid not in index:
        raise UserError(f"{path} is labelled {wnid}, which is not a class folder of train/")
    return index[wnid]


def scan_imagenet(folder: Path, info: DatasetInfo) -> FileData:
    train_files, train_labels, classes = scan_class_tree(folder / "train", suffixes=JPEG_SUFFIXES)
    check_classes(info, classes, folder / "train")
    index = {wnid: i for i, wnid in enumerate(classes)}
    layout = val_layout(folder)
    if layout == "folders":
        test_files, test_labels, _ = scan_class_tree(folder / "val", classes, suffixes=JPEG_SUFFIXES)
    else:
        test_files = image_files(folder / "val", JPEG_SUFFIXES)
        if not test_files:
            raise UserError(f"no images in {folder / 'val'}")
        if layout == "devkit":
            test_labels = devkit_labels(folder, test_files, index)
        else:
            test_labels = loc_labels(loc_csv(folder), test_files, index)
    return FileData(info, tuple(train_files), tuple(train_labels), tuple(test_files), tuple(test_labels),
                    classes=tuple(classes))


def register_streaming(info: DatasetInfo, locate, scan, expected, *, replace: bool = False) -> DatasetInfo:
    """Register a file-backed dataset: `scan(folder, info) -> FileData` replaces decoding."""
    source = DatasetSource(info, locate, lambda folder: scan(Path(folder), info), expected,
                           cached=False, files=True)
    if replace and info.name in DATASETS.names():
        DATASETS.unregister(info.name)
    DATASETS.register(info.name)(source)
    return info


def register_imagenet_like(name: str, *, size: int = 224, num_classes: int = 1000,
                           mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD,
                           replace: bool = False) -> DatasetInfo:
    """The ImageNet layouts under `<root>/<name>/`, trained and evaluated at `size` px crops."""
    info = DatasetInfo(name, 3, int(size), int(num_classes), mean=tuple(mean), std=tuple(std))
    return register_streaming(info, imagenet_locator(name), scan_imagenet, imagenet_expected(name),
                              replace=replace)


register_streaming(IMAGENET, imagenet_locator("imagenet"), scan_imagenet, imagenet_expected("imagenet"))


# --------------------------------------------------------------------------- user folders

TEST_SPLITS = ("val", "test")


def folder_locator(name: str, path: str | Path | None):
    def locate(root: Path) -> Path | None:
        folder = Path(path).expanduser() if path is not None else root / name
        if (folder / "train").is_dir() and any((folder / s).is_dir() for s in TEST_SPLITS):
            return folder
        return None

    return locate


def folder_expected(name: str, path: str | Path | None):
    def expected(root: Path) -> str:
        folder = Path(path).expanduser() if path is not None else root / name
        return f"{folder}/ with train/<class>/<image> and val/<class>/<image> (or test/<class>/<image>)"

    return expected


def scan_folder(folder: Path, info: DatasetInfo) -> FileData:
    train_files, train_labels, classes = scan_class_tree(folder / "train")
    check_classes(info, classes, folder / "train")
    split = next(s for s in TEST_SPLITS if (folder / s).is_dir())
    test_files, test_labels, _ = scan_class_tree(folder / split, classes)
    return FileData(info, tuple(train_files), tuple(train_labels), tuple(test_files), tuple(test_labels),
                    classes=tuple(classes))


def register_imagefolder(name: str, path: str | Path | None = None, *, size: int = 224,
                         num_classes: int | None = None, mean: tuple[float, ...] = IMAGENET_MEAN,
                         std: tuple[float, ...] = IMAGENET_STD, replace: bool = False) -> DatasetInfo:
    """Declare a folder of class sub-folders as the streamed dataset `name` (kind "imagefolder").

    The folder is `path`, else `<data root>/<name>/`; it holds `train/<class>/*` and `val/<class>/*`
    (or `test/`), JPEG or PNG. Classes are the sorted train/ sub-folders. `num_classes` defaults to
    their count (read now, so `dataset_info(name)` needs no file later); images are trained as
    RandomResizedCrop(size) + flip and evaluated as Resize(size·256/224) + CenterCrop(size)."""
    if num_classes is None:
        folder = Path(path).expanduser() if path is not None else None
        if folder is None:
            from tickets.data.base import data_root

            folder = data_root() / name
        if not (folder / "train").is_dir():
            raise UserError(f"imagefolder {name}: {folder / 'train'} does not exist; pass num_classes= "
                            f"to declare the dataset before its files are there")
        num_classes = len(class_folders(folder / "train"))
    info = DatasetInfo(name, 3, int(size), int(num_classes), mean=tuple(mean), std=tuple(std))
    return register_streaming(info, folder_locator(name, path), scan_folder, folder_expected(name, path),
                              replace=replace)


__all__ = ["IMAGENET", "IMAGE_SUFFIXES", "register_imagefolder", "register_imagenet_like", "scan_imagenet"]
