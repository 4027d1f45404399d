"""Supervised training with all labels: the upper baseline, and few-label fine-tuning."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment import light_augment
from ..models import linear_head
from ..train import Method, make_optimizer


class Supervised(Method):
    """Cross-entropy on (crop + flip)-augmented images: encoder -> linear classifier."""

    lr = 2e-3
    weight_decay = 5e-4

    def __init__(self, encoder: nn.Module, num_classes: int = 10, layer_decay: float | None = None):
        super().__init__()
        self.layer_decay = layer_decay
        self.encoder = encoder
        self.classifier = linear_head(encoder.feature_dim, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.encoder(images))  # (N, num_classes) logits

    def training_step(self, images, labels, part="main"):
        logits = self(light_augment(images))
        loss = F.cross_entropy(logits, labels)
        acc = (logits.argmax(1) == labels).float().mean()
        return loss, {"loss": loss, "train_accuracy": acc}

    def configure_optimizers(self, lr: float | None = None, weight_decay: float | None = None) -> dict:
        """With ``layer_decay`` (fine-tuning a ViT, as MAE does): layer k of D learns at lr · decay^(D + 1 − k),
        so the first layers, which pretraining got most right, move least; the head learns at the full rate."""
        if self.layer_decay is None:
            return super().configure_optimizers(lr, weight_decay)
        if not hasattr(self.encoder, "layer_of"):
            raise ValueError(f"layer_decay needs an encoder made of layers (a ViT), not {type(self.encoder).__name__}")
        lr, wd = lr or self.lr, self.weight_decay if weight_decay is None else weight_decay
        top = self.encoder.depth + 1
        groups = {}
        for name, param in self.encoder.named_parameters():
            if param.requires_grad:
                groups.setdefault(self.encoder.layer_of(name), []).append(param)
        groups = [{"params": ps, "lr": lr * self.layer_decay ** (top - k)} for k, ps in sorted(groups.items())]
        groups.append({"params": [q for q in self.classifier.parameters() if q.requires_grad], "lr": lr})
        return {"main": make_optimizer(self.optimizer, groups, lr, wd)}

    def hparams(self) -> dict:
        return {"num_classes": self.classifier.out_features, **({"layer_decay": self.layer_decay}
                                                                 if self.layer_decay is not None else {})}


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
