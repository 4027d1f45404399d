"""Real photos: CIFAR-10, STL-10 and any ImageFolder, read straight into uint8 tensors.

Downloads go through torchvision's own downloader (``download_and_extract_archive``,
with its checksums). Reading is ours and short: the on-disk formats are simple (pickled
arrays for CIFAR-10, raw column-major bytes for STL-10), and reading them into one
tensor avoids building 50,000 PIL images only to turn them back into a tensor.
"""
from __future__ import annotations

import hashlib
import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import cache_dir, data_root

CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
STL10_FOLDER = "stl10_binary"
STL10_FILES = {"train": ("train_X.bin", "train_y.bin"), "test": ("test_X.bin", "test_y.bin"),
               "unlabeled": ("unlabeled_X.bin", None)}
STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset is missing and could not be downloaded; the message says what to do."""


def _download(kind: str, root: Path, folder: Path) -> None:
    """Download and extract with torchvision; on failure, one clear error naming the fix."""
    from torchvision.datasets import CIFAR10, STL10
    from torchvision.datasets.utils import download_and_extract_archive

    cls = CIFAR10 if kind == "cifar10" else STL10
    try:
        download_and_extract_archive(cls.url, str(root), filename=cls.filename, md5=cls.tgz_md5)
    except Exception as err:  # offline, proxy, checksum: the learner needs the same advice
        raise DatasetNotFoundError(
            f"{kind} is not in {folder} and could not be downloaded ({type(err).__name__}: {err}).\n"
            f"  Fix: download {cls.url} on a machine with network access and put "
            f"{cls.filename} (or the extracted folder {folder.name}/) in {root},\n"
            f"  or pass root=... / set SSLCOURSE_ROOT to where it is,\n"
            f"  or use the embedded dataset: load_dataset('shapes') / SSLCOURSE_DATASET=shapes."
        ) from err


def _missing(kind: str, folder: Path, files) -> None:
    raise DatasetNotFoundError(
        f"{kind} files missing in {folder}: {', '.join(files)}; downloads are off "
        f"(download=False or SSLCOURSE_NO_DOWNLOAD=1).\n"
        f"  Fix: put the files there (or pass root=... / set SSLCOURSE_ROOT), allow the download, "
        f"or use the embedded dataset: load_dataset('shapes') / SSLCOURSE_DATASET=shapes."
    )


def _ensure(kind: str, root, files: list[str], download: bool) -> Path:
    root = data_root(root)
    folder = root / (CIFAR10_FOLDER if kind == "cifar10" else STL10_FOLDER)
    missing = [f for f in files if not (folder / f).exists()]
    if missing:
        if not download or os.environ.get("SSLCOURSE_NO_DOWNLOAD") == "1":
            _missing(kind, folder, missing)
        _download(kind, root, folder)
    return folder


def load_cifar10(split: str, root=None, download: bool = True):
    """CIFAR-10 from its python pickles: (uint8 (N, 3, 32, 32), int64 (N,), classes)."""
    folder = _ensure("cifar10", root, CIFAR10_FILES[split] + ["batches.meta"], download)
    data, labels = [], []
    for name in CIFAR10_FILES[split]:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        data.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.extend(batch["labels"])
    with open(folder / "batches.meta", "rb") as f:
        classes = pickle.load(f, encoding="latin1")["label_names"]
    return torch.from_numpy(np.concatenate(data)), torch.tensor(labels, dtype=torch.int64), list(classes)


def load_stl10(split: str, root=None, download: bool = True, image_size: int = 32):
    """STL-10 from its binaries (96×96, column-major), resized to ``image_size``."""
    x_name, y_name = STL10_FILES[split]
    folder = _ensure("stl10", root, [x_name] + ([y_name] if y_name else []), download)
    raw = np.fromfile(folder / x_name, dtype=np.uint8)
    if raw.size % (3 * 96 * 96):
        raise ValueError(f"{folder / x_name} is truncated ({raw.size} bytes is not a whole number of 3×96×96 images)")
    images = torch.from_numpy(raw.reshape(-1, 3, 96, 96)).transpose(2, 3).contiguous()  # stored column-major
    if y_name:
        labels = torch.from_numpy(np.fromfile(folder / y_name, dtype=np.uint8).astype(np.int64) - 1)  # 1..10 on disk
    else:
        labels = torch.full((len(images),), -1, dtype=torch.int64)
    names_file = folder / "class_names.txt"
    classes = names_file.read_text().split() if names_file.exists() else list(STL10_CLASSES)
    return resize_uint8(images, image_size), labels, classes


def resize_uint8(images: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Resize uint8 (N, 3, H, W) to (N, 3, size, size), antialiased, in chunks."""
    if images.shape[-2:] == (size, size):
        return images
    out = torch.empty(len(images), 3, size, size, dtype=torch.uint8)
    for i in range(0, len(images), chunk):
        x = images[i:i + chunk].float()
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i:i + chunk] = x.round().clamp(0, 255).to(torch.uint8)
    return out


def _read_image(path: str, size: int) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        s = min(w, h)  # centre square crop, then resize: no distortion
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        if s != size:
            im = im.resize((size, size), Image.BICUBIC, reducing_gap=None)
        return np.asarray(im, dtype=np.uint8)


def load_folder(split: str, root, image_size: int = 32):
    """An ImageFolder of your own images: ``root/<split>/<class>/*`` or ``root/<class>/*``.

    Without split folders, every fifth image of each class (sorted by name) is the test
    split and the rest is train. Images are centre-cropped to a square and resized.
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS, find_classes, make_dataset

    if root is None:
        raise ValueError(
            "load_dataset('folder') needs root=... pointing at an ImageFolder "
            "(root/<class>/<image>.jpg, optionally under root/train and root/test)"
        )
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist: pass root=<folder with one sub-folder per class>")
    split_dir = root / split
    has_splits = (root / "train").is_dir() or (root / "test").is_dir()
    base = split_dir if has_splits else root
    if has_splits and not split_dir.is_dir():
        raise DatasetNotFoundError(f"{root} has split folders (train/, test/) but no {split}/ folder: add {split_dir}")
    try:
        classes, class_to_idx = find_classes(str(base))
        samples = make_dataset(str(base), class_to_idx, extensions=IMG_EXTENSIONS)
    except (FileNotFoundError, RuntimeError) as err:
        raise DatasetNotFoundError(
            f"no images found in {base} ({err}). Expected one sub-folder per class holding "
            f"image files ({', '.join(IMG_EXTENSIONS[:4])}, ...)"
        ) from err
    if not has_splits:
        samples = [s for k, s in enumerate(samples) if (k % 5 == 4) == (split == "test")]
    # decoded once, then cached: keyed by the files, their sizes and times, and the image size
    stats = [(p, st.st_size, st.st_mtime_ns) for p, st in ((p, os.stat(p)) for p, _ in samples)]
    key = hashlib.sha1(repr([image_size] + stats).encode()).hexdigest()[:16]
    cache = cache_dir() / f"folder-{key}.pt"
    if cache.exists():
        images, labels = torch.load(cache, weights_only=True)
        return images, labels, classes
    with ThreadPoolExecutor() as pool:  # PIL releases the GIL while decoding
        arrays = list(pool.map(lambda s: _read_image(s[0], image_size), samples, chunksize=256))
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    labels = torch.tensor([s[1] for s in samples], dtype=torch.int64)
    from . import atomic_save

    atomic_save((images, labels), cache)
    return images, labels, classes
