"""Exercise 02 — every image in all four rotations, with labels that line up.

Graded function::

    rotate_batch(images) -> (rotated (4N, C, H, W), labels (4N,) int64)

label r means "rotated by r · 90° counter-clockwise", as ``torch.rot90(x, r, dims=(-2, -1))``.
Any order of the 4N outputs is accepted, as long as each image appears once per rotation.
"""
from __future__ import annotations

import torch

from .core import Case, CheckFailed, expect_tensor, inline_check


def _images(n=6, seed=0, dtype=torch.uint8):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8).to(dtype)


def _match(rotated, labels, images):
    """For each output, which input image it is once rotated back by its label (or -1)."""
    flat = images.flatten(1)
    found = []
    for out, r in zip(rotated, labels):
        back = torch.rot90(out, -int(r), dims=(-2, -1)).flatten()
        hits = (flat == back).all(1).nonzero().view(-1)
        found.append(int(hits[0]) if len(hits) else -1)
    return found


def rotate_cases() -> list[Case]:
    def shapes(fn):
        rotated, labels = fn(_images())
        expect_tensor(rotated, "the rotated images", (24, 3, 8, 8))
        expect_tensor(labels, "the labels", (24,), torch.int64)
        if labels.min() < 0 or labels.max() > 3:
            raise CheckFailed(f"labels must be 0..3, got values {sorted(set(labels.tolist()))}")

    def aligned(fn):
        images = _images(seed=1)
        rotated, labels = fn(images)
        found = _match(rotated, labels, images)
        if -1 in found:
            i = found.index(-1)
            flipped = _match(rotated[i:i + 1], (4 - labels[i:i + 1]) % 4, images)
            why = " (clockwise instead of counter-clockwise?)" if flipped[0] != -1 else ""
            raise CheckFailed(f"output {i} with label {int(labels[i])} is not an input image rotated by "
                              f"{90 * int(labels[i])}°{why}")

    def complete(fn):
        images = _images(n=8, seed=2)
        rotated, labels = fn(images)
        pairs = sorted(zip(_match(rotated, labels, images), labels.tolist()))
        expected = sorted((j, r) for j in range(8) for r in range(4))
        if pairs != expected:
            missing = sorted(set(expected) - set(pairs))[:3]
            raise CheckFailed(f"not every image appears in all four rotations once; missing (image, label) "
                              f"{missing}…")

    def exact(fn):
        images = _images(seed=3)
        rotated, _ = fn(images)
        if rotated.dtype != torch.uint8:
            raise CheckFailed(f"uint8 images came back as {rotated.dtype}: rot90 moves pixels, it needs no floats")

    def single_and_float(fn):
        rotated, labels = fn(_images(n=1, seed=4, dtype=torch.float32))
        expect_tensor(rotated, "rotate_batch of one float image", (4, 3, 8, 8), torch.float32)
        if sorted(labels.tolist()) != [0, 1, 2, 3]:
            raise CheckFailed(f"one image should give labels 0, 1, 2, 3, got {labels.tolist()}")

    return [
        Case("returns (4N, C, H, W) images and (4N,) int64 labels in 0..3", shapes,
             "torch.cat([...four rotated copies...]) and torch.arange(4).repeat_interleave(n)"),
        Case("each image is its input rotated by label·90° counter-clockwise", aligned,
             "torch.rot90(images, r, dims=(2, 3)) for r in range(4)"),
        Case("every image appears in all four rotations", complete,
             "rotate the whole batch four times, not one image per rotation"),
        Case("exact: uint8 stays uint8, no interpolation", exact, "torch.rot90, not an affine resampling"),
        Case("works for one image and for float images", single_and_float, "no special cases needed"),
    ]


def check_rotate_batch(fn):
    return inline_check("rotate_batch", fn, rotate_cases())


GRADED = {"rotate_batch": rotate_cases}
