"""DCGAN (Radford et al. 2016): the minimax game, and the discriminator as a feature learner.

    min_G max_D  E_x[log D(x)] + E_z[log(1 − D(G(z)))]

D outputs a logit ℓ with D = σ(ℓ). Written with logits, every term is a softplus
(log σ(ℓ) = −softplus(−ℓ), log(1 − σ(ℓ)) = −softplus(ℓ)), which is finite for any ℓ —
``log(sigmoid(ℓ))`` is −inf once σ(ℓ) rounds to 0 (ℓ ≈ −104 in float32, far sooner in half precision).
"""
from __future__ import annotations

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


class GAN(Method):
    """Generator and discriminator, two optimisers stepped in turn by ``fit`` (D first, then G).

    upsample: how G doubles its resolution, ``"resize"`` (nearest ×2 + 3×3 conv) or DCGAN's ``"transposed"``
    (see ``models.Generator``); spectral_norm: D's weights divided by their largest singular value.
    """

    schedule = "constant"

    def __init__(self, z_dim: int = 64, width: int = 64, lr_d: float = 2e-4, lr_g: float = 2e-4,
                 non_saturating: bool = True, upsample: str = "resize", spectral_norm: bool = False,
                 beta1: float = 0.5):
        super().__init__()
        self.generator = Generator(z_dim, width, upsample)
        self.discriminator = Discriminator(width, spectral_norm)
        self.encoder = DiscriminatorEncoder(self.discriminator)  # shares D's weights
        self.z_dim, self.lr_d, self.lr_g, self.non_saturating, self.beta1 = z_dim, lr_d, lr_g, non_saturating, beta1

    def configure_optimizers(self, lr=None, weight_decay=None) -> dict:
        betas = (self.beta1, 0.999)  # DCGAN's Adam: β1 = 0.5
        return {"discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=self.lr_d, betas=betas),
                "generator": torch.optim.Adam(self.generator.parameters(), lr=self.lr_g, betas=betas)}

    def sample(self, n: int, z: torch.Tensor | None = None) -> torch.Tensor:
        """n generated images in [0, 1] (for plots and evaluation)."""
        device = next(self.parameters()).device
        z = z if z is not None else torch.randn(n, self.z_dim, device=device)
        return (self.generator(z.to(device)) + 1) / 2

    def training_step(self, images, labels=None, part="discriminator"):
        real = horizontal_flip(to_float(images)) * 2 - 1  # the generator's tanh range, [-1, 1]
        z = torch.randn(len(real), self.z_dim, device=real.device)
        if part == "discriminator":
            fake = self.generator(z).detach()  # D's step must not move G
            real_logits, fake_logits = self.discriminator(real), self.discriminator(fake)
            loss = discriminator_loss(real_logits, fake_logits)
            return loss, {"loss_d": loss, "d_real": torch.sigmoid(real_logits.float()).mean(),
                          "d_fake": torch.sigmoid(fake_logits.float()).mean()}
        loss = generator_loss(self.discriminator(self.generator(z)), self.non_saturating)
        return loss, {"loss_g": loss}

    def hparams(self) -> dict:
        return {"z_dim": self.z_dim, "lr_d": self.lr_d, "lr_g": self.lr_g, "non_saturating": self.non_saturating,
                "width": self.discriminator.stage_dims[0], "upsample": self.generator.upsample,
                "spectral_norm": self.discriminator.spectral_norm, "beta1": self.beta1}


# ablation_epochs: the short runs of lesson 05's "how GANs fail" demo (on a quarter or an eighth of the data).
# gpu: sized from the measured H100 throughput (25,600 images/s: about 2 s per epoch) for about
# a minute of lesson training; its accuracy is not measured yet (BENCHMARKS.md).
RECIPES = {
    "quick": dict(epochs=4, batch_size=32, z_dim=64, width=32, lr_d=2e-4, lr_g=2e-4, non_saturating=True,
                  upsample="resize", spectral_norm=False, beta1=0.5, ablation_epochs=1),
    "gpu": dict(epochs=15, batch_size=256, z_dim=128, width=64, lr_d=2e-4, lr_g=2e-4, non_saturating=True,
                upsample="resize", spectral_norm=False, beta1=0.5, ablation_epochs=1),
    "full": dict(epochs=60, batch_size=256, z_dim=128, width=64, lr_d=2e-4, lr_g=2e-4, non_saturating=True,
                 upsample="resize", spectral_norm=False, beta1=0.5, ablation_epochs=5),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> GAN:
    if encoder is not None:
        raise ValueError("the GAN learns its own discriminator; it cannot take a backbone as encoder")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return GAN(z_dim=r["z_dim"], width=r["width"], lr_d=r["lr_d"], lr_g=r["lr_g"],
                   non_saturating=r.get("non_saturating", True), upsample=r["upsample"],
                   spectral_norm=r["spectral_norm"], beta1=r["beta1"])
