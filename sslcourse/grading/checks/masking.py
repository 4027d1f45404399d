"""Exercise 01 — masks and the masked reconstruction loss.

Graded functions (masks are float (N, 1, S, S), 1 = visible, 0 = hidden)::

    random_block_mask(n, size=32, block=12, generator=None)
    random_patch_mask(n, size=32, patch=4, mask_ratio=0.75, generator=None)
    masked_mse(pred, target, mask) -> scalar
    structure_mse(pred, target, mask) -> scalar
        the masked MSE after subtracting, from prediction and target alike, each image's mean colour (per
        channel) over its hidden part: the loss of the "structure" target
"""
from __future__ import annotations

import itertools

import torch

from .core import VALUE, Case, CheckFailed, GeneratorArg, Graded, expect_scalar, expect_tensor, inline_check

INVERTED = ("your mask marks the hidden part with 1: the convention is 1 = visible, 0 = hidden "
            "(pretext.py and the lesson use it too)")


def _g(seed):
    return GeneratorArg(seed)


def _binary(m, what):
    if m.is_complex() or not torch.all((m == 0) | (m == 1)):
        raise CheckFailed(f"{what} should hold only 0 (hidden) and 1 (visible)")
    return m


def _mask(fn, what, n, size, *args, seed=0):
    return _binary(expect_tensor(fn(n, size, *args, generator=_g(seed)), what, (n, 1, size, size)), what).double()


def block_cases() -> list[Case]:
    def shape(fn):
        _binary(expect_tensor(fn(8, 32, 12, generator=_g(0)), "random_block_mask(8, 32, 12)", (8, 1, 32, 32),
                              torch.float32), "the mask")

    def one_square(fn):
        m = _mask(fn, "random_block_mask(50, 32, 12)", 50, 32, 12, seed=1)
        hidden = 1 - m[:, 0]
        counts = hidden.sum((1, 2))
        if (m[:, 0].sum((1, 2)) == 144).all():
            raise CheckFailed(INVERTED)
        if not (counts == 144).all():
            raise CheckFailed(f"expected 144 hidden pixels (12×12) per image, got {counts[:5].long().tolist()}…")
        rows, cols = hidden.any(2).sum(1), hidden.any(1).sum(1)
        if not ((rows == 12) & (cols == 12)).all():
            raise CheckFailed("the hidden pixels do not form one 12×12 square")

    def positions(fn):
        m = _mask(fn, "random_block_mask(400, 32, 12)", 400, 32, 12, seed=2)
        if (m[:, 0].sum((1, 2)) == 144).all():
            raise CheckFailed(INVERTED)
        hidden = 1 - m[:, 0]
        if not (hidden.sum((1, 2)) > 0).all():
            raise CheckFailed("some images have no hidden square")
        tops = hidden.any(2).double().argmax(1)
        lefts = hidden.any(1).double().argmax(1)
        if tops.max() > 20 or lefts.max() > 20:
            raise CheckFailed("a square sticks out of the image: its top-left corner must lie in 0 .. size - block")
        if tops.min() != 0 or tops.max() != 20 or lefts.min() != 0 or lefts.max() != 20:
            raise CheckFailed(f"corners seen from {int(tops.min())} to {int(tops.max())}: every position "
                              "0 .. size - block should be possible")
        if len(set(zip(tops.tolist(), lefts.tolist()))) < 100:
            raise CheckFailed("the squares are not placed independently in each image")

    def edges(fn):
        if not torch.all(_mask(fn, "random_block_mask(3, 16, 0)", 3, 16, 0, seed=3) == 1):
            raise CheckFailed("block=0 should hide nothing")
        if not torch.all(_mask(fn, "random_block_mask(3, 16, 16)", 3, 16, 16, seed=3) == 0):
            raise CheckFailed("block=size should hide everything")

    def reproducible(fn):
        if not torch.equal(fn(10, 32, 8, generator=_g(4)), fn(10, 32, 8, generator=_g(4))):
            raise CheckFailed("the same generator seed gave different masks")

    return [
        Case("returns float masks (n, 1, size, size) of 0s and 1s", shape,
             "a mask is a float tensor with a channel dimension of 1: start from all visible"),
        Case("hides exactly one block×block square per image", one_square,
             "one square per image: the rows and the columns it covers are each a range of length block",
             kind=VALUE),
        Case("squares lie inside the image, anywhere, independently", positions,
             "draw one corner per image, uniformly over the positions that keep the square inside", kind=VALUE),
        Case("block = 0 and block = size", edges, "the general code should already handle both ends"),
        Case("reproducible with a generator", reproducible,
             "every random draw must use the generator argument, so that one seed gives one set of masks"),
    ]


