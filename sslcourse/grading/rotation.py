"""Exercise 02 — every image in all four rotations, with labels that line up.

Graded function::

    rotate_batch(images) -> (rotated (4N, C, H, W), labels (4N,) int64)

label r means "rotated by r · 90° counter-clockwise", as ``torch.rot90(x, r, dims=(-2, -1))``.
Any order of the 4N outputs is accepted, as long as each image appears once per rotation.
"""
from __future__ import annotations

import torch

from .core import VALUE, Case, CheckFailed, Graded, expect_tensor, inline_check


def _images(n=6, seed=0, dtype=torch.uint8, size=8):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8).to(dtype)


def _pair(fn, images):
    rotated, labels = fn(images)
    n, c, h, w = images.shape
    expect_tensor(rotated, "the rotated images", (4 * n, c, h, w))
    expect_tensor(labels, "the labels", (4 * n,))
    if labels.is_complex() or labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise CheckFailed("the labels should be whole numbers 0..3")
    return rotated, labels.long()


def _match(rotated, labels, images, direction=1):
    """For each output, which input image it is once rotated back by its label (or -1)."""
    flat = images.flatten(1)
    found = []
    for out, r in zip(rotated, labels):
        back = torch.rot90(out, -direction * int(r), dims=(-2, -1)).flatten().to(flat.dtype)
        hits = (flat == back).all(1).nonzero().view(-1)
        found.append(int(hits[0]) if len(hits) else -1)
    return found


def _aligned_case(n, seed, size=8):
    def aligned(fn):
        images = _images(n, seed, size=size)
        rotated, labels = _pair(fn, images)
        found = _match(rotated, labels, images)
        if -1 in found:
            if -1 not in _match(rotated, labels, images, direction=-1) and labels.remainder(2).any():
                raise CheckFailed("the images are rotated clockwise: label r means r·90° counter-clockwise "
                                  "(torch.rot90 turns from the first of its dims towards the second)")
            i = found.index(-1)
            raise CheckFailed(f"output {i} with label {int(labels[i])} is not an input image rotated by "
                              f"{90 * int(labels[i])}° counter-clockwise")
        if sorted(zip(found, labels.tolist())) != [(j, r) for j in range(n) for r in range(4)]:
            raise CheckFailed("each image should appear once with each label 0, 1, 2, 3, rotated to match it")

    return aligned


def _complete_case(n, seed, size=8):
    def complete(fn):
        images = _images(n, seed, size=size)
        rotated, labels = _pair(fn, images)
        # which (image, rotation) each output is, whatever its label says: the labels are the other case's job
        seen = set()
        for out in rotated:
            hits = [(j, r) for j in range(n) for r in range(4)
                    if torch.equal(torch.rot90(images[j], r, dims=(-2, -1)), out.to(images.dtype))]
            seen.add(hits[0] if hits else None)
        expected = {(j, r) for j in range(n) for r in range(4)}
        if seen != expected:
            missing = sorted(expected - seen)[:3]
            raise CheckFailed(f"not every image appears in all four rotations once; missing (image, rotation) "
                              f"{missing}…")

    return complete


def rotate_cases() -> list[Case]:
    def shapes(fn):
        rotated, labels = fn(_images())
        expect_tensor(rotated, "the rotated images", (24, 3, 8, 8))
        expect_tensor(labels, "the labels", (24,), torch.int64)
        if labels.min() < 0 or labels.max() > 3:
            raise CheckFailed(f"labels must be 0..3, got values {sorted(set(labels.tolist()))}")

    def exact(fn):
        rotated, _ = fn(_images(seed=3))
        if rotated.dtype != torch.uint8:
            raise CheckFailed(f"uint8 images came back as {rotated.dtype}")

    def single_and_float(fn):
        rotated, labels = fn(_images(n=1, seed=4, dtype=torch.float32))
        expect_tensor(rotated, "rotate_batch of one float image", (4, 3, 8, 8), torch.float32)
        if sorted(labels.tolist()) != [0, 1, 2, 3]:
            raise CheckFailed(f"one image should give labels 0, 1, 2, 3, got {labels.tolist()}")

    return [
        Case("returns (4N, C, H, W) images and (4N,) int64 labels in 0..3", shapes,
             "four rotated copies of the whole batch, and one integer label per copy"),
        Case("each image is its input rotated by label·90° counter-clockwise", _aligned_case(6, 1),
             "build the labels in the same order as the rotated copies", kind=VALUE),
        Case("every image appears in all four rotations", _complete_case(8, 2),
             "rotate the whole batch once per angle", kind=VALUE),
        Case("exact: uint8 stays uint8, no interpolation", exact,
             "a quarter turn only moves pixels: no resampling, no conversion to float"),
        Case("works for one image and for float images", single_and_float, "the same code, no special cases"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n, size = int(torch.randint(2, 9, (1,), generator=g)), int(torch.randint(4, 12, (1,), generator=g))
    seed = int(torch.randint(0, 2**31, (1,), generator=g))
    return {"rotate_batch": [
        Case(f"{n} images of {size}×{size}: each output is its input rotated by its label", _aligned_case(n, seed, size),
             kind=VALUE),
        Case(f"{n} images of {size}×{size}: all four rotations of each", _complete_case(n, seed, size), kind=VALUE),
    ]}


def check_rotate_batch(fn):
    return inline_check("rotate_batch", fn, rotate_cases(), returns=2)


GRADED = {"rotate_batch": Graded(rotate_cases, returns=2)}
