"""Real photos: CIFAR-10, STL-10 and any ImageFolder, read straight into uint8 tensors.

Downloads go through torchvision's own downloader (``download_and_extract_archive``,
with its checksums). Reading is ours and short: the on-disk formats are simple (pickled
arrays for CIFAR-10, raw column-major bytes for STL-10), and reading them into one
tensor avoids building 50,000 PIL images only to turn them back into a tensor.
"""
from __future__ import annotations

import os
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import cache_dir, data_root
from .files import atomic_save, content_hash, fingerprint_of

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


class BadImagesWarning(UserWarning):
    """Some files of an image folder could not be read and were skipped."""


def _read_image(path: str, size: int) -> np.ndarray:
    """One image file -> (size, size, 3) uint8: centre square crop, then resize (no distortion)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.mode.startswith("I"):  # 16- or 32-bit grayscale (e.g. a 16-bit PNG): keep the top 8 bits
            wide = np.asarray(im, dtype=np.int64).clip(0, 65535)
            im = Image.fromarray((wide >> 8).astype(np.uint8), "L")
        im = im.convert("RGB")  # also CMYK, palette, gray, alpha
        w, h = im.size
        s = min(w, h)
        im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
        if s != size:
            im = im.resize((size, size), Image.BICUBIC, reducing_gap=None)
        return np.asarray(im, dtype=np.uint8)


def _try_read(path: str, size: int):
    """(array, None) for a good file, (None, reason) for one that cannot be read."""
    from PIL import UnidentifiedImageError

    try:
        if os.path.getsize(path) == 0:
            return None, "empty file (0 bytes)"
        return _read_image(path, size), None
    except UnidentifiedImageError:
        return None, "not an image PIL can read"
    except (OSError, ValueError, SyntaxError) as err:  # PIL reports damage as any of these
        reason = str(err).strip() or type(err).__name__
        return None, ("truncated or damaged: " + reason) if "trunc" in reason.lower() else reason
    except Exception as err:  # e.g. a decompression bomb: never sink the whole folder for one file
        return None, f"{type(err).__name__}: {err}"


def _strict_default(strict: bool | None) -> bool:
    return os.environ.get("SSLCOURSE_STRICT_IMAGES") == "1" if strict is None else strict


def _warn_skipped(skipped: list, total: int, base: Path) -> None:
    import warnings

    first = "; ".join(f"{Path(p).relative_to(base)} ({why})" for p, why in skipped[:3])
    more = f" and {len(skipped) - 3} more" if len(skipped) > 3 else ""
    warnings.warn(
        f"skipped {len(skipped)} unreadable image(s) of {total} in {base}: {first}{more}. "
        "Delete or repair them, or pass strict=True (SSLCOURSE_STRICT_IMAGES=1) to stop on the first one.",
        BadImagesWarning, stacklevel=4)


def _warn_empty_classes(empty: list, base: Path) -> None:
    import warnings

    warnings.warn(
        f"class folder(s) {', '.join(repr(c) for c in empty)} in {base} hold no readable image: the class stays "
        "in the class list (labels keep their numbers) but has no examples. Add images or remove the folder.",
        BadImagesWarning, stacklevel=4)


def _class_folders(base: Path) -> list[str]:
    return sorted(d.name for d in os.scandir(base) if d.is_dir() and not d.name.startswith("."))


def load_folder(split: str, root, image_size: int = 32, strict: bool | None = None, memory_map: bool | None = None):
    """An ImageFolder of your own images: ``root/<split>/<class>/*`` or ``root/<class>/*``.

    Without split folders, every fifth image of each class (sorted by name) is the test
    split and the rest is train. Images are centre-cropped to a square and resized.
    Unreadable files (truncated, empty, not images) are skipped with one warning that
    counts and names them; ``strict=True`` stops at the first instead. Returns
    (images, labels, classes, fingerprint, memory_mapped).

    The decoded images are cached as one uint8 ``.npy`` array, written chunk by chunk (a folder
    larger than memory never has to fit in it) and committed by a small metadata file written
    last, so a cache is whole or absent. ``memory_map`` (default: ``SSLCOURSE_MEMORY_MAP``, else
    when the images would take more than a quarter of this machine's memory) maps that file
    instead of reading it: training then reads only the batches it needs (``train.fit``).
    """
    from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

    if root is None:
        raise ValueError(
            "load_dataset('folder') needs root=... pointing at an ImageFolder "
            "(root/<class>/<image>.jpg, optionally under root/train and root/test)"
        )
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist: pass root=<folder with one sub-folder per class>")
    strict = _strict_default(strict)
    split_dir = root / split
    has_splits = (root / "train").is_dir() or (root / "test").is_dir()
    base = split_dir if has_splits else root
    if has_splits and not split_dir.is_dir():
        raise DatasetNotFoundError(f"{root} has split folders (train/, test/) but no {split}/ folder: add {split_dir}")
    classes = _class_folders(base)
    if has_splits:
        other = root / ("test" if split == "train" else "train")
        if other.is_dir() and _class_folders(other) != classes:
            a, b = set(classes), set(_class_folders(other))
            raise DatasetNotFoundError(
                f"{base} and {other} have different class folders (only in {split}/: {sorted(a - b) or 'none'}; "
                f"only in {other.name}/: {sorted(b - a) or 'none'}): labels would not match between the splits. "
                "Give both splits the same class folders (an empty one is allowed)")
    samples = make_dataset(str(base), {c: i for i, c in enumerate(classes)}, extensions=IMG_EXTENSIONS,
                           allow_empty=True) if classes else []
    if not samples:
        raise DatasetNotFoundError(
            f"no images found in {base}. Expected one sub-folder per class holding image files "
            f"({', '.join(IMG_EXTENSIONS[:4])}, ...)")
    if not has_splits:
        samples = [s for k, s in enumerate(samples) if (k % 5 == 4) == (split == "test")]
    # decoded once, then cached: keyed by the files, their sizes and times, and the image size
    stats = [(p, st.st_size, st.st_mtime_ns) for p, st in ((p, os.stat(p)) for p, _ in samples)]
    key = cache_dir() / f"folder-{content_hash([image_size, classes] + stats)}"
    saved = read_mapped_cache(key, memory_map)
    if saved is None:
        _decode_into_cache(samples, image_size, classes, key, strict, base)
        saved = read_mapped_cache(key, memory_map)
    if saved["skipped"]:
        if strict:
            path, why = saved["skipped"][0]
            raise DatasetNotFoundError(f"cannot read {path}: {why}. Delete or repair it, or load without strict")
        _warn_skipped(saved["skipped"], len(samples), base)
    present = set(saved["labels"].unique().tolist())
    empty = [c for i, c in enumerate(classes) if i not in present]
    if empty:
        _warn_empty_classes(empty, base)
    return saved["images"], saved["labels"], classes, saved["fingerprint"], saved["memory_mapped"]


CHUNK_IMAGES = 4096


class MappedWriter:
    """Writes images chunk by chunk into ``<key>.npy`` (N, 3, S, S) uint8 and, on ``commit``, the metadata
    ``<key>.pt`` (labels, count, fingerprint, skipped files) — last, as the cache's commit mark. Nothing
    has to fit in memory at once; an exception before ``commit`` leaves no cache behind."""

    def __init__(self, key: Path, capacity: int, image_size: int):
        import tempfile

        self.key = Path(key)
        self.key.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(prefix=f".{self.key.name}.", suffix=".npy", dir=self.key.parent)
        os.close(fd)
        self.array = np.lib.format.open_memmap(self.tmp, mode="w+", dtype=np.uint8,
                                               shape=(capacity, 3, image_size, image_size))
        self.labels, self.count = [], 0

    def append(self, images: np.ndarray, labels) -> None:
        """images: uint8 (k, 3, S, S); labels: k ints."""
        self.array[self.count:self.count + len(images)] = images
        self.labels.extend(int(y) for y in labels)
        self.count += len(images)

    def commit(self, classes, skipped=()) -> None:
        self.array.flush()
        labels = torch.tensor(self.labels, dtype=torch.int64)
        fingerprint = fingerprint_of(_as_tensor(self.array[:self.count]), labels, classes)  # reads back, in pages
        del self.array
        os.replace(self.tmp, self.key.with_suffix(".npy"))
        atomic_save({"labels": labels, "count": self.count, "fingerprint": fingerprint, "skipped": list(skipped)},
                    self.key.with_suffix(".pt"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        Path(self.tmp).unlink(missing_ok=True)


def _decode_into_cache(samples, image_size: int, classes, key: Path, strict: bool, base: Path) -> None:
    """Decode ``samples`` chunk by chunk into the cache at ``key`` (see :class:`MappedWriter`)."""
    skipped = []
    with MappedWriter(key, len(samples), image_size) as writer, ThreadPoolExecutor() as pool:
        for start in range(0, len(samples), CHUNK_IMAGES):  # PIL releases the GIL while decoding
            chunk = samples[start:start + CHUNK_IMAGES]
            good, labels = [], []
            for (path, label), (img, why) in zip(chunk, pool.map(lambda s: _try_read(s[0], image_size), chunk)):
                if why is None:
                    good.append(img.transpose(2, 0, 1))
                    labels.append(label)
                elif strict:
                    raise DatasetNotFoundError(
                        f"cannot read {path}: {why}. Delete or repair it, or load without strict "
                        "(unset SSLCOURSE_STRICT_IMAGES) to skip unreadable files with a warning")
                else:
                    skipped.append([path, why])
            if good:
                writer.append(np.stack(good), labels)
        if writer.count == 0:
            raise DatasetNotFoundError(f"none of the {len(samples)} image files in {base} could be read "
                                       f"(first: {skipped[0][0]}: {skipped[0][1]})")
        writer.commit(classes, skipped)


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing a (read-only, memory-mapped) array's memory: no copy."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array)


def _should_map(nbytes: int, memory_map: bool | None) -> bool:
    if memory_map is not None:
        return memory_map
    env = os.environ.get("SSLCOURSE_MEMORY_MAP")
    if env in ("0", "1"):
        return env == "1"
    try:
        ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return False
    return nbytes > ram / 4


def read_mapped_cache(key: Path, memory_map: bool | None = None) -> dict | None:
    """The cache written by ``_decode_into_cache`` (None if absent or damaged): images memory-mapped
    or read into memory (see ``load_folder``)."""
    meta_path, npy_path = key.with_suffix(".pt"), key.with_suffix(".npy")
    if not (meta_path.exists() and npy_path.exists()):
        return None
    try:
        meta = torch.load(meta_path, weights_only=True)
        array = np.load(npy_path, mmap_mode="r")[: meta["count"]]
    except Exception:  # damaged: decoded again
        return None
    mapped = _should_map(array.nbytes, memory_map)
    images = _as_tensor(array) if mapped else torch.from_numpy(np.array(array))
    return {**meta, "images": images, "memory_mapped": mapped}