def _patch_counts(m, patch):
    return (1 - m[:, 0, ::patch, ::patch]).sum((1, 2))


def _exact_ratio_case(n, size, patch, ratio, seed):
    def exact_ratio(fn):
        g = size // patch
        expected = round(ratio * g * g)
        m = _mask(fn, f"random_patch_mask({n}, {size}, {patch}, {ratio})", n, size, patch, ratio, seed=seed)
        counts = _patch_counts(m, patch)
        if expected != g * g - expected and ((g * g - counts) == expected).all():
            raise CheckFailed(INVERTED)
        if not (counts == expected).all():
            raise CheckFailed(f"mask_ratio={ratio}: expected exactly round({ratio}·{g * g}) = {expected} hidden "
                              f"patches in every image, got {sorted(set(counts.long().tolist()))[:6]}")

    return exact_ratio


def patch_cases() -> list[Case]:
    def shape(fn):
        _binary(expect_tensor(fn(8, 32, 4, 0.75, generator=_g(0)), "random_patch_mask(8, 32, 4, 0.75)",
                              (8, 1, 32, 32), torch.float32), "the mask")

    def exact_ratio(fn):
        for ratio in (0.75, 0.5, 0.3):
            _exact_ratio_case(40, 32, 4, ratio, 1)(fn)

    def whole_patches(fn):
        m = _mask(fn, "random_patch_mask(10, 32, 8, 0.5)", 10, 32, 8, 0.5, seed=2)
        if not torch.equal(m, m[:, :, ::8, ::8].repeat_interleave(8, 2).repeat_interleave(8, 3)):
            raise CheckFailed("pixels of one patch are not all hidden or all visible")

    def independent_and_uniform(fn):
        m = _mask(fn, "random_patch_mask(2000, 32, 4, 0.75)", 2000, 32, 4, 0.75, seed=3)
        grid = 1 - m[:, 0, ::4, ::4]
        if len(torch.unique(grid.flatten(1), dim=0)) < 1900:
            raise CheckFailed("many images share the same mask: draw a fresh choice per image")
        freq = grid.mean(0)
        if (freq - 0.75).abs().max() > 0.06:
            raise CheckFailed(f"some patches are hidden far more often than others ({freq.min():.2f}..{freq.max():.2f})")

    def edges(fn):
        if not torch.all(_mask(fn, "mask_ratio=0", 4, 32, 4, 0.0, seed=4) == 1):
            raise CheckFailed("mask_ratio=0 should hide nothing")
        if not torch.all(_mask(fn, "mask_ratio=1", 4, 32, 4, 1.0, seed=4) == 0):
            raise CheckFailed("mask_ratio=1 should hide everything")

    def reproducible(fn):
        if not torch.equal(fn(10, 32, 4, 0.5, generator=_g(5)), fn(10, 32, 4, 0.5, generator=_g(5))):
            raise CheckFailed("the same generator seed gave different masks")

    return [
        Case("returns float masks (n, 1, size, size) of 0s and 1s", shape,
             "decide per patch on a (n, g, g) grid, then blow each patch up to patch×patch pixels"),
        Case("hides exactly round(mask_ratio · #patches) patches per image", exact_ratio,
             "a threshold on random numbers hides the right number only on average; ranking random scores "
             "within each image picks exactly k", kind=VALUE),
        Case("hides whole patches", whole_patches, "every pixel of a patch shares the patch's decision"),
        Case("independent per image and uniform over positions", independent_and_uniform,
             "a fresh random score for every patch of every image", kind=VALUE),
        Case("mask_ratio = 0 and 1", edges, "the count k follows from mask_ratio and the number of patches"),
        Case("reproducible with a generator", reproducible,
             "every random draw must use the generator argument"),
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


def _mse_value_case(shapes_and_seeds):
    def value(fn):
        for shape, seed in shapes_and_seeds:
            g = torch.Generator().manual_seed(seed)
            pred, target = torch.rand(*shape, generator=g), torch.rand(*shape, generator=g)
            mask = (torch.rand(shape[0], 1, *shape[2:], generator=g) > 0.5).float()
            got = expect_scalar(fn(pred, target, mask), "masked_mse(...)")
            want = reference_masked_mse(pred, target, mask)
            if abs(got - want) <= 1e-5 * max(1, abs(want)):
                continue
            hidden = (1 - mask).sum().item()
            if abs(got - reference_masked_mse(pred, target, 1 - mask)) <= 1e-5:
                raise CheckFailed(f"got {got:.6f}, the loss over the *visible* pixels: the mask's 1 means visible, "
                                  "and the loss is on the hidden pixels (mask = 0)")
            if hidden and abs(got - want * shape[1]) <= 1e-5 * max(1, abs(want * shape[1])):
                raise CheckFailed(f"got {got:.6f} = {shape[1]} × the formula: the count should be hidden pixels × "
                                  "channels, not hidden pixels alone")
            if abs(got - want * hidden * shape[1] / pred.numel()) <= 1e-5:
                raise CheckFailed(f"got {got:.6f}: the sum was divided by every value, not only by the hidden ones")
            raise CheckFailed(f"got {got:.6f}, the formula gives {want:.6f}")

    return value


def mse_cases() -> list[Case]:
    def scalar(fn):
        x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(0))
        expect_tensor(fn(x, torch.zeros_like(x), torch.zeros(2, 1, 4, 4)), "masked_mse(...)", ())

    def ignores_visible(fn):
        g = torch.Generator().manual_seed(4)
        pred, target = torch.rand(2, 3, 6, 6, generator=g), torch.rand(2, 3, 6, 6, generator=g)
        mask = torch.zeros(2, 1, 6, 6)
        mask[:, :, :3] = 1  # top half visible
        changed = target.clone()
        changed[:, :, :3] += 5.0
        if abs(expect_scalar(fn(pred, target, mask), "the loss") - expect_scalar(fn(pred, changed, mask), "the loss")) > 1e-6:
            raise CheckFailed("changing visible pixels changed the loss")

    def nothing_hidden(fn):
        x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(5))
        out = expect_tensor(fn(x, x + 1, torch.ones(2, 1, 4, 4)), "the loss", ())
        if not torch.isfinite(out) or float(out) != 0.0:
            raise CheckFailed(f"with nothing hidden the loss should be 0, got {float(out)}")

    def gradient(fn):
        g = torch.Generator().manual_seed(6)
        pred, target = torch.rand(2, 3, 4, 4, generator=g), torch.rand(2, 3, 4, 4, generator=g)
        mask = (torch.rand(2, 1, 4, 4, generator=g) > 0.5).float()
        _, (grad,) = fn.with_grad(pred, target, mask, wrt=(0,))
        hidden = (1 - mask).expand_as(pred)
        want = 2 * (pred - target) * hidden / (hidden.sum()).clamp(min=1)
        if not torch.allclose(grad.double(), want.double(), atol=1e-6):
            raise CheckFailed("the gradient with respect to pred differs from the formula's")

    return [
        Case("returns a scalar tensor", scalar, "one number for the whole batch, not one per image"),
        Case("equals the formula Σ(1−m)(x−x̂)² / (Σ(1−m)·C)", _mse_value_case(
            [((3, 3, 5, 5), 1), ((3, 3, 5, 5), 2), ((2, 1, 4, 6), 3)]),
             "average the squared error over the hidden values: hidden pixels (mask = 0) times channels",
             kind=VALUE),
        Case("ignores the visible pixels", ignores_visible,
             "only hidden pixels (mask = 0) may contribute to the loss"),
        Case("is 0 (not nan) when nothing is hidden", nothing_hidden,
             "0 hidden values makes the average 0/0: guard the count"),
        Case("lets gradients flow to the prediction", gradient,
             "autograd only follows torch operations: .item(), numpy or .detach() cut the graph"),
    ]


