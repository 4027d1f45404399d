"""Exercise 01 — masks and the masked reconstruction loss.

Graded functions (masks are float (N, 1, S, S), 1 = visible, 0 = hidden)::

    random_block_mask(n, size=32, block=12, generator=None)
    random_patch_mask(n, size=32, patch=4, mask_ratio=0.75, generator=None)
    masked_mse(pred, target, mask) -> scalar
"""
from __future__ import annotations

import itertools

import torch

from .core import Case, CheckFailed, expect_tensor, inline_check


def _g(seed):
    return torch.Generator().manual_seed(seed)


def _binary(m, what):
    if not torch.all((m == 0) | (m == 1)):
        raise CheckFailed(f"{what} should hold only 0 (hidden) and 1 (visible)")


def block_cases() -> list[Case]:
    def shape(fn):
        m = expect_tensor(fn(8, 32, 12, generator=_g(0)), "random_block_mask(8, 32, 12)", (8, 1, 32, 32),
                          torch.float32)
        _binary(m, "the mask")

    def one_square(fn):
        m = fn(50, 32, 12, generator=_g(1))
        hidden = 1 - m[:, 0]
        counts = hidden.sum((1, 2))
        if not (counts == 144).all():
            raise CheckFailed(f"expected 144 hidden pixels (12×12) per image, got {counts[:5].tolist()}…")
        rows, cols = hidden.any(2).sum(1), hidden.any(1).sum(1)
        if not ((rows == 12) & (cols == 12)).all():
            raise CheckFailed("the hidden pixels do not form one 12×12 square")

    def positions(fn):
        m = fn(400, 32, 12, generator=_g(2))
        tops = (1 - m[:, 0]).any(2).float().argmax(1)
        lefts = (1 - m[:, 0]).any(1).float().argmax(1)
        if tops.max() > 20 or lefts.max() > 20:
            raise CheckFailed("a square sticks out of the image: the top-left corner must be in 0 .. size - block")
        if tops.min() != 0 or tops.max() != 20 or lefts.min() != 0 or lefts.max() != 20:
            raise CheckFailed(f"corners seen from {int(tops.min())} to {int(tops.max())}: every position "
                              "0 .. size - block should be possible")
        if len(set(zip(tops.tolist(), lefts.tolist()))) < 100:
            raise CheckFailed("the squares are not placed independently in each image")

    def edges(fn):
        if not torch.all(fn(3, 16, 0, generator=_g(3)) == 1):
            raise CheckFailed("block=0 should hide nothing")
        if not torch.all(fn(3, 16, 16, generator=_g(3)) == 0):
            raise CheckFailed("block=size should hide everything")

    def reproducible(fn):
        if not torch.equal(fn(10, 32, 8, generator=_g(4)), fn(10, 32, 8, generator=_g(4))):
            raise CheckFailed("the same generator seed should give the same masks: draw with generator=generator")

    return [
        Case("returns float masks (n, 1, size, size) of 0s and 1s", shape, "torch.ones(n, 1, size, size), then zero a square"),
        Case("hides exactly one block×block square per image", one_square, "rows top..top+block, columns left..left+block"),
        Case("squares lie inside the image, anywhere, independently", positions,
             "top = torch.randint(0, size - block + 1, (n,), generator=generator)"),
        Case("block = 0 and block = size", edges, "the same code should handle both without special cases"),
        Case("reproducible with a generator", reproducible, "pass generator= to every random call"),
    ]


def patch_cases() -> list[Case]:
    def shape(fn):
        m = expect_tensor(fn(8, 32, 4, 0.75, generator=_g(0)), "random_patch_mask(8, 32, 4, 0.75)", (8, 1, 32, 32),
                          torch.float32)
        _binary(m, "the mask")

    def exact_ratio(fn):
        for ratio, expected in ((0.75, 48), (0.5, 32), (0.3, 19)):
            m = fn(40, 32, 4, ratio, generator=_g(1))
            counts = (1 - m[:, 0, ::4, ::4]).sum((1, 2))
            if not (counts == expected).all():
                raise CheckFailed(f"mask_ratio={ratio}: expected exactly round({ratio}·64) = {expected} hidden patches "
                                  f"in every image, got {sorted(set(counts.long().tolist()))[:6]}")

    def whole_patches(fn):
        m = fn(10, 32, 8, 0.5, generator=_g(2))
        if not torch.equal(m, m[:, :, ::8, ::8].repeat_interleave(8, 2).repeat_interleave(8, 3)):
            raise CheckFailed("pixels of one patch are not all hidden or all visible")

    def independent_and_uniform(fn):
        m = fn(2000, 32, 4, 0.75, generator=_g(3))
        grid = 1 - m[:, 0, ::4, ::4]
        if len(torch.unique(grid.flatten(1), dim=0)) < 1900:
            raise CheckFailed("many images share the same mask: draw a fresh choice per image")
        freq = grid.mean(0)
        if (freq - 0.75).abs().max() > 0.06:
            raise CheckFailed(f"some patches are hidden far more often than others ({freq.min():.2f}..{freq.max():.2f})")

    def edges(fn):
        if not torch.all(fn(4, 32, 4, 0.0, generator=_g(4)) == 1):
            raise CheckFailed("mask_ratio=0 should hide nothing")
        if not torch.all(fn(4, 32, 4, 1.0, generator=_g(4)) == 0):
            raise CheckFailed("mask_ratio=1 should hide everything")

    def reproducible(fn):
        if not torch.equal(fn(10, 32, 4, 0.5, generator=_g(5)), fn(10, 32, 4, 0.5, generator=_g(5))):
            raise CheckFailed("the same generator seed should give the same masks")

    return [
        Case("returns float masks (n, 1, size, size) of 0s and 1s", shape, "build a (n, g, g) grid, then repeat_interleave"),
        Case("hides exactly round(mask_ratio · #patches) patches per image", exact_ratio,
             "rank random scores per image: torch.rand(n, g*g).argsort(1), hide the first k"),
        Case("hides whole patches", whole_patches, "repeat_interleave(patch, 2).repeat_interleave(patch, 3)"),
        Case("independent per image and uniform over positions", independent_and_uniform,
             "one random score per patch per image"),
        Case("mask_ratio = 0 and 1", edges, "k = round(mask_ratio * g * g)"),
        Case("reproducible with a generator", reproducible, "torch.rand(..., generator=generator)"),
    ]


