"""Exercise 05 — GAN losses from logits, stable at any logit.

Graded functions (ℓ are logits, D = σ(ℓ))::

    discriminator_loss(real_logits, fake_logits) = −mean log σ(ℓ_real) − mean log(1 − σ(ℓ_fake))
    generator_loss(fake_logits, non_saturating=True)
        non-saturating: −mean log σ(ℓ_fake);  saturating (minimax): mean log(1 − σ(ℓ_fake))
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .core import VALUE, Case, CheckFailed, Graded, expect_scalar, expect_tensor, inline_check


def _logits(n, seed, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g) * scale


def _log_sigmoid_ref(x):
    """log σ(x) in float64, the naive way (fine for moderate x)."""
    return torch.log(torch.sigmoid(x.double()))


EXTREME = torch.tensor([-200.0, -50.0, -20.0, 0.0, 20.0, 50.0, 200.0])  # naive forms give inf/nan here


def _close(got, want, what):
    if not abs(got - float(want)) <= 1e-4 * max(1.0, abs(float(want))):
        raise CheckFailed(f"{what}: got {got:.6g}, expected {float(want):.6g}")


def _d_value_case(seeds, n=32):
    def value(fn):
        for seed in seeds:
            real, fake = _logits(n, seed), _logits(n, seed + 10)
            want = -(_log_sigmoid_ref(real).mean() + torch.log(1 - torch.sigmoid(fake.double())).mean())
            got = expect_scalar(fn(real, fake), "discriminator_loss(...)")
            if abs(got + float(want)) <= 1e-4 * max(1.0, abs(float(want))):
                raise CheckFailed(f"got {got:.6g}, the negative of the loss: it is −E[log D(x)] − E[log(1 − D(G(z)))]")
            _close(got, want, "−E[log D(x)] − E[log(1 − D(G(z)))]")

    return value


def d_cases() -> list[Case]:
    def scalar(fn):
        out = expect_tensor(fn(_logits(8, 0), _logits(8, 1)), "discriminator_loss(...)", ())
        if not torch.isfinite(out):
            raise CheckFailed(f"the loss is {float(out)}")

    def extreme(fn):
        got = expect_scalar(fn(EXTREME, EXTREME), "the loss at logits up to ±200")
        if not torch.isfinite(torch.tensor(got)):
            raise CheckFailed("extreme logits gave inf/nan: σ rounds to 0 or 1 and its log is infinite")
        want = F.softplus(-EXTREME.double()).mean() + F.softplus(EXTREME.double()).mean()
        _close(got, want, "the loss at logits ±200")

    def direction(fn):
        confident = expect_scalar(fn(torch.full((4,), 6.0), torch.full((4,), -6.0)), "the loss")
        fooled = expect_scalar(fn(torch.full((4,), -6.0), torch.full((4,), 6.0)), "the loss")
        if not confident < fooled:
            raise CheckFailed("a discriminator that is right should have the lower loss")

    return [
        Case("returns a finite scalar", scalar, "average over the batch: one number"),
        Case("equals the formula", _d_value_case((2, 3, 4)),
             "log σ(ℓ) and log(1 − σ(ℓ)) = log σ(−ℓ) both have stable library forms", kind=VALUE),
        Case("is finite and exact at logits up to ±200", extreme,
             "computing σ first and then its log loses everything at large |ℓ|: stay in log-space"),
        Case("is low when D is right, high when it is fooled", direction,
             "real images should get large logits, fakes small ones"),
    ]


def _g_values_case(seed, n=32):
    def values(fn):
        fake = _logits(n, seed)
        _close(expect_scalar(fn(fake, non_saturating=True), "generator_loss(non_saturating=True)"),
               -_log_sigmoid_ref(fake).mean(), "non-saturating −E[log D(G(z))]")
        _close(expect_scalar(fn(fake, non_saturating=False), "generator_loss(non_saturating=False)"),
               torch.log(1 - torch.sigmoid(fake.double())).mean(), "saturating E[log(1 − D(G(z)))]")

    return values


def g_cases() -> list[Case]:
    def default(fn):
        fake = _logits(16, 6)
        if expect_scalar(fn(fake), "generator_loss(fake)") != expect_scalar(fn(fake, non_saturating=True), "the loss"):
            raise CheckFailed("non_saturating=True should be the default")

    def extreme(fn):
        for ns in (True, False):
            out = expect_tensor(fn(EXTREME, non_saturating=ns), "the loss", ())
            if not torch.isfinite(out):
                raise CheckFailed(f"non_saturating={ns}: extreme logits gave inf/nan")

    def gradient_when_d_wins(fn):
        fake = torch.full((8,), -10.0)  # D is sure these are fake
        _, (g_ns,) = fn.with_grad(fake, non_saturating=True, wrt=(0,))
        _, (g_sat,) = fn.with_grad(fake, non_saturating=False, wrt=(0,))
        if not g_ns.abs().mean() > 100 * g_sat.abs().mean():
            raise CheckFailed("when D wins, the non-saturating loss should keep a strong gradient and the "
                              "saturating one should vanish")

    return [
        Case("both versions equal their formulas", _g_values_case(5),
             "the non-saturating loss maximises log D(G(z)); the saturating one minimises log(1 − D(G(z)))",
             kind=VALUE),
        Case("non-saturating is the default", default, "the default value of the argument decides"),
        Case("finite at logits up to ±200", extreme, "stay in log-space, as for the discriminator"),
        Case("non-saturating keeps its gradient when D wins", gradient_when_d_wins,
             "compare d/dℓ of −log σ(ℓ) and of log(1 − σ(ℓ)) at ℓ = −10"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n = int(torch.randint(4, 100, (1,), generator=g))
    seed = int(torch.randint(0, 2**31 - 20, (1,), generator=g))
    return {
        "discriminator_loss": [Case(f"equals the formula for {n} logits", _d_value_case((seed,), n), kind=VALUE)],
        "generator_loss": [Case(f"both versions equal their formulas for {n} logits", _g_values_case(seed, n),
                                kind=VALUE)],
    }


def check_discriminator_loss(fn):
    return inline_check("discriminator_loss", fn, d_cases())


def check_generator_loss(fn):
    return inline_check("generator_loss", fn, g_cases())


GRADED = {"discriminator_loss": Graded(d_cases), "generator_loss": Graded(g_cases)}
