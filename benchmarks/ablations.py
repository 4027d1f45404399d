"""Which pretext settings teach the most? Full quick-profile budget per variant, shared protocol.

    python benchmarks/ablations.py inpainting|jigsaw|simclr|rotation|moco|byol [--seed 0]

Each variant trains a fresh encoder with the method's quick recipe plus the listed
changes, then reports kNN and linear-probe accuracy on shapes (and the training time);
for methods with a projector, also the per-dimension std and the effective rank of the
normalised projections of 1,024 test images (sslcourse.collapse: 1/√D and D when healthy).
"""
from __future__ import annotations

import argparse
import time

import torch.nn as nn

from sslcourse.collapse import effective_rank, embedding_std
from sslcourse.config import profile, seed_everything
from sslcourse.data import load_profile_data
from sslcourse.evaluate import evaluate_encoder, extract_features
from sslcourse.methods import build_method
from sslcourse.runs import baseline, fit_settings
from sslcourse.train import fit

VARIANTS = {
    "inpainting": {
        "pixels 50%, pixel target": dict(strategy="pixels", mask_ratio=0.5, target="pixels"),
        "patches 75%, pixel target": dict(strategy="patches", mask_ratio=0.75, target="pixels"),
        "centre 25%, pixel target": dict(strategy="center", mask_ratio=0.25, target="pixels"),
        "block 25%, pixel target": dict(strategy="block", mask_ratio=0.25, target="pixels"),
        "block 25%, whole-image loss": dict(strategy="block", mask_ratio=0.25, loss_on="all"),
        "centre 25%, structure target": dict(strategy="center", mask_ratio=0.25, target="structure"),
        "block 25% (recipe)": dict(),
        "block 40%, structure target": dict(strategy="block", mask_ratio=0.4),
    },
    "jigsaw": {
        "recipe (colour jitter + gray per tile)": dict(),
        "+ per-tile standardisation": dict(per_tile_norm=True),
        "no tile jitter (edges can match)": dict(tile_jitter=False),
        "16 permutations": dict(num_permutations=16),
        "100 permutations": dict(num_permutations=100),
    },
    "simclr": {
        "recipe (crop 0.5-1 + colour 0.5)": dict(),
        "crop 0.2-1": dict(min_scale=0.2),
        "crop only (no colour)": dict(strength=0.0),
        "colour only (no crop)": dict(min_scale=1.0),
        "temperature 0.5": dict(temperature=0.5),
    },
    "rotation": {
        "recipe": dict(),
        "no crop (whole images)": dict(min_scale=1.0),
    },
    "moco": {
        "recipe": dict(),
        "momentum 0 (key encoder = query encoder)": dict(momentum=0.0),
        "momentum 0.9": dict(momentum=0.9),
        "momentum 0.999": dict(momentum=0.999),
        "queue 1024": dict(queue_size=1024),
        "temperature 0.2": dict(temperature=0.2),
        "grayscale 0.2 (SimCLR's)": dict(gray_p=0.2),
        "batch 128": dict(batch_size=128),
    },
    "byol": {
        "recipe": dict(),
        "SimCLR's colour augmentations (jitter 0.5, grayscale 0.2)": dict(strength=0.5, gray_p=0.2),
        "grayscale 0.2 (SimCLR's)": dict(gray_p=0.2),
        "predictor at the common learning rate": dict(predictor_lr=1.0),
        "batch 128": dict(batch_size=128),
        "4 epochs": dict(epochs=4),
        "no predictor": dict(predictor=False),
        "no stop-gradient": dict(stop_gradient=False),
        "no momentum (m = 0)": dict(momentum=0.0, schedule="constant"),
    },
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("method", choices=sorted(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    p = profile("quick")
    train, test = load_profile_data(p)
    rand = baseline("random", p, train, test, seed=args.seed)
    print(f"{args.method} on {train.name}, {p}")
    print(f"{'variant':<40}{'kNN':>8}{'linear':>9}{'train s':>9}{'z std':>8}{'rank':>7}")
    print(f"{'random init':<40}{100 * rand['knn_accuracy']:7.1f}%{100 * rand['linear_probe_accuracy']:8.1f}%")
    for name, changes in VARIANTS[args.method].items():
        seed_everything(args.seed)
        method, r = build_method(args.method, p, seed=args.seed, **changes)
        t0 = time.perf_counter()
        fit(method, train, **fit_settings(p, r), seed=args.seed, progress=False)
        seconds = time.perf_counter() - t0
        res = evaluate_encoder(method.encoder, train, test)
        print(f"{name:<40}{100 * res['knn_accuracy']:7.1f}%{100 * res['linear_probe_accuracy']:8.1f}%{seconds:9.0f}"
              + collapse_columns(method, test))


def collapse_columns(method, test) -> str:
    """The projections' per-dimension std and effective rank, for methods with a projector."""
    if not hasattr(method, "projector"):
        return ""
    z = extract_features(nn.Sequential(method.encoder, method.projector), test.images[:1024])
    return f"{embedding_std(z).item():8.4f}{effective_rank(z).item():7.1f}"


if __name__ == "__main__":
    main()