def _hidden_means(x, mask, over="hidden", per_channel=True):
    """[image][channel] mean of x over the hidden pixels (or over every pixel), 0 where nothing is hidden."""
    n, c, h, w = x.shape
    means = []
    for i in range(n):
        row = []
        for k in range(c):
            total = count = 0.0
            for ch in (range(c) if not per_channel else [k]):
                for y, z in itertools.product(range(h), range(w)):
                    weight = 1.0 if over == "all" else 1.0 - float(mask[i, 0, y, z])
                    total += weight * float(x[i, ch, y, z])
                    count += weight
            row.append(total / count if count else 0.0)
        means.append(row)
    return means


def reference_structure_mse(pred, target, mask, over="hidden", per_channel=True, centre_pred=True):
    """Slow and literal: μ̂_ic, μ_ic the means of image i, channel c over its hidden pixels; then
    Σ (1−m)((x̂ − μ̂) − (x − μ))² / (C · Σ(1−m)). The keyword arguments give common mistakes, to name them."""
    mp = _hidden_means(pred, mask, over, per_channel)
    mt = _hidden_means(target, mask, over, per_channel)
    num = den = 0.0
    n, c, h, w = pred.shape
    for i, k, y, x in itertools.product(range(n), range(c), range(h), range(w)):
        hidden = 1.0 - float(mask[i, 0, y, x])
        p = float(pred[i, k, y, x]) - (mp[i][k] if centre_pred else 0.0)
        num += hidden * (p - (float(target[i, k, y, x]) - mt[i][k])) ** 2
        den += hidden
    return num / den if den else 0.0


