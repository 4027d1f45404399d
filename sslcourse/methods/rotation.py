"""RotNet (Gidaris et al. 2018): predict which of four rotations was applied.

Every image of the batch is shown in all four rotations r ∈ {0°, 90°, 180°, 270°} with its
label r, and the encoder + a linear head minimise  L = −log p(r | rot_r(x)).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment import random_resized_crop
from ..pretext import rotate_batch
from ..train import Method


class Rotation(Method):
    """encoder -> linear head over the four rotations; the augmentation keeps "up" intact (no random angles)."""

    lr = 2e-3
    weight_decay = 5e-4

    def __init__(self, encoder: nn.Module, min_scale: float = 0.5):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.feature_dim, 4)
        self.min_scale = min_scale

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(images))  # (N, 4) rotation logits

    def training_step(self, images, labels=None, part="main"):
        x = random_resized_crop(images, scale=(self.min_scale, 1.0), flip_p=0.5)  # flips keep "up" up
        rotated, targets = rotate_batch(x)  # (4N, 3, H, W), (4N,)
        logits = self(rotated)
        loss = F.cross_entropy(logits, targets)
        return loss, {"loss": loss, "rotation_accuracy": (logits.argmax(1) == targets).float().mean()}

    def hparams(self) -> dict:
        return {"min_scale": self.min_scale}


RECIPES = {
    "quick": dict(epochs=2, batch_size=64, lr=2e-3, min_scale=0.5),
    # gpu: four rotations per image, about 3.5 s per epoch on an H100 (14,300 images/s measured in the
    # full profile): eight epochs for about half a minute; accuracy not measured yet (BENCHMARKS.md)
    "gpu": dict(epochs=8, batch_size=256, lr=2e-3, min_scale=0.5),
    "full": dict(epochs=100, batch_size=256, lr=2e-3, min_scale=0.5),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> Rotation:
    from ..models import build_backbone

    return Rotation(encoder or build_backbone(profile.backbone, seed=seed), min_scale=r["min_scale"])
