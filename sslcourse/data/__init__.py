"""Datasets as uint8 tensors: ``load_dataset(name, split, root)``.

Every dataset, embedded or real, comes back the same way::

    ds = load_dataset("shapes")        # or "cifar10", "stl10", "folder" (root = an ImageFolder)
    ds.images   # uint8 tensor (N, 3, H, W)
    ds.labels   # int64 tensor (N,)
    ds.classes  # list of class names

No PIL transforms and no DataLoader workers: the whole dataset is one tensor, moved to
the device once (all of CIFAR-10 is 150 MB), and batches are slices of it.

Every dataset also knows **what it is**: ``ds.fingerprint`` is a hash of its pixels, labels
and class names (computed once, kept with the cached data, carried through ``to`` and
``subset``). Checkpoints, baselines and results are keyed by it, so two image folders of
the same size never share a trained model or a baseline (``sslcourse.runs``).
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch

from ..config import DATASETS, cache_dir
from . import shapes
from .files import atomic_save, atomic_write_text, content_hash, fingerprint_of
from .real import load_cifar10, load_folder, load_stl10

__all__ = ["ImageDataset", "load_dataset", "load_profile_data", "check_images", "fingerprint_of", "atomic_save",
           "atomic_write_text", "DATASETS"]

SHAPES_SIZES = {"train": 10_000, "test": 2_000}
SHAPES_VERSION = 2  # the cache is also keyed by the generator's source code (shapes_code_version)


@dataclass
class ImageDataset:
    """Images (uint8, N×3×H×W), labels (int64, N) and class names, on one device.

    ``fingerprint`` identifies the contents (see :func:`fingerprint_of`); it is computed when
    not given, and derived cheaply for ``subset`` and carried by ``to``.
    """

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str = ""
    split: str = ""
    fingerprint: str = field(default="", repr=False, compare=False)
    memory_mapped: bool = field(default=False, repr=False, compare=False)  # images live in a file, not in memory

    def __post_init__(self):
        check_images(self.images, what=f"{self.name or 'dataset'} images")
        if self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must have shape ({len(self.images)},) to match the images, got {tuple(self.labels.shape)}"
            )
        if not self.fingerprint:
            self.fingerprint = fingerprint_of(self.images, self.labels, self.classes)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], self.labels[i]

    def __repr__(self) -> str:
        return (
            f"ImageDataset({self.name!r}, split={self.split!r}, images={tuple(self.images.shape)} "
            f"{self.images.dtype}, {len(self.classes)} classes, device={self.images.device})"
        )

    def to(self, device) -> "ImageDataset":
        """On ``device``. A memory-mapped dataset stays where it is (``fit`` moves one batch at a time)."""
        if self.memory_mapped:
            return self
        return ImageDataset(self.images.to(device), self.labels.to(device), self.classes, self.name, self.split,
                            self.fingerprint)

    def subset(self, n: int, seed: int = 0) -> "ImageDataset":
        """A random subset of ``n`` images (all of them if ``n`` >= len)."""
        if n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].to(self.images.device)
        return self.select(idx, f"subset(n={n}, seed={seed})")

    def select(self, index: torch.Tensor, how: str) -> "ImageDataset":
        """The images at ``index``; ``how`` names the selection, which with the parent's
        fingerprint gives the subset's (no rehashing of the pixels)."""
        index = index.to(self.images.device)
        return ImageDataset(self.images[index], self.labels[index], self.classes, self.name, self.split,
                            content_hash(self.fingerprint, how))


def check_images(images, what: str = "images") -> None:
    """Raise one clear error unless ``images`` is a uint8 tensor shaped (N, 3, H, W)."""
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of shape (N, 3, H, W), got {type(images).__name__}")
    if images.dim() != 4 or images.shape[1] != 3:
        hint = ""
        if images.dim() == 4 and images.shape[-1] == 3:
            hint = " — this looks channels-last (N, H, W, 3): use images.permute(0, 3, 1, 2)"
        elif images.dim() == 3:
            hint = " — a single image? use images.unsqueeze(0)"
        raise ValueError(f"{what} must have shape (N, 3, H, W), got {tuple(images.shape)}{hint}")
    if images.dtype != torch.uint8:
        raise ValueError(
            f"{what} must be uint8 (0..255), got {images.dtype}: use (x * 255).round().to(torch.uint8)"
        )


def shapes_code_version() -> str:
    """A hash of the generator's source: editing ``shapes.py`` gives new data, so new cache keys."""
    return content_hash(SHAPES_VERSION, inspect.getsource(shapes))[:8]


