"""Exercise 05 — GAN losses from logits, stable at any logit.

Graded functions (ℓ are logits, D = σ(ℓ))::

    discriminator_loss(real_logits, fake_logits) = −mean log σ(ℓ_real) − mean log(1 − σ(ℓ_fake))
    generator_loss(fake_logits, non_saturating=True)
        non-saturating: −mean log σ(ℓ_fake);  saturating (minimax): mean log(1 − σ(ℓ_fake))
"""
from __future__ import annotations

import torch

from .core import Case, CheckFailed, expect_tensor, inline_check


def _logits(n, seed, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g) * scale


def _log_sigmoid_ref(x):
    """log σ(x) in float64, the naive way (fine for moderate x)."""
    return torch.log(torch.sigmoid(x.double()))


EXTREME = torch.tensor([-200.0, -50.0, -20.0, 0.0, 20.0, 50.0, 200.0])  # naive forms give inf/nan here


def _close(got, want, what):
    got = float(got)
    if not abs(got - float(want)) <= 1e-4 * max(1.0, abs(float(want))):
        raise CheckFailed(f"{what}: got {got:.6g}, expected {float(want):.6g}")


def d_cases() -> list[Case]:
    def scalar(fn):
        out = expect_tensor(fn(_logits(8, 0), _logits(8, 1)), "discriminator_loss(...)", ())
        if not torch.isfinite(out):
            raise CheckFailed(f"the loss is {float(out)}")

    def value(fn):
        for seed in (2, 3, 4):
            real, fake = _logits(32, seed), _logits(32, seed + 10)
            want = -(_log_sigmoid_ref(real).mean() + torch.log(1 - torch.sigmoid(fake.double())).mean())
            _close(fn(real, fake), want, "−E[log D(x)] − E[log(1 − D(G(z)))]")

    def extreme(fn):
        out = fn(EXTREME, EXTREME)
        if not torch.isfinite(torch.as_tensor(out)):
            raise CheckFailed("extreme logits gave inf/nan: log(sigmoid(x)) underflows; use F.logsigmoid or softplus")
        # exact: softplus(−ℓ) for real, softplus(ℓ) for fake
        want = torch.nn.functional.softplus(-EXTREME.double()).mean() + torch.nn.functional.softplus(EXTREME.double()).mean()
        _close(out, want, "the loss at logits ±50")

    def direction(fn):
        confident = fn(torch.full((4,), 6.0), torch.full((4,), -6.0))
        fooled = fn(torch.full((4,), -6.0), torch.full((4,), 6.0))
        if not float(confident) < float(fooled):
            raise CheckFailed("a discriminator that is right should have the lower loss: check the signs")

    return [
        Case("returns a finite scalar", scalar, "average over the batch"),
        Case("equals the formula", value, "log σ(ℓ) = F.logsigmoid(ℓ); log(1 − σ(ℓ)) = F.logsigmoid(−ℓ)"),
        Case("is finite and exact at logits up to ±200", extreme, "never compute sigmoid and then log"),
        Case("is low when D is right, high when it is fooled", direction, "real → large ℓ, fake → small ℓ"),
    ]


def g_cases() -> list[Case]:
    def values(fn):
        fake = _logits(32, 5)
        _close(fn(fake, non_saturating=True), -_log_sigmoid_ref(fake).mean(), "non-saturating −E[log D(G(z))]")
        _close(fn(fake, non_saturating=False), torch.log(1 - torch.sigmoid(fake.double())).mean(),
               "saturating E[log(1 − D(G(z)))]")

    def default(fn):
        fake = _logits(16, 6)
        if float(fn(fake)) != float(fn(fake, non_saturating=True)):
            raise CheckFailed("non_saturating=True should be the default")

    def extreme(fn):
        for ns in (True, False):
            out = fn(EXTREME, non_saturating=ns)
            if not torch.isfinite(torch.as_tensor(out)):
                raise CheckFailed(f"non_saturating={ns}: extreme logits gave inf/nan; use logsigmoid/softplus")

    def gradient_when_d_wins(fn):
        fake = torch.full((8,), -10.0, requires_grad=True)  # D is sure these are fake
        (g_ns,) = torch.autograd.grad(fn(fake, non_saturating=True), fake)
        fake2 = torch.full((8,), -10.0, requires_grad=True)
        (g_sat,) = torch.autograd.grad(fn(fake2, non_saturating=False), fake2)
        if not g_ns.abs().mean() > 100 * g_sat.abs().mean():
            raise CheckFailed("when D wins, the non-saturating loss should keep a strong gradient and the "
                              "saturating one should vanish")

    return [
        Case("both versions equal their formulas", values, "−F.logsigmoid(ℓ).mean() and F.logsigmoid(−ℓ).mean()"),
        Case("non-saturating is the default", default, "def generator_loss(fake_logits, non_saturating=True)"),
        Case("finite at logits up to ±200", extreme, "stay in log-space"),
        Case("non-saturating keeps its gradient when D wins", gradient_when_d_wins,
             "d/dℓ of −log σ(ℓ) is σ(ℓ) − 1 ≈ −1 for very negative ℓ"),
    ]


def check_discriminator_loss(fn):
    return inline_check("discriminator_loss", fn, d_cases())


def check_generator_loss(fn):
    return inline_check("generator_loss", fn, g_cases())


GRADED = {"discriminator_loss": d_cases, "generator_loss": g_cases}