def _structure_inputs(shape, seed):
    g = torch.Generator().manual_seed(seed)
    pred, target = torch.rand(*shape, generator=g), torch.rand(*shape, generator=g)
    target = target + torch.rand(shape[0], shape[1], 1, 1, generator=g)  # an unpredictable colour per image
    mask = (torch.rand(shape[0], 1, *shape[2:], generator=g) > 0.4).float()
    mask[0] = 1.0  # one image with nothing hidden: it adds nothing
    return pred, target, mask


def _structure_value_case(shapes_and_seeds):
    def value(fn):
        for shape, seed in shapes_and_seeds:
            pred, target, mask = _structure_inputs(shape, seed)
            got = expect_scalar(fn(pred, target, mask), "structure_mse(...)")
            want = reference_structure_mse(pred, target, mask)
            if abs(got - want) <= 1e-5 * max(1, abs(want)):
                continue
            near = lambda v: abs(got - v) <= 1e-5 * max(1, abs(v))  # noqa: E731
            if near(reference_masked_mse(pred, target, mask)):
                raise CheckFailed(f"got {got:.6f}, the plain masked MSE: the mean colours were not subtracted")
            if near(reference_structure_mse(pred, target, mask, over="all")):
                raise CheckFailed(f"got {got:.6f}: the means were taken over the whole image; take them over the "
                                  "hidden part only, where the loss looks")
            if near(reference_structure_mse(pred, target, mask, per_channel=False)):
                raise CheckFailed(f"got {got:.6f}: one mean for all channels; each channel has its own mean colour")
            if near(reference_structure_mse(pred, target, mask, centre_pred=False)):
                raise CheckFailed(f"got {got:.6f}: only the target was centred; subtract the prediction's own mean "
                                  "from the prediction too")
            raise CheckFailed(f"got {got:.6f}, the formula gives {want:.6f}")

    return value


