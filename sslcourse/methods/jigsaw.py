"""Jigsaw puzzles (Noroozi & Favaro 2016): recognise which permutation shuffled the 3×3 tiles.

A context-free network: the shared encoder sees each tile alone (same weights for all nine),
the nine feature vectors are concatenated, and a small classifier predicts the permutation π
out of a fixed set chosen greedily for a large Hamming distance (the paper's Algorithm 1 by
default: each new permutation maximises its summed distance to those chosen):
L = −log p(π | tiles shuffled by π).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment import color_jitter, random_grayscale, to_float
from ..pretext import extract_tiles, make_permutation_set, shuffle_tiles
from ..train import Method


def normalize_tiles(tiles: torch.Tensor) -> torch.Tensor:
    """Per-tile, per-channel standardisation: no colour or brightness statistics to match tiles by."""
    mean = tiles.mean((-2, -1), keepdim=True)
    std = tiles.std((-2, -1), keepdim=True).clamp(min=1e-3)
    return ((tiles - mean) / std * 0.25 + 0.5)  # back near [0, 1], what encoders expect


class Jigsaw(Method):
    """tiles -> shared encoder per tile -> concatenate -> MLP over the permutation set."""

    lr = 2e-3
    weight_decay = 5e-4

    def __init__(self, encoder: nn.Module, num_permutations: int = 64, tile: int = 9, tile_size: int = 16,
                 tile_jitter: bool = True, per_tile_norm: bool = True, seed: int = 0,
                 permutation_rule: str = "mean"):
        super().__init__()
        self.encoder = encoder
        self.permutation_rule = permutation_rule
        self.register_buffer("permutations", make_permutation_set(num_permutations, 9, seed=seed,
                                                                  rule=permutation_rule))
        self.head = nn.Sequential(nn.Linear(9 * encoder.feature_dim, 512), nn.ReLU(inplace=True),
                                  nn.Linear(512, num_permutations))
        self.tile, self.tile_size = tile, tile_size
        self.tile_jitter, self.per_tile_norm = tile_jitter, per_tile_norm

    def make_puzzles(self, images: torch.Tensor):
        """(N, 3, H, W) -> shuffled tiles (N, 9, 3, t, t) and the index of the permutation used (N,)."""
        x = to_float(images)
        tiles = extract_tiles(x, 3, self.tile, jitter=self.tile_jitter)
        n = len(x)
        labels = torch.randint(len(self.permutations), (n,), device=x.device)
        shuffled = shuffle_tiles(tiles, self.permutations.to(x.device)[labels])
        flat = shuffled.flatten(0, 1)  # (9N, 3, t, t): every tile its own colour jitter / grayscale
        flat = random_grayscale(color_jitter(flat, 0.4, 0.4, 0.4, 0.05, p=0.8), p=0.3)
        if self.per_tile_norm:
            flat = normalize_tiles(flat)
        return flat.view_as(shuffled), labels

    def forward(self, tiles: torch.Tensor) -> torch.Tensor:
        """(N, 9, 3, t, t) -> (N, num_permutations) logits; each tile is seen alone (context-free)."""
        n = len(tiles)
        flat = tiles.flatten(0, 1)
        if self.tile_size != flat.shape[-1]:
            flat = F.interpolate(flat, size=self.tile_size, mode="bilinear", align_corners=False)
        feats = self.encoder(flat.contiguous(memory_format=torch.channels_last))  # (9N, D)
        return self.head(feats.view(n, -1))

    def training_step(self, images, labels=None, part="main"):
        tiles, targets = self.make_puzzles(images)
        logits = self(tiles)
        loss = F.cross_entropy(logits, targets)
        return loss, {"loss": loss, "puzzle_accuracy": (logits.argmax(1) == targets).float().mean()}

    def hparams(self) -> dict:
        return {"num_permutations": len(self.permutations), "tile": self.tile, "tile_size": self.tile_size,
                "jitter": self.tile_jitter, "per_tile_norm": self.per_tile_norm,
                "permutation_rule": self.permutation_rule, "permutations": self.permutations[:4].tolist()}


RECIPES = {
    # quick: per-tile colour jitter and grayscale block the colour shortcut; per-tile
    # standardisation on top cost accuracy here (BENCHMARKS.md), so it is off
    "quick": dict(epochs=3, batch_size=64, lr=2e-3, num_permutations=64, tile=9, tile_size=16,
                  per_tile_norm=False, tile_jitter=True, permutation_rule="mean", ablation_epochs=1),
    # gpu: tiles seen at 16×16 (a quarter of the full profile's 32×32 work) so that ten epochs fit
    # about half a minute on an H100; accuracy not measured yet (BENCHMARKS.md)
    "gpu": dict(epochs=10, batch_size=256, lr=2e-3, num_permutations=100, tile=9, tile_size=16,
                per_tile_norm=True, tile_jitter=True, permutation_rule="mean", ablation_epochs=1),
    "full": dict(epochs=100, batch_size=256, lr=2e-3, num_permutations=100, tile=9, tile_size=32,
                 per_tile_norm=True, tile_jitter=True, permutation_rule="mean", ablation_epochs=10),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> Jigsaw:
    from ..models import build_backbone

    return Jigsaw(encoder or build_backbone(profile.backbone, seed=seed), num_permutations=r["num_permutations"],
                  tile=r["tile"], tile_size=r["tile_size"], per_tile_norm=r["per_tile_norm"],
                  tile_jitter=r["tile_jitter"], seed=seed, permutation_rule=r["permutation_rule"])
