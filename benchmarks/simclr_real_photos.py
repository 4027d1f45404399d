"""Does the quick SimCLR recipe work on real photos? CIFAR-10 JPEGs, about two CPU minutes.

    python benchmarks/simclr_real_photos.py [--archive ../shared/data/cifar10-full-jpeg.tar.gz]
                                            [--train 10000 --test 2000 --epochs 24 --seed 0]

Draws a class-balanced subset (train / test) from the archive's ImageFolder into a temporary
folder, trains SimCLR with the quick profile's recipe (small ConvNet, batch 128, τ = 0.2, crop
0.5–1, colour 0.5) for ``--epochs``, and prints kNN and linear-probe accuracy next to the
random-init encoder's, with the training time.
"""
from __future__ import annotations

import argparse
import tarfile
import tempfile
import time
from pathlib import Path

from sslcourse.config import profile, seed_everything
from sslcourse.data import load_dataset
from sslcourse.evaluate import evaluate_encoder
from sslcourse.methods import build_method
from sslcourse.runs import fit_settings
from sslcourse.models import build_backbone
from sslcourse.train import fit

DEFAULT_ARCHIVE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-full-jpeg.tar.gz"


def extract_subset(archive: Path, dest: Path, per_class: dict) -> None:
    """Extract the first ``per_class[split]`` images of every class of each split."""
    counts = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 3 or parts[0] not in per_class:
                continue
            key = (parts[0], parts[1])
            if counts.get(key, 0) < per_class[parts[0]]:
                counts[key] = counts.get(key, 0) + 1
                tar.extract(member, dest, filter="data")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE)
    ap.add_argument("--train", type=int, default=10_000)
    ap.add_argument("--test", type=int, default=2_000)
    ap.add_argument("--epochs", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not args.archive.exists():
        raise SystemExit(f"{args.archive} not found: pass --archive PATH to cifar10-full-jpeg.tar.gz")
    p = profile("quick")
    with tempfile.TemporaryDirectory() as tmp:
        extract_subset(args.archive, Path(tmp), {"train": args.train // 10, "test": args.test // 10})
        train = load_dataset("folder", "train", root=tmp)
        test = load_dataset("folder", "test", root=tmp)
    print(f"real photos: {len(train)} train / {len(test)} test CIFAR-10 JPEGs; {p}")
    seed_everything(args.seed)
    rand = evaluate_encoder(build_backbone(p.backbone, seed=args.seed), train, test)
    method, r = build_method("simclr", p, seed=args.seed, epochs=args.epochs)
    t0 = time.perf_counter()
    fit(method, train, **fit_settings(p, r), seed=args.seed, desc="SimCLR on photos")
    seconds = time.perf_counter() - t0
    res = evaluate_encoder(method.encoder, train, test)
    print(f"recipe {r}; trained {seconds:.0f} s")
    print(f"  random init: kNN {rand['knn_accuracy']:.1%}  linear {rand['linear_probe_accuracy']:.1%}")
    print(f"  SimCLR:      kNN {res['knn_accuracy']:.1%}  linear {res['linear_probe_accuracy']:.1%}")
    print(f"  kNN gain: {100 * (res['knn_accuracy'] - rand['knn_accuracy']):+.1f} points, "
          f"linear gain: {100 * (res['linear_probe_accuracy'] - rand['linear_probe_accuracy']):+.1f} points")


if __name__ == "__main__":
    main()