def reference_masked_mse(pred, target, mask):
    """Σ over hidden pixels and channels of (x − x̂)², divided by (#hidden pixels · channels)."""
    num = den = 0.0
    n, c, h, w = pred.shape
    for i, k, y, x in itertools.product(range(n), range(c), range(h), range(w)):
        hidden = 1.0 - float(mask[i, 0, y, x])
        num += hidden * (float(pred[i, k, y, x]) - float(target[i, k, y, x])) ** 2
        den += hidden
    return num / den if den else 0.0


def mse_cases() -> list[Case]:
    def scalar(fn):
        x = torch.rand(2, 3, 4, 4, generator=_g(0))
        out = fn(x, torch.zeros_like(x), torch.zeros(2, 1, 4, 4))
        expect_tensor(out, "masked_mse(...)", ())

    def value(fn):
        for seed in (1, 2, 3):
            g = _g(seed)
            pred, target = torch.rand(3, 3, 5, 5, generator=g), torch.rand(3, 3, 5, 5, generator=g)
            mask = (torch.rand(3, 1, 5, 5, generator=g) > 0.5).float()
            got, want = float(fn(pred, target, mask)), reference_masked_mse(pred, target, mask)
            if abs(got - want) > 1e-5 * max(1, abs(want)):
                raise CheckFailed(f"got {got:.6f}, the formula gives {want:.6f}")

    def ignores_visible(fn):
        g = _g(4)
        pred, target = torch.rand(2, 3, 6, 6, generator=g), torch.rand(2, 3, 6, 6, generator=g)
        mask = torch.zeros(2, 1, 6, 6)
        mask[:, :, :3] = 1  # top half visible
        changed = target.clone()
        changed[:, :, :3] += 5.0
        if abs(float(fn(pred, target, mask)) - float(fn(pred, changed, mask))) > 1e-6:
            raise CheckFailed("changing visible pixels changed the loss: multiply the squared error by (1 - mask)")

    def nothing_hidden(fn):
        x = torch.rand(2, 3, 4, 4, generator=_g(5))
        out = fn(x, x + 1, torch.ones(2, 1, 4, 4))
        if not torch.isfinite(torch.as_tensor(out)) or float(out) != 0.0:
            raise CheckFailed(f"with nothing hidden the loss should be 0, got {float(out)}: guard the division")

    def gradient(fn):
        pred = torch.rand(2, 3, 4, 4, generator=_g(6), requires_grad=True)
        fn(pred, torch.rand(2, 3, 4, 4, generator=_g(7)), (torch.rand(2, 1, 4, 4, generator=_g(8)) > 0.5).float()).backward()
        if pred.grad is None or not torch.isfinite(pred.grad).all():
            raise CheckFailed("no finite gradient reaches pred: use torch operations only (no .item() or numpy)")

    return [
        Case("returns a scalar tensor", scalar, "reduce with .sum() / count, not a per-image vector"),
        Case("equals the formula Σ(1−m)(x−x̂)² / (Σ(1−m)·C)", value,
             "divide by the number of hidden pixels times the number of channels"),
        Case("ignores the visible pixels", ignores_visible, "weight the squared error by hidden = 1 - mask"),
        Case("is 0 (not nan) when nothing is hidden", nothing_hidden, "divide by count.clamp(min=1)"),
        Case("lets gradients flow to the prediction", gradient, "keep everything as tensors"),
    ]


def check_random_block_mask(fn):
    return inline_check("random_block_mask", fn, block_cases())


def check_random_patch_mask(fn):
    return inline_check("random_patch_mask", fn, patch_cases())


def check_masked_mse(fn):
    return inline_check("masked_mse", fn, mse_cases())


GRADED = {"random_block_mask": block_cases, "random_patch_mask": patch_cases, "masked_mse": mse_cases}
