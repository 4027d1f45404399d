"""Exercise 04 — the NT-Xent loss and SimCLR's two views.

Graded functions::

    nt_xent_loss(z1, z2, temperature=0.5) -> scalar, the mean of ℓ(i, j) over the 2N anchors
    simclr_views(images, augment) -> (view1, view2), two independent augmentations of the same images
    alignment_uniformity(z1, z2, t=2.0) -> (alignment, uniformity), Wang & Isola (2020), on unit vectors:
        alignment  = mean_i ‖ẑ1_i − ẑ2_i‖²
        uniformity = ½ [log mean_{i≠j} exp(−t ‖ẑ1_i − ẑ1_j‖²) + the same for ẑ2]
"""
from __future__ import annotations

import math

import torch

from .core import VALUE, AugmentArg, Case, CheckFailed, Graded, LearnerError, expect_scalar, expect_tensor, inline_check


def reference_nt_xent(z1, z2, temperature=0.5, exclude_self=True, anchors=None):
    """Slow and literal: ℓ(i, j) = −log exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ),
    sim the cosine similarity, j the other view of i; the mean over all 2N anchors (float64).
    ``exclude_self=False`` and ``anchors=N`` give two common mistakes, to name them."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    n2 = len(z)
    anchors = anchors or n2
    total = 0.0
    for i in range(anchors):
        j = (i + n2 // 2) % n2
        denominator = sum(torch.exp(z[i] @ z[k] / temperature) for k in range(n2) if k != i or not exclude_self)
        total = total - torch.log(torch.exp(z[i] @ z[j] / temperature) / denominator)
    return total / anchors


def _z(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def _close(got, want):
    return abs(got - float(want)) <= 1e-4 * max(1.0, abs(float(want)))


def _values_case(settings):
    def values(fn):
        for n, d, tau, seed in settings:
            z1, z2 = _z(n, d, seed)
            got = expect_scalar(fn(z1, z2, tau), f"nt_xent_loss(z1 ({n}, {d}), z2, {tau})")
            if _close(got, reference_nt_xent(z1, z2, tau)):
                continue
            if tau != 1.0 and _close(got, reference_nt_xent(z1, z2, 1.0)):
                raise CheckFailed(f"N={n}, τ={tau}: got {got:.5f}, the loss without a temperature: the similarities "
                                  "should be divided by τ")
            if _close(got, reference_nt_xent(z1, z2, tau, exclude_self=False)):
                raise CheckFailed(f"N={n}, τ={tau}: got {got:.5f}: each anchor was counted among its own "
                                  "candidates; exclude sim(z_i, z_i) from the denominator")
            if _close(got, reference_nt_xent(z1, z2, tau, anchors=n)):
                raise CheckFailed(f"N={n}, τ={tau}: got {got:.5f}: only z1's N anchors were averaged; every one "
                                  "of the 2N embeddings is an anchor")
            raise CheckFailed(f"N={n}, τ={tau}: got {got:.5f}, the formula gives {float(reference_nt_xent(z1, z2, tau)):.5f}")

    return values


def ntxent_cases() -> list[Case]:
    def scalar(fn):
        z1, z2 = _z(4, 8, 0)
        out = expect_tensor(fn(z1, z2, 0.5), "nt_xent_loss(z1 (4, 8), z2 (4, 8))", ())
        if not torch.isfinite(out):
            raise CheckFailed(f"the loss is {float(out)}")

    def symmetric(fn):
        z1, z2 = _z(8, 16, 1)
        a, b = expect_scalar(fn(z1, z2, 0.5), "the loss"), expect_scalar(fn(z2, z1, 0.5), "the loss")
        if abs(a - b) > 1e-5:
            raise CheckFailed(f"swapping the views changed the loss ({a:.5f} vs {b:.5f})")

    def scale_invariant(fn):
        z1, z2 = _z(8, 16, 2)
        a, b = expect_scalar(fn(z1, z2, 0.5), "the loss"), expect_scalar(fn(10 * z1, 0.1 * z2, 0.5), "the loss")
        if abs(a - b) > 1e-4:
            raise CheckFailed("rescaling the embeddings changed the loss")

    def stable(fn):
        z1 = torch.eye(8, 16) * 100
        out = expect_tensor(fn(z1, z1.clone(), 0.01), "the loss at τ = 0.01", ())
        if not torch.isfinite(out):
            raise CheckFailed("τ = 0.01 gave inf/nan")

    def gradient(fn):
        z1, z2 = _z(5, 4, 3)
        z1, z2 = z1.double(), z2.double()
        _, grads = fn.with_grad(z1, z2, 0.3, wrt=(0, 1))
        a, b = z1.clone().requires_grad_(), z2.clone().requires_grad_()
        ref = torch.autograd.grad(reference_nt_xent(a, b, 0.3), (a, b))
        for g, r in zip(grads, ref):
            if g.shape != r.shape or not torch.isfinite(g.double()).all():
                raise CheckFailed("the gradient has the wrong shape, or inf or nan")
            if not torch.allclose(g.double(), r, atol=1e-5, rtol=1e-4):
                raise CheckFailed(f"the gradient differs from the reference's by {float((g - r).abs().max()):.2g}")

    def shape_error(fn):
        try:
            fn(torch.zeros(8, 128), torch.zeros(8, 64), 0.5)
        except LearnerError as err:
            if err.info.get("stub") or err.info.get("course"):
                raise
            if not err.is_a("ValueError"):
                raise CheckFailed(f"mismatched shapes raised {err.info['type']} from deep inside; check the shapes "
                                  "first and raise a ValueError naming them") from None
            if "shape" not in err.info["message"].lower() and "128" not in err.info["message"]:
                raise CheckFailed(f"the error should name the shapes, got: {err.info['message']}") from None
            return
        raise CheckFailed("z1 (8, 128) and z2 (8, 64) were accepted")

    return [
        Case("returns a finite scalar", scalar, "the loss is one number: the mean over the anchors"),
        Case("equals the formula for several N and τ", _values_case(
            [(4, 8, 0.5, 32), (7, 3, 0.1, 21), (16, 32, 1.0, 512), (2, 5, 0.07, 10)]),
             "each of the 2N rows is a softmax over the other 2N − 1 embeddings, at temperature τ, whose right "
             "answer is the other view of the same image", kind=VALUE),
        Case("is symmetric in z1 and z2", symmetric, "both views take turns as anchors: every one of the 2N counts"),
        Case("ignores the length of the embeddings", scale_invariant,
             "the similarity is the cosine: lengths must not matter"),
        Case("is numerically stable for small τ", stable,
             "exp of a large similarity / τ overflows: work in log-space (log-sum-exp)"),
        Case("has the right gradient", gradient,
             "autograd only follows torch operations: .item(), numpy or .detach() cut the graph"),
        Case("mismatched shapes give a clear ValueError", shape_error,
             "check the two shapes before computing, and say what they were in the error"),
    ]


def _augment_value_case(n, seed):
    def augmented(fn):
        images = torch.rand(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))
        v1, v2 = fn(images, AugmentArg(seed))
        for k, v in ((1, v1), (2, v2)):
            expect_tensor(v, f"view{k}", tuple(images.shape))
        g = torch.Generator().manual_seed(seed)
        first, second = (0.01 * torch.randn(images.shape, generator=g) for _ in range(2))
        g = torch.Generator().manual_seed(seed)
        both = 0.01 * torch.randn((2 * n, *images.shape[1:]), generator=g)
        options = [(first, second), (second, first), (both[:n], both[n:]), (both[n:], both[:n])]
        d1, d2 = v1.double() - images.double(), v2.double() - images.double()
        if not any(torch.allclose(d1, a.double(), atol=1e-6) and torch.allclose(d2, b.double(), atol=1e-6)
                   for a, b in options):
            if torch.equal(v1, v2):
                raise CheckFailed("the two views are identical: they must be two separate random augmentations")
            raise CheckFailed("the views are not the results of calling augment on the images, once per view")

    return augmented


def views_cases() -> list[Case]:
    def shapes(fn):
        images = torch.rand(6, 3, 8, 8)
        for k, v in enumerate(fn(images, AugmentArg(0)), 1):
            expect_tensor(v, f"view{k}", (6, 3, 8, 8))

    def aligned(fn):
        images = torch.rand(6, 3, 8, 8)
        v1, v2 = (expect_tensor(v, f"view{k}", (6, 3, 8, 8)) for k, v in enumerate(fn(images, AugmentArg(1)), 1))
        if (v1 - images).abs().max() > 0.1 or (v2 - images).abs().max() > 0.1:
            raise CheckFailed("view1[i] and view2[i] must both come from images[i] (same order, no shuffling)")

    def independent(fn):
        v1, v2 = (expect_tensor(v, f"view{k}", (6, 3, 8, 8)) for k, v in enumerate(fn(torch.rand(6, 3, 8, 8),
                                                                                   AugmentArg(2)), 1))
        if torch.equal(v1, v2):
            raise CheckFailed("the two views are identical")

    return [
        Case("returns two views of the batch's shape", shapes, "a pair: (view1, view2), each shaped like the batch"),
        Case("each view is augment applied to the images", _augment_value_case(6, 3),
             "the views come from the augmentation you are given, applied to the whole batch", kind=VALUE),
        Case("view1[i] and view2[i] come from the same image", aligned, "keep the batch's order in both views"),
        Case("the two views are drawn independently", independent,
             "each call of augment draws new random parameters: one call per view"),
    ]


def _unit(v):
    return [x / math.sqrt(sum(y * y for y in v)) for x in v]


def _sq(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b))


def reference_alignment_uniformity(z1, z2, t=2.0, normalise=True, pairs="distinct", squared=True):
    """Slow and literal (Wang & Isola 2020, α = 2): alignment = mean over positive pairs of ‖ẑ1_i − ẑ2_i‖²;
    uniformity = the mean over the two views of log (mean over pairs i ≠ j of exp(−t ‖ẑ_i − ẑ_j‖²)).
    The keyword arguments give common mistakes, to name them."""
    a = [[float(x) for x in row] for row in z1]
    b = [[float(x) for x in row] for row in z2]
    if normalise:
        a, b = [_unit(v) for v in a], [_unit(v) for v in b]
    power = 1.0 if squared else 0.5
    alignment = sum(_sq(u, v) ** power for u, v in zip(a, b)) / len(a)

    def log_mean_exp(points):
        terms = [-t * _sq(points[i], points[j]) ** power for i in range(len(points)) for j in range(len(points))
                 if pairs == "all" or i != j]
        top = max(terms)
        return top + math.log(sum(math.exp(x - top) for x in terms) / len(terms))

    if pairs == "joint":
        uniformity = log_mean_exp(a + b)
    else:
        uniformity = (log_mean_exp(a) + log_mean_exp(b)) / 2
    return alignment, uniformity


def _au(fn, z1, z2, t):
    got = fn(z1, z2, t)
    return (expect_scalar(got[0], f"the alignment of ({len(z1)}, {z1.shape[1]}) embeddings"),
            expect_scalar(got[1], f"the uniformity of ({len(z1)}, {z1.shape[1]}) embeddings"))


def _au_value_case(settings):
    def value(fn):
        for n, d, t, seed in settings:
            z1, z2 = _z(n, d, seed)
            z2 = z1 + 0.7 * z2  # views that agree a little
            got_a, got_u = _au(fn, z1, z2, t)
            want_a, want_u = reference_alignment_uniformity(z1, z2, t)
            ok_a = abs(got_a - want_a) <= 1e-4 * max(1, abs(want_a))
            ok_u = abs(got_u - want_u) <= 1e-4 * max(1, abs(want_u))
            if ok_a and ok_u:
                continue
            raw_a, raw_u = reference_alignment_uniformity(z1, z2, t, normalise=False)
            if abs(got_a - raw_a) <= 1e-4 * max(1, abs(raw_a)) or abs(got_u - raw_u) <= 1e-4 * max(1, abs(raw_u)):
                raise CheckFailed(f"N={n}: the embeddings were not put on the unit sphere first: both measures are "
                                  "about directions")
            if not ok_a:
                if abs(got_a - reference_alignment_uniformity(z1, z2, t, squared=False)[0]) <= 1e-4:
                    raise CheckFailed(f"N={n}: got alignment {got_a:.5f}, the mean *distance*; the alignment is the "
                                      "mean *squared* distance between the two views of an image")
                raise CheckFailed(f"N={n}: got alignment {got_a:.5f}, the formula gives {want_a:.5f}")
            for pairs, message in (("all", "each embedding was paired with itself too (distance 0, a term of 1 in "
                                            "the mean): use the pairs i ≠ j"),
                                   ("joint", "both views were pooled into one set, so the positive pairs count as "
                                             "well: measure each view on its own, then average the two")):
                if abs(got_u - reference_alignment_uniformity(z1, z2, t, pairs=pairs)[1]) <= 1e-4:
                    raise CheckFailed(f"N={n}, t={t}: got uniformity {got_u:.5f}: {message}")
            if abs(got_u - reference_alignment_uniformity(z1, z2, t, squared=False)[1]) <= 1e-4:
                raise CheckFailed(f"N={n}, t={t}: got uniformity {got_u:.5f}: the kernel uses the *squared* distance")
            raise CheckFailed(f"N={n}, t={t}: got uniformity {got_u:.5f}, the formula gives {want_u:.5f}")

    return value


def au_cases() -> list[Case]:
    def shapes(fn):
        z1, z2 = _z(6, 8, 40)
        out = fn(z1, z2, 2.0)
        expect_tensor(out[0], "the alignment", ())
        expect_tensor(out[1], "the uniformity", ())

    def collapse(fn):
        z = torch.ones(8, 5)
        a, u = _au(fn, z, z.clone(), 2.0)
        if abs(a) > 1e-5 or abs(u) > 1e-5:
            raise CheckFailed(f"a collapsed embedding (every vector the same) should give alignment 0 (perfect) and "
                              f"uniformity 0 (the worst), got {a:.4f} and {u:.4f}")

    def scale_invariant(fn):
        z1, z2 = _z(7, 6, 41)
        a = _au(fn, z1, z2, 2.0)
        b = _au(fn, 5 * z1, 0.2 * z2, 2.0)
        if abs(a[0] - b[0]) > 1e-4 or abs(a[1] - b[1]) > 1e-4:
            raise CheckFailed("rescaling the embeddings changed the measures")

    def stable(fn):
        z1, z2 = _z(16, 64, 42)
        a, u = _au(fn, z1, z2, 200.0)
        want = reference_alignment_uniformity(z1, z2, 200.0)[1]
        if not math.isfinite(u):
            raise CheckFailed("t = 200 gave a uniformity of -inf or nan: every exp(−t d²) underflows to 0; keep the "
                              "log of a mean of exponentials in log space")
        if abs(u - want) > 1e-3 * abs(want):
            raise CheckFailed(f"t = 200: got uniformity {u:.3f}, the formula gives {want:.3f}")

    def spread_is_lower(fn):
        spread = torch.eye(8, 8)  # orthogonal: as far apart as 8 unit vectors get
        bunched = torch.eye(8, 8) * 0.1 + 1.0
        u_spread, u_bunched = _au(fn, spread, spread, 2.0)[1], _au(fn, bunched, bunched, 2.0)[1]
        if not u_spread < u_bunched:
            raise CheckFailed(f"spread-out embeddings should have the lower (better) uniformity, got {u_spread:.3f} "
                              f"vs {u_bunched:.3f} for bunched ones")

    return [
        Case("returns two scalar tensors", shapes, "a pair: (alignment, uniformity)"),
        Case("equal the formulas of Wang & Isola", _au_value_case([(6, 8, 2.0, 43), (9, 3, 1.0, 44),
                                                                    (4, 16, 5.0, 45)]),
             "both measures are about points on the unit sphere: alignment is how far the two views of an image "
             "land apart on average, uniformity the log of the average Gaussian kernel between two different "
             "embeddings of one view", kind=VALUE),
        Case("a collapsed embedding: alignment 0, uniformity 0", collapse,
             "identical vectors are at distance 0: every kernel term is 1"),
        Case("ignore the length of the embeddings", scale_invariant, "directions only"),
        Case("uniformity is finite for a large t", stable,
             "the log of a mean of exponentials has a stable form that never leaves log space"),
        Case("spread-out embeddings have the lower uniformity", spread_is_lower,
             "far-apart points make every kernel term small"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n, d = int(torch.randint(2, 20, (1,), generator=g)), int(torch.randint(2, 40, (1,), generator=g))
    tau = round(float(torch.empty(1).uniform_(0.05, 1.0, generator=g)), 3)
    seed = int(torch.randint(0, 2**31, (1,), generator=g))
    return {
        "nt_xent_loss": [Case(f"equals the formula for N={n}, D={d}, τ={tau}", _values_case([(n, d, tau, seed)]),
                              kind=VALUE)],
        "simclr_views": [Case(f"each view is augment applied to {n} images", _augment_value_case(n, seed),
                              kind=VALUE)],
        "alignment_uniformity": [Case(f"equal the formulas for N={max(n, 2)}, D={d}, t={4 * tau:.2f}",
                                      _au_value_case([(max(n, 2), d, round(4 * tau, 2), seed)]), kind=VALUE)],
    }


def check_nt_xent_loss(fn):
    return inline_check("nt_xent_loss", fn, ntxent_cases())


def check_simclr_views(fn):
    return inline_check("simclr_views", fn, views_cases(), returns=2)


def check_alignment_uniformity(fn):
    return inline_check("alignment_uniformity", fn, au_cases(), returns=2)


HELPERS = ("sslcourse.augment",)  # to_float and the augmentations: none of this exercise's answers

GRADED = {"nt_xent_loss": Graded(ntxent_cases), "simclr_views": Graded(views_cases, returns=2),
          "alignment_uniformity": Graded(au_cases, returns=2)}
WRITTEN = ("What do the augmentations ask of the encoder?",)
