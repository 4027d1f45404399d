"""Supervised training with all labels: the upper baseline, and few-label fine-tuning."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment import light_augment
from ..models import linear_head
from ..train import Method


class Supervised(Method):
    """Cross-entropy on (crop + flip)-augmented images: encoder -> linear classifier."""

    lr = 2e-3
    weight_decay = 5e-4

    def __init__(self, encoder: nn.Module, num_classes: int = 10):
        super().__init__()
        self.encoder = encoder
        self.classifier = linear_head(encoder.feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.encoder(images))  # (N, num_classes) logits

    def training_step(self, images, labels, part="main"):
        logits = self(light_augment(images))
        loss = F.cross_entropy(logits, labels)
        acc = (logits.argmax(1) == labels).float().mean()
        return loss, {"loss": loss, "train_accuracy": acc}

    def hparams(self) -> dict:
        return {"num_classes": self.classifier.out_features}


RECIPES = {
    # quick: the ceiling trained to convergence at a lesson's budget (about 70 s on 2 cores). Seed 0, shapes, kNN /
    # linear probe: 4 epochs 71.5 / 79.0 % (train accuracy 73 %), 12 epochs 89.4 / 91.5 %, 24 epochs 92.6 / 93.7 %
    # (train 95 %); 48 epochs 95.2 / 96.0 % (train 97 %): 2-3 points more for twice the time (BENCHMARKS.md).
    "quick": dict(epochs=24, batch_size=256, lr=2e-3),
    # gpu: about 1.5 s per epoch on an H100 (35,300 images/s measured in the full profile)
    "gpu": dict(epochs=15, batch_size=512, lr=4e-3),
    "full": dict(epochs=40, batch_size=512, lr=4e-3),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> Supervised:
    from ..models import build_backbone

    return Supervised(encoder or build_backbone(profile.backbone, seed=seed), num_classes=r.get("num_classes", 10))
