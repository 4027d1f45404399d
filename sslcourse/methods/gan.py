"""DCGAN (Radford et al. 2016): the minimax game, and the discriminator as a feature learner.

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]

D outputs a logit ℓ with D = σ(ℓ). Written with logits, every term is a softplus
(log σ(ℓ) = −softplus(−ℓ), log(1 − σ(ℓ)) = −softplus(ℓ)), which is finite for any ℓ —
``log(sigmoid(ℓ))`` is −inf once σ(ℓ) rounds to 0 (ℓ ≈ −104 in float32, far sooner in half precision).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from ..augment import horizontal_flip, to_float
from ..models import Discriminator, DiscriminatorEncoder, Generator
from ..train import Method


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−E[log D(x)] − E[log(1 − D(G(z)))] from logits: mean softplus(−ℓ_real) + mean softplus(ℓ_fake)."""
    return F.softplus(-real_logits.float()).mean() + F.softplus(fake_logits.float()).mean()


def generator_loss(fake_logits: torch.Tensor, non_saturating: bool = True) -> torch.Tensor:
    """Non-saturating: −E[log D(G(z))] = mean softplus(−ℓ). Saturating (the minimax one):
    E[log(1 − D(G(z)))] = −mean softplus(ℓ), whose gradient vanishes when D wins."""
    if non_saturating:
        return F.softplus(-fake_logits.float()).mean()
    return -F.softplus(fake_logits.float()).mean()


def hinge_discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """The hinge loss (Lim & Ye 2017; SN-GAN, BigGAN): mean relu(1 − ℓ_real) + mean relu(1 + ℓ_fake).

    A real image whose logit is already above 1 (a fake below −1) adds nothing: D stops pushing the logits
    of what it already tells apart, instead of driving them to ±∞ as the log loss does."""
    return F.relu(1 - real_logits.float()).mean() + F.relu(1 + fake_logits.float()).mean()


