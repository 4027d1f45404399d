"""Exercise 04 — the NT-Xent loss and SimCLR's two views.

Graded functions::

    nt_xent_loss(z1, z2, temperature=0.5) -> scalar, the mean of ℓ(i, j) over the 2N anchors
    simclr_views(images, augment) -> (view1, view2), two independent augmentations of the same images
"""
from __future__ import annotations

import torch

from .core import Case, CheckFailed, expect_tensor, inline_check


def reference_nt_xent(z1, z2, temperature=0.5):
    """Slow and literal: ℓ(i, j) = −log exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ),
    sim the cosine similarity, j the other view of i; the mean over all 2N anchors (float64)."""
    z = torch.cat([z1, z2]).double()
    z = z / z.norm(dim=1, keepdim=True)
    n2 = len(z)
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2
        denominator = sum(torch.exp(z[i] @ z[k] / temperature) for k in range(n2) if k != i)
        total = total - torch.log(torch.exp(z[i] @ z[j] / temperature) / denominator)
    return total / n2


def _z(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def ntxent_cases() -> list[Case]:
    def scalar(fn):
        z1, z2 = _z(4, 8, 0)
        out = expect_tensor(fn(z1, z2, 0.5), "nt_xent_loss(z1 (4, 8), z2 (4, 8))", ())
        if not torch.isfinite(out):
            raise CheckFailed(f"the loss is {float(out)}")

    def values(fn):
        for n, d, tau in ((4, 8, 0.5), (7, 3, 0.1), (16, 32, 1.0), (2, 5, 0.07)):
            z1, z2 = _z(n, d, n * d)
            got, want = float(fn(z1, z2, tau)), float(reference_nt_xent(z1, z2, tau))
            if abs(got - want) > 1e-4 * max(1.0, abs(want)):
                raise CheckFailed(f"N={n}, τ={tau}: got {got:.5f}, the formula gives {want:.5f}")

    def symmetric(fn):
        z1, z2 = _z(8, 16, 1)
        a, b = float(fn(z1, z2, 0.5)), float(fn(z2, z1, 0.5))
        if abs(a - b) > 1e-5:
            raise CheckFailed(f"swapping the views changed the loss ({a:.5f} vs {b:.5f}): average over all 2N anchors")

    def scale_invariant(fn):
        z1, z2 = _z(8, 16, 2)
        a, b = float(fn(z1, z2, 0.5)), float(fn(10 * z1, 0.1 * z2, 0.5))
        if abs(a - b) > 1e-4:
            raise CheckFailed("rescaling the embeddings changed the loss: normalise them (cosine similarity)")

    def stable(fn):
        z1 = torch.eye(8, 16) * 100
        out = fn(z1, z1.clone(), 0.01)
        if not torch.isfinite(torch.as_tensor(out)):
            raise CheckFailed("τ = 0.01 gave inf/nan: use log-sum-exp (F.cross_entropy) instead of exp then log")

    def gradient(fn):
        z1, z2 = _z(5, 4, 3)
        z1, z2 = z1.double().requires_grad_(), z2.double().requires_grad_()
        grads = torch.autograd.grad(fn(z1, z2, 0.3), (z1, z2))
        ref = torch.autograd.grad(reference_nt_xent(z1, z2, 0.3), (z1, z2))
        for g, r in zip(grads, ref):
            if not torch.isfinite(g).all():
                raise CheckFailed("the gradient has inf or nan")
            if not torch.allclose(g.double(), r, atol=1e-5, rtol=1e-4):
                raise CheckFailed(f"the gradient differs from the reference's by {float((g - r).abs().max()):.2g}")

    def shape_error(fn):
        try:
            fn(torch.zeros(8, 128), torch.zeros(8, 64), 0.5)
        except ValueError as err:
            if "shape" not in str(err).lower():
                raise CheckFailed(f"the error should mention the shapes, got: {err}")
            return
        except NotImplementedError:
            raise  # reported as "not implemented yet"
        except Exception as err:
            raise CheckFailed(f"mismatched shapes raised {type(err).__name__} from deep inside; check the shapes "
                              "first and raise ValueError naming them") from None
        raise CheckFailed("z1 (8, 128) and z2 (8, 64) were accepted: check that the shapes match")

    return [
        Case("returns a finite scalar", scalar, "F.cross_entropy(similarities / τ, positives) is a scalar"),
        Case("equals the formula for several N and τ", values,
             "mask the diagonal with -inf; the positive of i is (i + N) mod 2N"),
        Case("is symmetric in z1 and z2", symmetric, "concatenate both views: every one of the 2N is an anchor"),
        Case("ignores the length of the embeddings", scale_invariant, "F.normalize(z, dim=1) first"),
        Case("is numerically stable for small τ", stable, "never exp() a large number yourself"),
        Case("has the right gradient", gradient, "use torch operations only, no .item() or numpy"),
        Case("mismatched shapes give a clear ValueError", shape_error,
             'if z1.shape != z2.shape: raise ValueError(f"... got {z1.shape} and {z2.shape}")'),
    ]


def views_cases() -> list[Case]:
    def noisy(x):
        return x + 0.01 * torch.randn_like(x)

    def shapes(fn):
        images = torch.rand(6, 3, 8, 8)
        out = fn(images, noisy)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise CheckFailed("simclr_views should return a pair (view1, view2)")
        for k, v in enumerate(out, 1):
            expect_tensor(v, f"view{k}", (6, 3, 8, 8))

    def aligned(fn):
        images = torch.rand(6, 3, 8, 8)
        v1, v2 = fn(images, noisy)
        if (v1 - images).abs().max() > 0.1 or (v2 - images).abs().max() > 0.1:
            raise CheckFailed("view1[i] and view2[i] must both come from images[i] (same order, no shuffling)")

    def independent(fn):
        images = torch.rand(6, 3, 8, 8)
        v1, v2 = fn(images, noisy)
        if torch.equal(v1, v2):
            raise CheckFailed("the two views are identical: call augment twice, once per view")

    return [
        Case("returns two views of the batch's shape", shapes, "return augment(images), augment(images)"),
        Case("view1[i] and view2[i] come from the same image", aligned, "do not shuffle or concatenate"),
        Case("the two views are drawn independently", independent, "two calls, two random draws"),
    ]


def check_nt_xent_loss(fn):
    return inline_check("nt_xent_loss", fn, ntxent_cases())


def check_simclr_views(fn):
    return inline_check("simclr_views", fn, views_cases())


GRADED = {"nt_xent_loss": ntxent_cases, "simclr_views": views_cases}
