"""Exercise 05 — GAN losses from logits, stable at any logit.

Graded functions (ℓ are logits, D = σ(ℓ))::

    discriminator_loss(real_logits, fake_logits) = −mean log σ(ℓ_real) − mean log(1 − σ(ℓ_fake))
    generator_loss(fake_logits, non_saturating=True)
        non-saturating: −mean log σ(ℓ_fake);  saturating (minimax): mean log(1 − σ(ℓ_fake))
    optimal_value(log_p_data, log_p_g, dx) -> scalar V(D*, G)
        on a 1-D grid of spacing dx, from log-densities: D* = p_data / (p_data + p_g),
        V = Σ dx [p_data log D* + p_g log(1 − D*)] = −log 4 + 2 JSD(p_data ‖ p_g), finite wherever the densities
        underflow
"""
from __future__ import annotations

import math

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


def reference_optimal_value(log_p, log_q, dx, swapped=False, with_dx=True):
    """Slow and literal, in float64 with math: for every grid point, log D* = log p − log(p + q) and
    log(1 − D*) = log q − log(p + q), with log(p + q) = max + log(e^(log p − max) + e^(log q − max));
    V = Σ dx (p log D* + q log(1 − D*)). ``swapped`` and ``with_dx=False`` are common mistakes."""
    total = 0.0
    for a, b in zip(log_p.tolist(), log_q.tolist()):
        top = max(a, b)
        log_sum = top + math.log(math.exp(a - top) + math.exp(b - top))
        log_d, log_1md = a - log_sum, b - log_sum
        if swapped:
            log_d, log_1md = log_1md, log_d
        total += math.exp(a) * log_d + math.exp(b) * log_1md
    return total * (dx if with_dx else 1.0)


def gaussian_log_density(x, mean=0.0, std=1.0):
    return -0.5 * ((x - mean) / std) ** 2 - math.log(std * math.sqrt(2 * math.pi))


def _grid(lo=-6.0, hi=8.0, points=561):
    x = torch.linspace(lo, hi, points)
    return x, float(x[1] - x[0])


def _value_settings_case(settings):
    def value(fn):
        for shift, std in settings:
            x, dx = _grid()
            log_p, log_q = gaussian_log_density(x), gaussian_log_density(x, shift, std)
            got = expect_scalar(fn(log_p, log_q, dx), f"optimal_value for p_g = N({shift}, {std}²)")
            want = reference_optimal_value(log_p, log_q, dx)
            if abs(got - want) <= 1e-4 * max(1.0, abs(want)):
                continue
            near = lambda v: abs(got - v) <= 1e-4 * max(1.0, abs(v))  # noqa: E731
            jsd = (want + math.log(4)) / 2
            if near(jsd):
                raise CheckFailed(f"p_g = N({shift}, {std}²): got {got:.5f}, the JSD; the value is V(D*, G) = "
                                  "−log 4 + 2 JSD")
            if near(reference_optimal_value(log_p, log_q, dx, swapped=True)):
                raise CheckFailed(f"p_g = N({shift}, {std}²): got {got:.5f}: D* and 1 − D* are swapped; D* is the "
                                  "probability that x is real, p_data / (p_data + p_g)")
            if near(reference_optimal_value(log_p, log_q, dx, with_dx=False)):
                raise CheckFailed(f"p_g = N({shift}, {std}²): got {got:.5f}, a sum without the grid spacing: the "
                                  "expectations are integrals, Σ dx ·…")
            raise CheckFailed(f"p_g = N({shift}, {std}²): got {got:.5f}, V(D*, G) is {want:.5f}")

    return value


def value_cases() -> list[Case]:
    def scalar(fn):
        x, dx = _grid()
        out = expect_tensor(fn(gaussian_log_density(x), gaussian_log_density(x, 1.0), dx), "optimal_value(...)", ())
        if out.is_complex() or not out.is_floating_point():
            raise CheckFailed(f"the value should be a real number, got {out.dtype}")

    def at_equilibrium(fn):
        x, dx = _grid()
        log_p = gaussian_log_density(x, 2.0, 1.5)
        got = expect_scalar(fn(log_p, log_p.clone(), dx), "V(D*, G) with p_g = p_data")
        if abs(got + math.log(4)) > 1e-3:
            raise CheckFailed(f"with p_g = p_data, D* = ½ everywhere and V = −log 4 ≈ −1.3863; got {got:.5f}")

    def far_apart(fn):
        x, dx = _grid(-30.0, 70.0, 2001)
        log_p, log_q = gaussian_log_density(x), gaussian_log_density(x, 40.0)
        got = expect_scalar(fn(log_p, log_q, dx), "V(D*, G) for p_g = N(40, 1)")
        if not math.isfinite(got):
            raise CheckFailed("far apart, both densities round to 0 at some grid points and p log D* becomes 0 · "
                              "log(0/0) = nan: compute log D* from the log-densities")
        want = reference_optimal_value(log_p, log_q, dx)
        if abs(got - want) > 1e-4:
            raise CheckFailed(f"p_g = N(40, 1): got {got:.5f}, V(D*, G) is {want:.5f}")

    def symmetric(fn):
        x, dx = _grid()
        log_p, log_q = gaussian_log_density(x), gaussian_log_density(x, 1.5, 0.8)
        a = expect_scalar(fn(log_p, log_q, dx), "V(D*, G)")
        b = expect_scalar(fn(log_q, log_p, dx), "V(D*, G) with the two densities swapped")
        if abs(a - b) > 1e-5:
            raise CheckFailed(f"the JSD is symmetric, so V(D*, G) should not change when p_data and p_g swap: "
                              f"{a:.5f} vs {b:.5f}")

    return [
        Case("returns a real scalar", scalar, "one number: an integral over the grid"),
        Case("equals Σ dx [p log D* + q log(1 − D*)] on Gaussians", _value_settings_case([(1.0, 1.0), (2.0, 0.8),
                                                                                           (0.5, 1.5)]),
             "D* is the share of the total density that is real; the value weighs log D* by the real density "
             "and log(1 − D*) by the generated one, then integrates", kind=VALUE),
        Case("is −log 4 at p_g = p_data", at_equilibrium, "there, D* is ½ everywhere", kind=VALUE),
        Case("is finite and exact when the densities underflow", far_apart,
             "a density that rounds to 0 has no log: work with the log-densities and a log of a sum of "
             "exponentials"),
        Case("is symmetric in p_data and p_g", symmetric, "D* and 1 − D* trade places"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n = int(torch.randint(4, 100, (1,), generator=g))
    seed = int(torch.randint(0, 2**31 - 20, (1,), generator=g))
    return {
        "discriminator_loss": [Case(f"equals the formula for {n} logits", _d_value_case((seed,), n), kind=VALUE)],
        "generator_loss": [Case(f"both versions equal their formulas for {n} logits", _g_values_case(seed, n),
                                kind=VALUE)],
        "optimal_value": [Case(f"the formula for p_g = N({n / 25:.2f}, 1)", _value_settings_case([(n / 25, 1.0)]),
                               kind=VALUE)],
    }


def check_discriminator_loss(fn):
    return inline_check("discriminator_loss", fn, d_cases())


def check_generator_loss(fn):
    return inline_check("generator_loss", fn, g_cases())


def check_optimal_value(fn):
    return inline_check("optimal_value", fn, value_cases())


GRADED = {"discriminator_loss": Graded(d_cases), "generator_loss": Graded(g_cases),
          "optimal_value": Graded(value_cases)}
WRITTEN = ("What does the generator learn from a perfect discriminator?",)
