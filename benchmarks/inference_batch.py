"""Feature extraction's speed by batch size on this machine: the numbers behind ``evaluate.INFERENCE_BATCH``.

Extracts the features of the quick profile's 10,000 + 2,000 images (what ``evaluate_encoder`` does for every
encoder) with the course's three encoders — the small ConvNet, the GAN's discriminator, lesson 07's ViT — at
several batch sizes, and checks that the features are the same whatever the batch.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/inference_batch.py --repeats 5
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batches", type=int, nargs="+", default=[512, 256, 128, 64])
    args = parser.parse_args(argv)

    from sslcourse.config import profile
    from sslcourse.data import load_profile_data
    from sslcourse.evaluate import extract_features, inference_batch_size
    from sslcourse.models import build_backbone
    from sslcourse.runs import plan_run

    p = profile("quick", device="cpu")
    train, test = load_profile_data(p)
    images = torch.cat([train.images, test.images])
    encoders = {"small ConvNet": build_backbone(p.backbone, seed=0).eval(),
                "GAN discriminator": plan_run("gan", p, train, seed=1).build().encoder.eval(),
                "ViT (lesson 07)": plan_run("mae", p, train, seed=0).build().encoder.eval()}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); {len(images)} images "
          f"{tuple(images.shape[1:])}; median of {args.repeats}; the CPU's default batch: {inference_batch_size('cpu')}")
    print(f"{'encoder':<18} " + " ".join(f"{'batch ' + str(b):>10}" for b in args.batches) + "   same features")
    for name, encoder in encoders.items():
        extract_features(encoder, images[:256])  # warm-up
        reference = extract_features(encoder, images, batch_size=args.batches[0])
        cells, same = [], True
        for batch in args.batches:
            times = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                features = extract_features(encoder, images, batch_size=batch)
                times.append(time.perf_counter() - t0)
            same &= torch.allclose(features, reference, rtol=1e-5, atol=1e-5)
            cells.append(f"{statistics.median(times):9.2f}s")
        print(f"{name:<18} " + " ".join(cells) + f"   {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