def _shapes(split: str, seed: int = 0) -> ImageDataset:
    n = SHAPES_SIZES[split]
    split_seed = seed * 2 + (split == "test")  # train and test never share a seed
    path = cache_dir() / f"shapes-v{SHAPES_VERSION}-{shapes_code_version()}-{split}-seed{seed}-n{n}.pt"
    if path.exists():
        try:
            saved = torch.load(path, weights_only=True)
            return ImageDataset(saved["images"], saved["labels"], list(shapes.CLASSES), "shapes", split,
                                saved["fingerprint"])
        except Exception:  # a truncated or older cache file: regenerate it
            pass
    images, labels = shapes.generate(n, seed=1000 + split_seed)
    ds = ImageDataset(images, labels, list(shapes.CLASSES), "shapes", split)
    atomic_save({"images": images, "labels": labels, "fingerprint": ds.fingerprint}, path)
    return ds


def load_dataset(name: str = "shapes", split: str = "train", root=None, image_size: int = 32,
                 download: bool = True, seed: int = 0, strict: bool | None = None,
                 memory_map: bool | None = None) -> ImageDataset:
    """Load a dataset as uint8 tensors.

    name: ``"shapes"`` (embedded, generated offline, cached), ``"cifar10"``, ``"stl10"``
      (torchvision download on first use into ``root``), or ``"folder"`` (``root`` is an
      ImageFolder: ``root/<class>/*.jpg``, or ``root/<split>/<class>/*.jpg``).
    split: ``"train"`` or ``"test"`` (STL-10 also ``"unlabeled"``, labels -1).
    image_size: STL-10 and folder images are resized to it (shapes and CIFAR-10 are 32).
    strict: folder only — fail on an unreadable image instead of skipping it with a warning
      (default: ``SSLCOURSE_STRICT_IMAGES=1`` in the environment, else skip).
    memory_map: folder only — map the decoded images from their cache file instead of reading them
      into memory (default: ``SSLCOURSE_MEMORY_MAP``, else when they would take over a quarter of RAM).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: valid datasets are {', '.join(DATASETS)}")
    valid_splits = ("train", "test", "unlabeled") if name == "stl10" else ("train", "test")
    if split not in valid_splits:
        raise ValueError(f"unknown split {split!r} for {name}: valid splits are {', '.join(valid_splits)}")
    if name == "shapes":
        return _shapes(split, seed)
    fingerprint, mapped = "", False
    if name == "cifar10":
        images, labels, classes = load_cifar10(split, root, download)
    elif name == "stl10":
        images, labels, classes = load_stl10(split, root, download, image_size)
    else:
        images, labels, classes, fingerprint, mapped = load_folder(split, root, image_size, strict=strict,
                                                                    memory_map=memory_map)
    return ImageDataset(images, labels, classes, name, split, fingerprint, mapped)


def load_profile_data(profile, train_size: int | None = None) -> tuple[ImageDataset, ImageDataset]:
    """The profile's (train, test) splits, on the profile's device (``train_size`` subsamples train).
    A smoke run (``profile.smoke``) takes ``SMOKE_SIZES`` images of each split."""
    from ..config import SMOKE_SIZES

    kw = dict(root=profile.root, image_size=profile.image_size)
    train = load_dataset(profile.dataset, "train", **kw)
    test = load_dataset(profile.dataset, "test", **kw)
    if getattr(profile, "smoke", False):
        train_size = min(train_size or SMOKE_SIZES["train"], SMOKE_SIZES["train"])
        test = test.subset(SMOKE_SIZES["test"])
    if train_size:
        train = train.subset(train_size)
    if len(test) < SMALL_TEST and not getattr(profile, "smoke", False):
        print(small_data_note(len(train), len(test)))
    return train.to(profile.device), test.to(profile.device)


SMALL_TEST = 1000  # below this many test images, accuracies carry a warning about their precision


def small_data_note(n_train: int, n_test: int) -> str:
    """What a small dataset's numbers can tell: an accuracy measured on ``n_test`` images is uncertain by about
    ±sqrt(p(1-p)/n) (one standard error, largest at p = 0.5)."""
    error = 100 * (0.25 / n_test) ** 0.5
    return (f"note: {n_train} training and {n_test} test images — a test accuracy from {n_test} images is uncertain by "
            f"about ±{error:.0f} points (one standard error), so differences smaller than about {2 * error:.0f} "
            "points between encoders mean little here, and the lessons' claims (measured on shapes) are shown, "
            "not judged")
