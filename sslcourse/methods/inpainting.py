"""Masked-image reconstruction: from the context encoder (Pathak et al. 2016) to MAE-style
random patches at a high ratio (He et al. 2022), with a convolutional encoder–decoder.

    x̃ = m ⊙ x            (m: 1 visible, 0 hidden; one mask per image)
    x̂ = g(f(x̃))          (f: the encoder's feature map, g: the decoder)
    L = Σ (1−m) ⊙ (x − x̂)² / Σ (1−m)      — the error on the hidden part only
"""
from __future__ import annotations

import torch

from ..augment import horizontal_flip, to_float
from ..models import Decoder
from ..pretext import MASK_STRATEGIES, make_mask, masked_mse
from ..train import Method


def hidden_mean(images, mask):
    """Each image's and channel's mean over its hidden part (mask 0): (N, C, 1, 1); 0 where nothing is hidden."""
    hidden = 1.0 - mask
    return (images * hidden).sum((2, 3), keepdim=True) / hidden.sum((2, 3), keepdim=True).clamp(min=1.0)


def centre_hidden(pred, target, mask):
    """Subtract each image's mean colour over its hidden part from both prediction and target:
    the unpredictable average colour of a hidden part stops mattering, its structure remains
    (the idea of MAE's normalised-pixel targets)."""
    return pred - hidden_mean(pred, mask), target - hidden_mean(target, mask)


def flat_patch(images, mask):
    """``images`` with each hidden part (mask 0) painted flat in that image's true mean colour over it: the best
    fill-in that knows the colour and nothing of the structure (lesson 01's yardstick)."""
    return mask * images + (1.0 - mask) * hidden_mean(images, mask)


def hidden_variation(filled, truth, mask) -> float:
    """How much ``filled`` varies inside the hidden part (mask 0) around its own mean colour there, as a share of
    how much ``truth`` varies around its: 1 when a fill-in is as detailed as the truth, 0 for a flat patch."""
    hidden = 1.0 - mask

    def spread(images):
        return (((images - hidden_mean(images, mask)) * hidden) ** 2).sum() / hidden.sum().clamp(min=1.0)

    return (spread(filled) / spread(truth)).item()


class Inpainting(Method):
    """Hide part of each image, reconstruct it from the rest; the encoder is what we keep."""

    lr = 2e-3
    weight_decay = 1e-4

    def __init__(self, encoder, strategy: str = "patches", mask_ratio: float = 0.5, patch: int = 4,
                 loss_on: str = "hidden", image_size: int = 32, target: str = "pixels", decoder_width: int = 96):
        super().__init__()
        if strategy not in MASK_STRATEGIES:
            raise ValueError(f"unknown mask strategy {strategy!r}: choose one of {', '.join(MASK_STRATEGIES)}")
        if loss_on not in ("hidden", "all"):
            raise ValueError(f"loss_on must be 'hidden' or 'all', got {loss_on!r}")
        self.encoder = encoder
        device = next(encoder.parameters()).device
        with torch.no_grad():  # probe the encoder's output size, on the encoder's device
            fmap = encoder.forward_features(torch.zeros(1, 3, image_size, image_size, device=device))
        self.decoder = Decoder(fmap.shape[1], in_size=fmap.shape[-1], out_size=image_size,
                               width=decoder_width).to(device)
        self.strategy, self.mask_ratio, self.patch, self.loss_on = strategy, mask_ratio, patch, loss_on
        self.image_size = image_size
        self.target = target

    def mask(self, n: int, device) -> torch.Tensor:
        return make_mask(self.strategy, n, self.image_size, self.mask_ratio, self.patch, device=device)

    def reconstruct(self, images: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float in [0, 1] and a mask -> the reconstruction x̂ in [0, 1]."""
        return self.decoder(self.encoder.forward_features(images * mask))

    @torch.no_grad()
    def fill_in(self, images: torch.Tensor, mask: torch.Tensor, colour_from: torch.Tensor | None = None):
        """Visible pixels kept, hidden ones predicted. A structure-trained model predicts no mean colour
        for the hole; ``colour_from`` (e.g. the true images) lends it the hole's mean colour, for display."""
        x = to_float(images)
        pred = self.reconstruct(x, mask).float()
        if colour_from is not None:
            pred_c, true_c = centre_hidden(pred, to_float(colour_from), mask)
            pred = (pred_c + (to_float(colour_from) - true_c)).clamp(0, 1)  # structure + the true mean colour
        return mask * x + (1 - mask) * pred

    def training_step(self, images, labels=None, part="main"):
        x = horizontal_flip(to_float(images))
        m = self.mask(len(x), x.device)
        pred = self.reconstruct(x, m)
        hidden_loss = masked_mse(pred, x, m)
        if self.loss_on == "hidden" and self.target == "structure":
            loss = masked_mse(*centre_hidden(pred, x, m), m)
        else:
            loss = hidden_loss if self.loss_on == "hidden" else (pred.float() - x).pow(2).mean()
        return loss, {"loss": loss, "hidden_mse": hidden_loss.detach()}

    def hparams(self) -> dict:
        return {"strategy": self.strategy, "mask_ratio": self.mask_ratio, "patch": self.patch,
                "loss_on": self.loss_on, "target": self.target, "decoder": self.decoder.net[0].out_channels}


RECIPES = {
    # quick: one random square hiding a quarter of the image, structure target (BENCHMARKS.md
    # compares strategies): shapes' parts have random colours, so only their structure is predictable
    "quick": dict(epochs=3, batch_size=128, lr=2e-3, strategy="block", mask_ratio=0.25, patch=4, loss_on="hidden",
                  target="structure", decoder_width=48, ablation_epochs=1),
    # gpu: about 1.4 s per epoch on an H100 (36,300 images/s measured in the full profile): ~30 s with
    # lesson 01's mask comparison (ablation_epochs per mask, on half the data); accuracy not measured yet
    "gpu": dict(epochs=15, batch_size=512, lr=2e-3, strategy="block", mask_ratio=0.25, patch=4, loss_on="hidden",
                target="structure", decoder_width=128, ablation_epochs=2),
    "full": dict(epochs=100, batch_size=512, lr=2e-3, strategy="block", mask_ratio=0.25, patch=4, loss_on="hidden",
                 target="structure", decoder_width=256, ablation_epochs=10),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> Inpainting:
    from ..models import build_backbone

    return Inpainting(encoder or build_backbone(profile.backbone, seed=seed), strategy=r["strategy"],
                      mask_ratio=r["mask_ratio"], patch=r["patch"], loss_on=r["loss_on"],
                      image_size=profile.image_size, target=r.get("target", "pixels"),
                      decoder_width=r.get("decoder_width", 96))
