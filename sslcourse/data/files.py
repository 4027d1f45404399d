"""Files that are never half-written, and the fingerprint that identifies a dataset's contents."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import torch


def content_hash(*parts) -> str:
    h = hashlib.sha1()
    for part in parts:
        h.update(part if isinstance(part, (bytes, memoryview)) else repr(part).encode())
    return h.hexdigest()[:16]


def fingerprint_of(images: torch.Tensor, labels: torch.Tensor, classes=()) -> str:
    """A 16-hex-digit hash of every pixel, every label, the shape and the class names.

    The identity of a dataset: two datasets with the same fingerprint hold the same images
    with the same labels. About 0.3 s for all of CIFAR-10 (sha1 over 150 MB); tensors on
    another device are copied to the CPU for it.
    """
    if images.device.type == "meta":
        return "meta"  # no data to hash: the device-guard tests use meta tensors
    pixels = images.detach().cpu().contiguous()
    return content_hash(tuple(pixels.shape), str(pixels.dtype), memoryview(pixels.numpy()).cast("B"),
                        memoryview(labels.detach().cpu().to(torch.int64).contiguous().numpy()).cast("B"), list(classes))


def atomic_save(obj, path: Path) -> None:
    """``torch.save`` to a temporary file of its own, then rename: a crash never leaves half a
    file, and two processes saving the same path at once never mix their bytes (each writes
    its own uniquely named temporary file; the last rename wins, whole)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file (a results JSON) through a temporary file and a rename: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
