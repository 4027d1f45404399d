"""Datasets as uint8 tensors: ``load_dataset(name, split, root)``.

Every dataset, embedded or real, comes back the same way::

    ds = load_dataset("shapes")        # or "cifar10", "stl10", "folder" (root = an ImageFolder)
    ds.images   # uint8 tensor (N, 3, H, W)
    ds.labels   # int64 tensor (N,)
    ds.classes  # list of class names

No PIL transforms and no DataLoader workers: the whole dataset is one tensor, moved to
the device once (all of CIFAR-10 is 150 MB), and batches are slices of it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..config import DATASETS, cache_dir
from . import shapes
from .real import load_cifar10, load_folder, load_stl10

__all__ = ["ImageDataset", "load_dataset", "load_profile_data", "check_images", "DATASETS"]

SHAPES_SIZES = {"train": 10_000, "test": 2_000}
SHAPES_VERSION = 2  # bump when the generator changes, so stale caches are not used


@dataclass
class ImageDataset:
    """Images (uint8, N×3×H×W), labels (int64, N) and class names, on one device."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: list[str]
    name: str = ""
    split: str = ""

    def __post_init__(self):
        check_images(self.images, what=f"{self.name or 'dataset'} images")
        if self.labels.shape != (len(self.images),):
            raise ValueError(
                f"labels must have shape ({len(self.images)},) to match the images, got {tuple(self.labels.shape)}"
            )

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
        return ImageDataset(self.images.to(device), self.labels.to(device), self.classes, self.name, self.split)

    def subset(self, n: int, seed: int = 0) -> "ImageDataset":
        """A random subset of ``n`` images (all of them if ``n`` >= len)."""
        if n >= len(self):
            return self
        idx = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].to(self.images.device)
        return ImageDataset(self.images[idx], self.labels[idx], self.classes, self.name, self.split)


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


def _shapes(split: str, seed: int = 0) -> ImageDataset:
    n = SHAPES_SIZES[split]
    split_seed = seed * 2 + (split == "test")  # train and test never share a seed
    path = cache_dir() / f"shapes-v{SHAPES_VERSION}-{split}-seed{seed}-n{n}.pt"
    if path.exists():
        try:
            images, labels = torch.load(path, weights_only=True)
            return ImageDataset(images, labels, list(shapes.CLASSES), "shapes", split)
        except Exception:  # a truncated cache file: regenerate it
            pass
    images, labels = shapes.generate(n, seed=1000 + split_seed)
    atomic_save((images, labels), path)
    return ImageDataset(images, labels, list(shapes.CLASSES), "shapes", split)


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_dataset(name: str = "shapes", split: str = "train", root=None, image_size: int = 32,
                 download: bool = True, seed: int = 0) -> ImageDataset:
    """Load a dataset as uint8 tensors.

    name: ``"shapes"`` (embedded, generated offline, cached), ``"cifar10"``, ``"stl10"``
      (torchvision download on first use into ``root``), or ``"folder"`` (``root`` is an
      ImageFolder: ``root/<class>/*.jpg``, or ``root/<split>/<class>/*.jpg``).
    split: ``"train"`` or ``"test"`` (STL-10 also ``"unlabeled"``, labels -1).
    image_size: STL-10 and folder images are resized to it (shapes and CIFAR-10 are 32).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}: valid datasets are {', '.join(DATASETS)}")
    valid_splits = ("train", "test", "unlabeled") if name == "stl10" else ("train", "test")
    if split not in valid_splits:
        raise ValueError(f"unknown split {split!r} for {name}: valid splits are {', '.join(valid_splits)}")
    if name == "shapes":
        return _shapes(split, seed)
    if name == "cifar10":
        images, labels, classes = load_cifar10(split, root, download)
    elif name == "stl10":
        images, labels, classes = load_stl10(split, root, download, image_size)
    else:
        images, labels, classes = load_folder(split, root, image_size)
    return ImageDataset(images, labels, classes, name, split)


def load_profile_data(profile, train_size: int | None = None) -> tuple[ImageDataset, ImageDataset]:
    """The profile's (train, test) splits, on the profile's device (``train_size`` subsamples train)."""
    kw = dict(root=profile.root, image_size=profile.image_size)
    train = load_dataset(profile.dataset, "train", **kw)
    test = load_dataset(profile.dataset, "test", **kw)
    if train_size:
        train = train.subset(train_size)
    return train.to(profile.device), test.to(profile.device)
