"""What makes the quick GAN draw objects? Each variant of the recipe, timed, with its sample quality.

    python benchmarks/gan_quality.py [VARIANT ...] [--profile quick|gpu] [--seed 0] [--samples 1000] [--grid DIR]

For each variant: train the GAN (the profile's recipe plus the variant's changes) through ``fit`` without
checkpoints, and after every epoch score 1,000 samples with the supervised judge
(``sslcourse.generative.SampleJudge``): Fréchet distance in the supervised encoder's features against the
test images, share of samples recognised (top probability >= 0.5), classes found (>= 1 % of the samples).
Prints training images/s (the loop only, scoring excluded), the per-epoch figures, and the discriminator's
linear-probe accuracy at the end. The judge's own scores on real training images are printed first.
``--grid DIR`` saves each variant's final samples as a PNG.
"""
from __future__ import annotations

import argparse
import copy
import time

import torch

from sslcourse.config import profile, seed_everything
from sslcourse.data import load_profile_data
from sslcourse.evaluate import evaluate_encoder
from sslcourse.generative import SampleJudge, probe_classifier
from sslcourse.runs import plan_run, train_method
from sslcourse.train import fit

VARIANTS = {
    "baseline": dict(upsample="transposed"),  # DCGAN as published: the quick recipe before the checkerboard fix
    "recipe": dict(),  # the recipe as it is
    "resize": dict(upsample="resize"),
    "sn": dict(spectral_norm=True),
}


def parse_value(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(v, v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="*", help=f"names ({', '.join(VARIANTS)}) or key=value,key=value")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--grid", default=None)
    ap.add_argument("--no-probe", action="store_true")
    args = ap.parse_args()
    p = profile(args.profile)
    train, test = load_profile_data(p)
    seed_everything(args.seed)
    supervised, _, _ = train_method("supervised", p, train, seed=args.seed, progress=False)
    judge = SampleJudge(probe_classifier(supervised.encoder, train), test.images)
    real = judge.score(train.images[:args.samples])
    per_class = judge.judge(train.images[:args.samples])["per_class"]
    print("real, recognised per class: " + ", ".join(f"{c} {k}" for c, k in zip(train.classes, per_class)))
    print(f"{p}\njudge on {args.samples} real train images: FD {real['fd']:.2f}, recognised "
          f"{100 * real['recognised']:.1f} %, classes found {real['classes_found']}", flush=True)
    for name in args.variants or list(VARIANTS):
        changes = VARIANTS[name] if name in VARIANTS else {k: parse_value(v) for k, v in (kv.split("=") for kv in name.split(","))}
        run = plan_run("gan", p, train, seed=args.seed, **changes)
        method = run.build()
        kw = {**run.fit_kwargs(), "checkpoint": None}
        t0 = time.perf_counter()
        history = fit(method, train, **kw, eval_fn=judge.monitor(args.samples, seed=args.seed), progress=False)
        train_s = sum(r["seconds"] for r in history.epochs)
        steps = len(train) // kw["batch_size"] * kw["epochs"]
        print(f"\n{name}: {changes}\n  train {train_s:.1f} s ({steps * kw['batch_size'] / train_s:,.0f} images/s, "
              f"{steps} steps), wall {time.perf_counter() - t0:.1f} s", flush=True)
        for r in history.epochs:
            print(f"  epoch {r['epoch']}: FD {r['fd']:7.2f}  recognised {100 * r['recognised']:5.1f} %  "
                  f"classes {r['classes_found']:2d}  D(x) {r['d_real']:.2f}  D(G(z)) {r['d_fake']:.2f}", flush=True)
        z = torch.randn(args.samples, method.z_dim, generator=torch.Generator().manual_seed(args.seed))
        for mode in (False, True):
            sampler = copy.deepcopy(method).train(mode)  # a copy: batch norm in train mode updates its statistics
            with torch.no_grad():
                s = judge.score(sampler.sample(args.samples, z))
            print(f"  sampled in {'train' if mode else 'eval'} mode: FD {s['fd']:.2f}, recognised "
                  f"{100 * s['recognised']:.1f} %, classes {s['classes_found']}", flush=True)
        method.eval()
        with torch.no_grad():
            per_class = judge.judge(method.sample(args.samples, z))["per_class"]
        print("  recognised per class: " + ", ".join(f"{c} {k}" for c, k in zip(train.classes, per_class)))
        method.eval()
        if not args.no_probe:
            res = evaluate_encoder(method.encoder, train, test)
            print(f"  discriminator features: kNN {100 * res['knn_accuracy']:.1f} %, linear "
                  f"{100 * res['linear_probe_accuracy']:.1f} %", flush=True)
        if args.grid:
            from pathlib import Path

            from torchvision.utils import save_image

            z = torch.randn(64, method.z_dim, generator=torch.Generator().manual_seed(1))
            with torch.no_grad():
                save_image(method.sample(64, z).float().cpu(), Path(args.grid) / f"{name.replace('/', '_')}.png",
                           nrow=8)


if __name__ == "__main__":
    main()
