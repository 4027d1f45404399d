"""Exercise 07 — images as patches, MAE's random masking, and the loss on the hidden patches.

Graded functions::

    patchify(images, patch) -> (N, L, patch·patch·C)
        images (N, C, H, W) as L = (H/patch)·(W/patch) patches, row by row over the grid; each patch flattened
        row by row, pixel by pixel, with a pixel's C values together (MAE's layout); the values themselves
        untouched (same dtype); a ValueError when patch does not divide H and W
    random_masking(tokens, mask_ratio, generator=None) -> (visible, mask, ids_restore)
        tokens (N, L, D); K = L − round(mask_ratio·L) tokens of every sequence stay visible, chosen anew for each
        sequence with the generator; visible (N, K, D) holds them; mask (N, L) float, 1 = visible, 0 = hidden,
        in the original order; ids_restore (N, L) int64: appending L − K tokens to visible and gathering along
        the sequence with ids_restore puts every visible token back where it came from
    mae_loss(pred, target, mask, norm_pix=True) -> scalar
        the mean over a patch's P values of (pred − t)², averaged over the hidden patches (mask = 0) only, where
        t = target, or with norm_pix each target patch normalised: (x − mean) / √(var + 1e−6), var the unbiased
        variance of its P values (MAE's code); 0 when nothing is hidden

The references below are slow and literal — loops over pixels and patches, in float64 — and import nothing
from the course's methods: a grader checks against its own reading of the paper (He et al. 2022).
"""
from __future__ import annotations

import itertools

import torch

from .core import VALUE, Case, CheckFailed, GeneratorArg, Graded, LearnerError, expect_scalar, expect_tensor, \
    inline_check

INVERTED = ("your mask marks the hidden tokens with 1: the convention is 1 = visible, 0 = hidden "
            "(pretext.py and the lessons use it too)")
EPS = 1e-6


# ---- references ----

def reference_patchify(images: torch.Tensor, patch: int, order: str = "mae") -> torch.Tensor:
    """One patch at a time, one value at a time: patch (i, j) of the grid is row i·(W/p) + j; inside it, value
    (r·p + c)·C + k is channel k of pixel (i·p + r, j·p + c). ``order`` gives common mistakes, to name them:
    "channels_first" (all of channel 0, then channel 1, …: what an unfold gives), "grid_by_columns" (the grid
    read column by column), "pixels_by_columns" (each patch read column by column)."""
    n, ch, h, w = images.shape
    rows, cols = h // patch, w // patch
    out = torch.empty(n, rows * cols, patch * patch * ch, dtype=images.dtype)
    for b, i, j in itertools.product(range(n), range(rows), range(cols)):
        index = (j * rows + i) if order == "grid_by_columns" else (i * cols + j)
        for r, c, k in itertools.product(range(patch), range(patch), range(ch)):
            rr, cc = (c, r) if order == "pixels_by_columns" else (r, c)
            pos = k * patch * patch + r * patch + c if order == "channels_first" else (r * patch + c) * ch + k
            out[b, index, pos] = images[b, k, i * patch + rr, j * patch + cc]
    return out


def reference_unpatchify(patches: torch.Tensor, patch: int, channels: int, height: int, width: int) -> torch.Tensor:
    """The inverse of reference_patchify, one value at a time."""
    n = len(patches)
    cols = width // patch
    out = torch.empty(n, channels, height, width, dtype=patches.dtype)
    for b, y, x, k in itertools.product(range(n), range(height), range(width), range(channels)):
        i, r, j, c = y // patch, y % patch, x // patch, x % patch
        out[b, k, y, x] = patches[b, i * cols + j, (r * patch + c) * channels + k]
    return out