def structure_cases() -> list[Case]:
    def scalar(fn):
        pred, target, mask = _structure_inputs((2, 3, 4, 4), 0)
        expect_tensor(fn(pred, target, mask), "structure_mse(...)", ())

    def colour_blind(fn):
        pred, target, mask = _structure_inputs((3, 3, 6, 6), 7)
        shift = torch.tensor([0.3, -0.2, 0.5]).view(1, 3, 1, 1) * torch.tensor([1.0, -1.0, 2.0]).view(3, 1, 1, 1)
        a = expect_scalar(fn(pred, target, mask), "the loss")
        b = expect_scalar(fn(pred + shift, target, mask), "the loss")
        if abs(a - b) > 1e-5:
            raise CheckFailed("adding a constant colour to a prediction changed the loss: only the structure "
                              "inside the hidden part should count")

    def ignores_visible(fn):
        pred, target, mask = _structure_inputs((2, 3, 6, 6), 8)
        changed = target + 5.0 * mask  # change only visible pixels
        a, b = expect_scalar(fn(pred, target, mask), "the loss"), expect_scalar(fn(pred, changed, mask), "the loss")
        if abs(a - b) > 1e-5:
            raise CheckFailed("changing visible pixels changed the loss")

    def nothing_hidden(fn):
        x = torch.rand(2, 3, 4, 4, generator=torch.Generator().manual_seed(9))
        out = expect_tensor(fn(x, x + 1, torch.ones(2, 1, 4, 4)), "the loss", ())
        if not torch.isfinite(out) or float(out) != 0.0:
            raise CheckFailed(f"with nothing hidden the loss should be 0, got {float(out)}")

    def gradient(fn):
        pred, target, mask = _structure_inputs((2, 3, 4, 4), 10)
        pred, target = pred.double(), target.double()
        _, (grad,) = fn.with_grad(pred, target, mask, wrt=(0,))
        p = pred.clone().requires_grad_()
        hidden = 1 - mask.double()
        area = hidden.sum((2, 3), keepdim=True).clamp(min=1)
        centred_p = p - (p * hidden).sum((2, 3), keepdim=True) / area
        centred_t = target - (target * hidden).sum((2, 3), keepdim=True) / area
        loss = ((centred_p - centred_t) ** 2 * hidden).sum() / (hidden.sum() * 3)
        want = torch.autograd.grad(loss, p)[0]
        if not torch.allclose(grad.double(), want, atol=1e-6):
            raise CheckFailed("the gradient with respect to pred differs from the formula's")

    return [
        Case("returns a scalar tensor", scalar, "one number for the whole batch"),
        Case("equals the formula: centre both over the hidden part, then the masked MSE", _structure_value_case(
            [((3, 3, 5, 5), 1), ((4, 2, 4, 6), 2)]),
             "each image and each channel has its own mean colour over its hidden pixels; remove it from the "
             "prediction and from the target before comparing them where the mask hides", kind=VALUE),
        Case("a constant colour added to the prediction changes nothing", colour_blind,
             "after centring, only differences from the hidden part's own mean remain"),
        Case("ignores the visible pixels", ignores_visible, "the means, too, come from the hidden pixels only"),
        Case("is 0 (not nan) when nothing is hidden", nothing_hidden,
             "an image with no hidden pixel has no hidden mean: guard the divisions by a count"),
        Case("lets gradients flow to the prediction", gradient,
             "autograd only follows torch operations: the prediction's mean depends on the prediction too"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n = int(torch.randint(20, 60, (1,), generator=g))
    patch = [2, 4, 8][int(torch.randint(0, 3, (1,), generator=g))]
    ratio = round(float(torch.empty(1).uniform_(0.1, 0.9, generator=g)), 2)
    seed = int(torch.randint(0, 2**31, (1,), generator=g))
    c, h = int(torch.randint(1, 4, (1,), generator=g)), int(torch.randint(2, 7, (1,), generator=g))
    return {
        "random_patch_mask": [Case(f"hides exactly round({ratio} · #patches) patches (patch {patch})",
                                   _exact_ratio_case(n, 32, patch, ratio, seed), kind=VALUE)],
        "masked_mse": [Case(f"equals the formula for ({n // 10}, {c}, {h}, {h})",
                            _mse_value_case([((max(1, n // 10), c, h, h), seed)]), kind=VALUE)],
        "structure_mse": [Case(f"equals the formula for ({n // 10 + 1}, {c}, {h}, {h})",
                               _structure_value_case([((n // 10 + 1, c, h, h), seed)]), kind=VALUE)],
    }


def check_random_block_mask(fn):
    return inline_check("random_block_mask", fn, block_cases())


def check_random_patch_mask(fn):
    return inline_check("random_patch_mask", fn, patch_cases())


def check_masked_mse(fn):
    return inline_check("masked_mse", fn, mse_cases())


def check_structure_mse(fn):
    return inline_check("structure_mse", fn, structure_cases())


GRADED = {"random_block_mask": Graded(block_cases), "random_patch_mask": Graded(patch_cases),
          "masked_mse": Graded(mse_cases), "structure_mse": Graded(structure_cases)}
WRITTEN = ("Which target rewards a good inpainter?",)
