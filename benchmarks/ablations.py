"""Which pretext settings teach the most? Full quick-profile budget per variant, shared protocol.

    python benchmarks/ablations.py inpainting|jigsaw|simclr|rotation [--seed 0]

Each variant trains a fresh encoder with the method's quick recipe plus the listed
changes, then reports kNN and linear-probe accuracy on shapes (and the training time).
"""
from __future__ import annotations

import argparse
import time

from sslcourse.config import profile, seed_everything
from sslcourse.data import load_profile_data
from sslcourse.evaluate import evaluate_encoder
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
    print(f"{'variant':<40}{'kNN':>8}{'linear':>9}{'train s':>9}")
    print(f"{'random init':<40}{100 * rand['knn_accuracy']:7.1f}%{100 * rand['linear_probe_accuracy']:8.1f}%")
    for name, changes in VARIANTS[args.method].items():
        seed_everything(args.seed)
        method, r = build_method(args.method, p, seed=args.seed, **changes)
        t0 = time.perf_counter()
        fit(method, train, **fit_settings(p, r), seed=args.seed, progress=False)
        seconds = time.perf_counter() - t0
        res = evaluate_encoder(method.encoder, train, test)
        print(f"{name:<40}{100 * res['knn_accuracy']:7.1f}%{100 * res['linear_probe_accuracy']:8.1f}%{seconds:9.0f}")


if __name__ == "__main__":
    main()