def reference_mae_loss(pred, target, mask, norm_pix=True, on="hidden", reduce="mean", var="unbiased",
                       eps=EPS) -> float:
    """(1/#hidden) Σ over hidden patches of (1/P) Σ_p (pred − t)², float64, t the target or its per-patch
    normalisation (He et al. 2022, section 3; MAE's code for the variance and ε). The keyword arguments give
    common mistakes, to name them."""
    n, length, size = pred.shape
    num = den = 0.0
    for b, l in itertools.product(range(n), range(length)):
        hidden = 1.0 - float(mask[b, l])
        weight = {"hidden": hidden, "all": 1.0, "visible": 1.0 - hidden}[on]
        t = target[b, l].double()
        if norm_pix:
            mean = float(t.sum()) / size
            ss = float(((t - mean) ** 2).sum())
            v = ss / (size - 1) if var == "unbiased" else ss / size
            t = (t - mean) / (v + eps) ** 0.5
        sq = float(((pred[b, l].double() - t) ** 2).sum())
        num += weight * (sq / size if reduce == "mean" else sq)
        den += weight
    return num / den if den else 0.0


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _near(got: float, want: float, tol: float = 1e-5) -> bool:
    return abs(got - want) <= tol * max(1.0, abs(want))


# ---- patchify ----

def _images(shape, seed, dtype=torch.float32):
    x = torch.rand(*shape, generator=_gen(seed))
    return (x * 255).to(torch.uint8) if dtype == torch.uint8 else x.to(dtype)