def hinge_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The hinge game's generator loss: −mean ℓ_fake, a gradient of the same size whatever D's verdict."""
    return -fake_logits.float().mean()


LOSSES = ("bce", "hinge")


class GAN(Method):
    """Generator and discriminator, two optimisers stepped in turn by ``fit`` (D first, then G).

    upsample: how G doubles its resolution, ``"resize"`` (nearest ×2 + 3×3 conv) or DCGAN's ``"transposed"``
    (see ``models.Generator``); spectral_norm: D's weights divided by their largest singular value;
    loss: ``"bce"`` (the log loss of the minimax game, the generator's non-saturating or not) or ``"hinge"``;
    ema: the decay of an exponential moving average of G's weights, kept beside G and sampled from
    (0: none) — each step ``θ_ema ← d θ_ema + (1 − d) θ`` with ``d = min(ema, (1 + t) / (10 + t))`` at step t,
    so that the first steps' random weights are soon forgotten.
    """

    schedule = "constant"

    def __init__(self, z_dim: int = 64, width: int = 64, lr_d: float = 2e-4, lr_g: float = 2e-4,
                 non_saturating: bool = True, upsample: str = "resize", spectral_norm: bool = False,
                 beta1: float = 0.5, loss: str = "bce", ema: float = 0.0):
        super().__init__()
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
        if not 0.0 <= ema < 1.0:
            raise ValueError(f"ema is a decay in [0, 1) (0: no moving average), got {ema}")
        self.generator = Generator(z_dim, width, upsample)
        self.discriminator = Discriminator(width, spectral_norm)
        self.encoder = DiscriminatorEncoder(self.discriminator)  # shares D's weights
        self.z_dim, self.lr_d, self.lr_g, self.non_saturating, self.beta1 = z_dim, lr_d, lr_g, non_saturating, beta1
        self.loss, self.ema = loss, ema
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False) if ema else None

    def configure_optimizers(self, lr=None, weight_decay=None) -> dict:
        betas = (self.beta1, 0.999)  # DCGAN's Adam: β1 = 0.5
        return {"discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=betas),
                "generator": torch.optim.Adam(self.generator.parameters(), lr=self.lr_g, betas=betas)}

    def sample(self, n: int, z: torch.Tensor | None = None, ema: bool | None = None) -> torch.Tensor:
        """n generated images in [0, 1] (for plots and evaluation), from the moving average of G's weights when
        the method keeps one (``ema=False``: from G as trained)."""
        if ema and self.generator_ema is None:
            raise ValueError("this GAN keeps no moving average of G's weights: build it with ema > 0")
        generator = self.generator if ema is False or self.generator_ema is None else self.generator_ema
        device = next(self.parameters()).device
        z = z if z is not None else torch.randn(n, self.z_dim, device=device)
        return (generator(z.to(device)) + 1) / 2

    @torch.no_grad()
    def on_step_end(self, step: int, total_steps: int) -> None:
        """After each step: the moving average of G's weights follows G (its batch-norm statistics are copied)."""
        if self.generator_ema is None:
            return
        decay = min(self.ema, (1 + step) / (10 + step))
        for average, now in zip(self.generator_ema.parameters(), self.generator.parameters()):
            average.lerp_(now, 1 - decay)
        for average, now in zip(self.generator_ema.buffers(), self.generator.buffers()):
            average.copy_(now)

    def training_step(self, images, labels=None, part="discriminator"):
        real = horizontal_flip(to_float(images)) * 2 - 1  # the generator's tanh range, [-1, 1]
        z = torch.randn(len(real), self.z_dim, device=real.device)
        if part == "discriminator":
            fake = self.generator(z).detach()  # D's step must not move G
            real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
            if self.loss == "hinge":
                loss = hinge_discriminator_loss(real_logits, fake_logits)
            else:
                loss = discriminator_loss(real_logits, fake_logits)
            return loss, {"loss_d": loss, "d_real": torch.sigmoid(real_logits.float()).mean(),
                          "d_fake": torch.sigmoid(fake_logits.float()).mean()}
        fake_logits = self.discriminator(self.generator(z))
        if self.loss == "hinge":
            loss = hinge_generator_loss(fake_logits)
        else:
            loss = generator_loss(fake_logits, self.non_saturating)
        return loss, {"loss_g": loss}

    def hparams(self) -> dict:
        return {"z_dim": self.z_dim, "lr_d": self.lr_d, "lr_g": self.lr_g, "non_saturating": self.non_saturating,
                "width": self.discriminator.stage_dims[0], "upsample": self.generator.upsample,
                "spectral_norm": self.discriminator.spectral_norm, "beta1": self.beta1, "loss": self.loss,
                "ema": self.ema}


# ablation_epochs: the short runs of lesson 05's "how GANs fail" demo (on a quarter or an eighth of the data).
# gpu: sized from the measured H100 throughput (25,600 images/s: about 2 s per epoch) for about
# a minute of lesson training; its accuracy is not measured yet (BENCHMARKS.md).
RECIPES = {
    "quick": dict(epochs=4, batch_size=32, z_dim=64, width=32, lr_d=2e-4, lr_g=2e-4, non_saturating=True,
                  upsample="resize", spectral_norm=False, beta1=0.5, loss="bce", ema=0.0, ablation_epochs=1),
    "gpu": dict(epochs=15, batch_size=256, z_dim=128, width=64, lr_d=2e-4, lr_g=2e-4, non_saturating=True,
                upsample="resize", spectral_norm=False, beta1=0.5, loss="bce", ema=0.0, ablation_epochs=1),
    "full": dict(epochs=60, batch_size=256, z_dim=128, width=64, lr_d=2e-4, lr_g=2e-4, non_saturating=True,
                 upsample="resize", spectral_norm=False, beta1=0.5, loss="bce", ema=0.0, ablation_epochs=5),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> GAN:
    if encoder is not None:
        raise ValueError("the GAN learns its own discriminator; it cannot take a backbone as encoder")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GAN(z_dim=r["z_dim"], width=r["width"], lr_d=r["lr_d"], lr_g=r["lr_g"],
                   non_saturating=r.get("non_saturating", True), upsample=r["upsample"],
                   spectral_norm=r["spectral_norm"], beta1=r["beta1"], loss=r.get("loss", "bce"),
                   ema=r.get("ema", 0.0))