def _patchify_values(settings):
    def values(fn):
        for shape, patch, seed in settings:
            n, ch, h, w = shape
            x = _images(shape, seed)
            size = (n, (h // patch) * (w // patch), patch * patch * ch)
            out = expect_tensor(fn(x, patch), f"patchify(images {tuple(shape)}, patch={patch})", size)
            if torch.equal(out.double(), reference_patchify(x, patch).double()):
                continue
            for order, why in (("channels_first", "the values of a patch come channel by channel (all of one "
                                                  "channel, then the next): keep each pixel's C values together"),
                               ("grid_by_columns", "the patches come column by column over the grid: read the "
                                                   "grid row by row, as text"),
                               ("pixels_by_columns", "each patch is read column by column: flatten it row by row")):
                if ch * patch > 1 and torch.equal(out.double(), reference_patchify(x, patch, order).double()):
                    raise CheckFailed(f"patchify(images {tuple(shape)}, patch={patch}): {why}")
            if torch.equal(out.sort(-1).values.double(), reference_patchify(x, patch).sort(-1).values.double()):
                raise CheckFailed(f"patchify(images {tuple(shape)}, patch={patch}): every patch holds the right "
                                  "values, in another order than MAE's layout")
            raise CheckFailed(f"patchify(images {tuple(shape)}, patch={patch}) differs from the reference layout")

    return values


def patchify_cases() -> list[Case]:
    def shape(fn):
        expect_tensor(fn(_images((2, 3, 8, 8), 0), 4), "patchify(images (2, 3, 8, 8), patch=4)", (2, 4, 48))

    def exact(fn):
        x = _images((2, 3, 6, 6), 5, torch.uint8)
        out = expect_tensor(fn(x, 3), "patchify of uint8 images (2, 3, 6, 6), patch=3", (2, 4, 27), torch.uint8)
        back = reference_unpatchify(out, 3, 3, 6, 6)
        if not torch.equal(back, x):
            raise CheckFailed("putting the patches back together does not give the image: the layout is off")

    def non_square(fn):
        _patchify_values([((2, 3, 8, 12), 4, 6), ((1, 2, 6, 4), 2, 7)])(fn)

    def edges(fn):
        x = _images((2, 3, 4, 4), 8)
        one = expect_tensor(fn(x, 4), "patchify(images (2, 3, 4, 4), patch=4)", (2, 1, 48))
        if not torch.equal(one.double(), reference_patchify(x, 4).double()):
            raise CheckFailed("patch = the image size should give one patch holding the whole image")
        pixels = expect_tensor(fn(x, 1), "patchify(images (2, 3, 4, 4), patch=1)", (2, 16, 3))
        if not torch.equal(pixels.double(), reference_patchify(x, 1).double()):
            raise CheckFailed("patch = 1 should give one token per pixel holding its 3 channel values")

    def bad_patch(fn):
        try:
            fn(_images((2, 3, 10, 10), 9), 4)
        except LearnerError as err:
            if err.info.get("stub") or err.info.get("course"):
                raise
            if not err.is_a("ValueError"):
                raise CheckFailed(f"patch 4 for a 10×10 image raised {err.info['type']}; check that the patch divides "
                                  "the height and the width first, and raise a ValueError that says so") from None
            return
        raise CheckFailed("patch 4 for a 10×10 image was accepted: 4 does not divide 10 (pixels would be lost)")

    return [
        Case("returns (N, L, patch·patch·C)", shape,
             "L = (H / patch) · (W / patch) patches, each holding patch · patch pixels of C values"),
        Case("equals MAE's layout", _patchify_values([((2, 3, 8, 8), 4, 1), ((3, 3, 6, 6), 2, 2),
                                                       ((1, 3, 9, 9), 3, 3)]),
             "split each image axis into (grid position, position inside the patch), then order the axes: grid row, "
             "grid column, pixel row, pixel column, channel", kind=VALUE),
        Case("non-square images", non_square, "the grid has H / patch rows and W / patch columns", kind=VALUE),
        Case("moves values without changing them (uint8 stays uint8)", exact,
             "a rearrangement only: no arithmetic, no conversion"),
        Case("patch = the image size, and patch = 1", edges, "the general code should already handle both ends"),
        Case("a patch that does not divide the image gives a clear ValueError", bad_patch,
             "check the sizes before rearranging, and say what was wrong"),
    ]


# ---- random masking ----

def _tokens(n, length, dim, seed, dtype=torch.float32):
    """Tokens whose values say where they came from: token l of sequence b starts with b·1000 + l."""
    t = torch.randn(n, length, dim, generator=_gen(seed)).to(dtype)
    t[:, :, 0] = (torch.arange(n).view(n, 1) * 1000 + torch.arange(length).view(1, length)).to(dtype)
    return t


def _triple(out, what):
    if type(out) is torch.Tensor or not isinstance(out, tuple) or len(out) != 3:
        raise CheckFailed(f"{what} should return three tensors: visible, mask, ids_restore")
    return out


def _check_masking(out, tokens, ratio, what):
    """Everything one call must satisfy; returns the mask as float64."""
    n, length, dim = tokens.shape
    num_visible = length - round(ratio * length)
    visible, mask, ids = _triple(out, what)
    mask = expect_tensor(mask, f"the mask of {what}", (n, length))
    if mask.is_complex() or not mask.is_floating_point():
        raise CheckFailed(f"the mask should be a float tensor of 0s and 1s, got dtype {mask.dtype}")
    if not torch.all((mask == 0) | (mask == 1)):
        raise CheckFailed("the mask should hold only 0 (hidden) and 1 (visible)")
    mask = mask.double()
    counts = mask.sum(1)
    if num_visible != length - num_visible and torch.all(counts == length - num_visible):
        raise CheckFailed(INVERTED)
    if not torch.all(counts == num_visible):
        raise CheckFailed(f"mask_ratio={ratio}, L={length}: expected K = L − round(mask_ratio·L) = {num_visible} "
                          f"visible tokens in every sequence, the mask has {sorted(set(counts.long().tolist()))[:6]}")
    visible = expect_tensor(visible, f"the visible tokens of {what}", (n, num_visible, dim), tokens.dtype)
    ids = expect_tensor(ids, f"ids_restore of {what}", (n, length), torch.int64)
    if not torch.equal(ids.sort(1).values, torch.arange(length).expand(n, length)):
        if torch.equal((ids - 1).sort(1).values, torch.arange(length).expand(n, length)):
            raise CheckFailed("ids_restore is off by one: positions count from 0, so its values are 0 … L − 1")
        raise CheckFailed("each row of ids_restore should be a permutation of 0 … L − 1")
    where = ids.gather(1, torch.arange(length).expand(n, length))
    if not torch.equal(where < num_visible, mask.bool()):
        inverse = ids.argsort(1)
        if torch.equal(inverse < num_visible, mask.bool()):
            raise CheckFailed("ids_restore is the shuffle itself, not its inverse: it should say, for each original "
                              "position, where that token went in the shuffled order")
        raise CheckFailed("ids_restore does not send the visible positions to the visible tokens (the first K of the "
                          "shuffled order)")
    restored = torch.cat([visible.double(), torch.full((n, length - num_visible, dim), float("nan"),
                                                       dtype=torch.float64)], 1)
    restored = restored.gather(1, ids.unsqueeze(-1).expand(n, length, dim))
    keep = mask.bool()
    if not torch.equal(restored[keep], tokens.double()[keep]):
        raise CheckFailed("the visible tokens, put back with ids_restore, are not the tokens the mask marks visible")
    return mask


def _masking_values(settings):
    def values(fn):
        for n, length, dim, ratio, seed in settings:
            tokens = _tokens(n, length, dim, seed)
            what = f"random_masking(tokens ({n}, {length}, {dim}), {ratio})"
            _check_masking(fn(tokens, ratio, generator=GeneratorArg(seed)), tokens, ratio, what)

    return values


def masking_cases() -> list[Case]:
    def shapes(fn):
        tokens = _tokens(4, 16, 8, 0)
        visible, mask, ids = _triple(fn(tokens, 0.75, generator=GeneratorArg(0)), "random_masking")
        expect_tensor(visible, "visible", (4, 4, 8))
        expect_tensor(mask, "mask", (4, 16))
        expect_tensor(ids, "ids_restore", (4, 16), torch.int64)

    def independent_and_uniform(fn):
        tokens = _tokens(2000, 16, 2, 3)  # 12,870 ways to keep 8 of 16: about 1,850 distinct masks expected
        mask = _check_masking(fn(tokens, 0.5, generator=GeneratorArg(3)), tokens, 0.5, "2000 sequences of 16")
        if len(torch.unique(mask, dim=0)) == 1:
            raise CheckFailed("every sequence got the same mask: draw the noise for every sequence of the batch")
        if len(torch.unique(mask, dim=0)) < 1500:
            raise CheckFailed("many sequences share the same mask: draw fresh noise for every sequence")
        freq = mask.mean(0)
        if (freq - 0.5).abs().max() > 0.06:
            raise CheckFailed(f"some positions stay visible far more often than others "
                              f"({freq.min():.2f}..{freq.max():.2f})")

    def edges(fn):
        tokens = _tokens(3, 8, 4, 4)
        _check_masking(fn(tokens, 0.0, generator=GeneratorArg(4)), tokens, 0.0, "mask_ratio=0")
        _check_masking(fn(tokens, 1.0, generator=GeneratorArg(4)), tokens, 1.0, "mask_ratio=1")

    def keeps_dtype(fn):
        tokens = _tokens(3, 8, 4, 5, torch.float64)
        _check_masking(fn(tokens, 0.5, generator=GeneratorArg(5)), tokens, 0.5, "float64 tokens")

    def reproducible(fn):
        tokens = _tokens(6, 16, 3, 6)
        a = _triple(fn(tokens, 0.5, generator=GeneratorArg(6)), "random_masking")
        b = _triple(fn(tokens, 0.5, generator=GeneratorArg(6)), "random_masking")
        if not all(type(u) is torch.Tensor and type(v) is torch.Tensor and u.shape == v.shape and torch.equal(u, v)
                   for u, v in zip(a, b)):
            raise CheckFailed("the same generator seed gave different masks")

    return [
        Case("returns visible (N, K, D), mask (N, L) and ids_restore (N, L)", shapes,
             "K = L − round(mask_ratio · L) tokens stay visible; the mask and the restore indices cover all L"),
        Case("keeps K tokens per sequence; ids_restore puts them back where they came from",
             _masking_values([(4, 16, 8, 0.75, 1), (3, 10, 5, 0.5, 2), (2, 64, 3, 0.9, 7)]),
             "sort random noise to shuffle each sequence, keep the first K of the shuffle, and invert the shuffle "
             "to restore the order", kind=VALUE),
        Case("a fresh mask for every sequence, uniform over positions", independent_and_uniform,
             "one random number per token of every sequence, not one draw for the whole batch", kind=VALUE),
        Case("mask_ratio = 0 and 1", edges, "the count K follows from mask_ratio and L"),
        Case("keeps the tokens' dtype", keeps_dtype, "select the tokens themselves: no conversion"),
        Case("reproducible with a generator", reproducible,
             "every random draw must use the generator argument, so that one seed gives one mask"),
    ]


# ---- the loss ----

def _loss_inputs(n, length, size, seed, flat=False):
    g = _gen(seed)
    pred = torch.randn(n, length, size, generator=g, dtype=torch.float64)
    target = torch.rand(n, length, size, generator=g, dtype=torch.float64) * 2 + torch.rand(n, length, 1, generator=g)
    mask = (torch.rand(n, length, generator=g) > 0.6).double()
    mask[0, 0], mask[0, 1] = 0.0, 1.0  # at least one hidden and one visible patch
    if flat:
        target[0, 0] = 0.5  # a flat hidden patch: its variance is 0
    return pred, target, mask


def _loss_values(settings, norm_pix):
    def values(fn):
        for n, length, size, seed in settings:
            pred, target, mask = _loss_inputs(n, length, size, seed)
            what = f"mae_loss on ({n}, {length}, {size}), norm_pix={norm_pix}"
            got = expect_scalar(fn(pred, target, mask, norm_pix=norm_pix), what)
            want = reference_mae_loss(pred, target, mask, norm_pix)
            if _near(got, want):
                continue
            if _near(got, reference_mae_loss(pred, target, mask, norm_pix, on="all")):
                raise CheckFailed(f"{what}: got {got:.6f}, the loss over all patches: only the hidden patches "
                                  "(mask = 0) count — the visible ones were given to the encoder")
            if _near(got, reference_mae_loss(pred, target, mask, norm_pix, on="visible")):
                raise CheckFailed(f"{what}: got {got:.6f}, the loss over the visible patches: " + INVERTED)
            if _near(got, reference_mae_loss(pred, target, mask, norm_pix, reduce="sum")):
                raise CheckFailed(f"{what}: got {got:.6f} = {size} × the formula: average the squared error over "
                                  "the values of a patch, not sum it")
            hidden = float((1 - mask).sum())
            if _near(got, want * hidden / (n * length)):
                raise CheckFailed(f"{what}: got {got:.6f}: the sum over hidden patches was divided by every patch; "
                                  "divide by the number of hidden patches")
            if norm_pix:
                if _near(got, reference_mae_loss(pred, target, mask, norm_pix=False)):
                    raise CheckFailed(f"{what}: got {got:.6f}, the loss on the raw target: with norm_pix, normalise "
                                      "each target patch to mean 0 and variance 1 first")
                if _near(got, reference_mae_loss(pred, target, mask, var="biased")):
                    raise CheckFailed(f"{what}: got {got:.6f}: the variance divides by P; MAE's code (and this "
                                      "exercise) uses the unbiased variance, dividing by P − 1")
            raise CheckFailed(f"{what}: got {got:.6f}, the formula gives {want:.6f}")

    return values


def loss_cases() -> list[Case]:
    def scalar(fn):
        pred, target, mask = _loss_inputs(2, 4, 6, 0)
        out = expect_tensor(fn(pred, target, mask, norm_pix=True), "mae_loss(...)", ())
        if out.is_complex() or not torch.isfinite(out):
            raise CheckFailed(f"the loss is {out}")

    def ignores_visible(fn):
        pred, target, mask = _loss_inputs(3, 6, 8, 4)
        scribbled = pred + 5.0 * mask.unsqueeze(-1)  # the visible patches' predictions change
        for norm_pix in (False, True):
            a = expect_scalar(fn(pred, target, mask, norm_pix=norm_pix), "the loss")
            b = expect_scalar(fn(scribbled, target, mask, norm_pix=norm_pix), "the loss")
            if abs(a - b) > 1e-6:
                raise CheckFailed(f"norm_pix={norm_pix}: changing the predictions of visible patches changed the loss")

    def colour_blind(fn):
        pred, target, mask = _loss_inputs(2, 5, 12, 5)
        a = expect_scalar(fn(pred, target, mask, norm_pix=True), "the loss")
        b = expect_scalar(fn(pred, 3.0 * target + 0.7, mask, norm_pix=True), "the loss")
        if abs(a - b) > 1e-4 * max(1.0, abs(a)):
            raise CheckFailed("with norm_pix, brightening or scaling a target patch changed the loss: each patch "
                              "is compared after removing its own mean and scale")

    def nothing_hidden(fn):
        pred, target, _ = _loss_inputs(2, 4, 6, 6)
        out = expect_tensor(fn(pred, target, torch.ones(2, 4, dtype=torch.float64), norm_pix=True), "the loss", ())
        if out.is_complex() or not torch.isfinite(out) or float(out) != 0.0:
            raise CheckFailed(f"with nothing hidden the loss should be 0, got {float(out)}")

    def flat_patch(fn):
        pred, target, mask = _loss_inputs(2, 4, 6, 7, flat=True)
        got = expect_scalar(fn(pred, target, mask, norm_pix=True), "the loss with a flat target patch")
        want = reference_mae_loss(pred, target, mask, True)
        if got != got or abs(got) == float("inf"):
            raise CheckFailed("a flat target patch (all values equal, variance 0) made the loss nan or inf: "
                              "the ε under the square root is there for it")
        if not _near(got, want, 1e-4):
            raise CheckFailed(f"with a flat target patch: got {got:.6f}, the formula gives {want:.6f}")

    def gradient(fn):
        pred, target, mask = _loss_inputs(2, 5, 4, 8)
        _, (grad,) = fn.with_grad(pred, target, mask, norm_pix=True, wrt=(0,))
        p = pred.clone().requires_grad_()
        t = target
        t = (t - t.mean(-1, keepdim=True)) / (t.var(-1, keepdim=True) + EPS).sqrt()
        hidden = 1 - mask
        loss = (((p - t) ** 2).mean(-1) * hidden).sum() / hidden.sum()
        want = torch.autograd.grad(loss, p)[0]
        if grad.shape != want.shape or not torch.allclose(grad.double(), want, atol=1e-6, rtol=1e-4):
            raise CheckFailed("the gradient with respect to pred differs from the formula's")

    return [
        Case("returns a scalar tensor", scalar, "one number for the whole batch"),
        Case("equals the formula on raw pixels (norm_pix=False)",
             _loss_values([(2, 6, 12, 1), (3, 4, 5, 2)], norm_pix=False),
             "a mean over each patch's values, then a mean over the hidden patches only (mask = 0)", kind=VALUE),
        Case("equals the formula on normalised patches (norm_pix=True)",
             _loss_values([(2, 6, 12, 3), (4, 3, 7, 9)], norm_pix=True),
             "normalise every target patch by its own mean and its unbiased variance (plus ε under the root) "
             "before comparing", kind=VALUE),
        Case("ignores the visible patches", ignores_visible, "only hidden patches (mask = 0) may contribute"),
        Case("with norm_pix, a target patch's brightness and contrast do not matter", colour_blind,
             "each target patch is normalised by its own statistics"),
        Case("is 0 (not nan) when nothing is hidden", nothing_hidden,
             "0 hidden patches makes the average 0/0: guard the count"),
        Case("a flat target patch stays finite with norm_pix", flat_patch,
             "a patch of equal values has variance 0: keep ε under the square root"),
        Case("lets gradients flow to the prediction", gradient,
             "autograd only follows torch operations: conversions to numbers or arrays cut the graph"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    def draw(lo, hi):
        return int(torch.randint(lo, hi, (1,), generator=g))

    patch, rows, cols, ch = draw(1, 5), draw(1, 4), draw(1, 4), draw(1, 4)
    n, length, dim, seed = draw(2, 6), draw(4, 40), draw(1, 9), draw(0, 2**31)
    ratio = round(float(torch.empty(1).uniform_(0.05, 0.95, generator=g)), 2)
    while abs(ratio * length % 1 - 0.5) < 1e-6:  # no ties: round(k + ½) is a convention, not the exercise
        ratio = round(ratio + 0.01, 2)
    size = draw(2, 30)
    return {
        "patchify": [Case(f"equals MAE's layout for ({n}, {ch}, {rows * patch}, {cols * patch}), patch {patch}",
                          _patchify_values([((n, ch, rows * patch, cols * patch), patch, seed)]), kind=VALUE)],
        "random_masking": [Case(f"keeps the right tokens for ({n}, {length}, {dim}), mask_ratio {ratio}",
                                _masking_values([(n, length, dim, ratio, seed)]), kind=VALUE)],
        "mae_loss": [Case(f"equals the formula for ({n}, {length}, {size}), norm_pix {flag}",
                          _loss_values([(n, length, size, seed)], norm_pix=flag), kind=VALUE)
                     for flag in (False, True)],
    }


def check_patchify(fn):
    return inline_check("patchify", fn, patchify_cases())


def check_random_masking(fn):
    return inline_check("random_masking", fn, masking_cases(), returns=3)


def check_mae_loss(fn):
    return inline_check("mae_loss", fn, loss_cases())


WRITTEN = ("What did MAE's pretraining give fine-tuning, and why is its frozen probe low?",)

GRADED = {"patchify": Graded(patchify_cases), "random_masking": Graded(masking_cases, returns=3),
          "mae_loss": Graded(loss_cases)}
