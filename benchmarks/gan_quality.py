"""Which stabiliser buys the quick GAN what? Each variant of the recipe, over seeds, on one table.

    python benchmarks/gan_quality.py [VARIANT ...] [--seeds 0 1 2] [--profile quick] [--samples 1000]
                                     [--grid DIR] [--json FILE]

A variant is a name of ``VARIANTS`` (``dcgan``, ``recipe``, ``ema``, ``hinge``, ``sn``, their combinations) or
``key=value,key=value`` changes to the profile's recipe. For each seed, the judge is that seed's supervised run
(lesson 00's, from the cache ``SSLCOURSE_CACHE``: trained when missing), read out by the protocol's linear probe
(``sslcourse.generative.SampleJudge``); the real reference is the test split. For each variant and seed: train
the GAN through ``fit`` (no checkpoint), score ``--samples`` samples after every epoch (the same noise, generator
in eval mode, the moving average of G where the variant keeps one) — Fréchet distance in the judge's features,
precision and recall (k = 3 nearest neighbours) — and at the end the discriminator's linear probe against a
random-init discriminator of the same width. Prints each run, then a markdown table of means over the seeds
(each seed's Fréchet distance beside it). Training seconds count the loop only (scoring excluded).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from sslcourse.config import profile, seed_everything
from sslcourse.data import load_profile_data
from sslcourse.evaluate import evaluate_encoder
from sslcourse.generative import SampleJudge, probe_classifier
from sslcourse.runs import plan_run, train_method
from sslcourse.train import fit

VARIANTS = {
    "dcgan": dict(upsample="transposed"),  # DCGAN as published: transposed convolutions, the log loss
    "recipe": dict(),  # the profile's recipe as it is
    "bce": dict(loss="bce", ema=0.0, spectral_norm=False),  # the recipe before the stabilisers
    "ema": dict(loss="bce", ema=0.999, spectral_norm=False),
    "hinge": dict(loss="hinge", ema=0.0, spectral_norm=False),
    "sn": dict(loss="bce", ema=0.0, spectral_norm=True),
    "ema+hinge": dict(loss="hinge", ema=0.999, spectral_norm=False),
    "ema+sn": dict(loss="bce", ema=0.999, spectral_norm=True),
    "ema+hinge+sn": dict(loss="hinge", ema=0.999, spectral_norm=True),
}


def parse_value(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(v, v)


def changes_of(name: str) -> dict:
    if name in VARIANTS:
        return VARIANTS[name]
    return {k: parse_value(v) for k, v in (kv.split("=") for kv in name.split(","))}


def run_variant(name, p, train, test, judge, seed, samples, grid=None) -> dict:
    changes = changes_of(name)
    run = plan_run("gan", p, train, seed=seed, **changes)
    method = run.build()
    kw = {**run.fit_kwargs(), "checkpoint": None}
    history = fit(method, train, **kw, eval_fn=judge.monitor(samples, seed=seed), progress=False)
    train_s = sum(r["seconds"] for r in history.epochs)
    print(f"\n{name} (seed {seed}): {changes}\n  train {train_s:.1f} s", flush=True)
    for r in history.epochs:
        print(f"  epoch {r['epoch']}: FD {r['fd']:7.2f}  precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
              f"D(x) {r['d_real']:.2f}  D(G(z)) {r['d_fake']:.2f}", flush=True)
    out = {"variant": name, "changes": changes, "seed": seed, "train_s": train_s,
           "fd_per_epoch": [r["fd"] for r in history.epochs], **{k: history.epochs[-1][k] for k in
                                                                  ("fd", "precision", "recall", "classes_found")}}
    if method.generator_ema is not None:  # the same run, sampled from G as trained
        z = torch.randn(samples, method.z_dim, generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            raw = judge.score(method.eval().sample(samples, z, ema=False))
        out["raw_g"] = {k: raw[k] for k in ("fd", "precision", "recall")}
        print(f"  G as trained (no average): FD {raw['fd']:.2f}  precision {raw['precision']:.3f}  "
              f"recall {raw['recall']:.3f}", flush=True)
    res = evaluate_encoder(method.encoder, train, test)
    out["probe"] = res["linear_probe_accuracy"]
    print(f"  discriminator features: kNN {100 * res['knn_accuracy']:.1f} %, linear {100 * out['probe']:.1f} %",
          flush=True)
    if grid:
        from torchvision.utils import save_image

        z = torch.randn(64, method.z_dim, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            save_image(method.sample(64, z).float().cpu(), Path(grid) / f"{name.replace('/', '_')}-s{seed}.png", nrow=8)
    return out


def table(rows: list, random_probe: dict) -> str:
    lines = ["| variant | Fréchet distance (seeds) | precision | recall | D's linear probe (gain over random-init D) "
             "| training s |", "| --- | --- | --- | --- | --- | --- |"]
    for name in dict.fromkeys(r["variant"] for r in rows):
        rs = [r for r in rows if r["variant"] == name]
        mean = lambda key: statistics.fmean(r[key] for r in rs)  # noqa: E731
        gain = statistics.fmean(r["probe"] - random_probe[r["seed"]] for r in rs)
        fds = " / ".join(f"{r['fd']:.1f}" for r in rs)
        lines.append(f"| {name} | **{mean('fd'):.1f}** ({fds}) | {mean('precision'):.2f} | {mean('recall'):.2f} | "
                     f"{100 * mean('probe'):.1f} % ({100 * gain:+.1f}) | {mean('train_s'):.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("variants", nargs="*", help=f"names ({', '.join(VARIANTS)}) or key=value,key=value")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--grid", default=None)
    ap.add_argument("--json", default=None, help="append each run's figures to this JSON-lines file")
    args = ap.parse_args()
    p = profile(args.profile)
    print(p, flush=True)
    train, test = load_profile_data(p)
    rows, random_probe = [], {}
    for seed in args.seeds:
        seed_everything(seed)
        supervised, _, _ = train_method("supervised", p, train, seed=seed, progress=False)
        judge = SampleJudge(probe_classifier(supervised.encoder, train), test.images)
        real = judge.score(train.images[:args.samples])
        random_probe[seed] = evaluate_encoder(plan_run("gan", p, train, seed=seed + 1).build().encoder, train,
                                              test)["linear_probe_accuracy"]
        print(f"\nseed {seed}: {args.samples} real training images: FD {real['fd']:.2f}, precision "
              f"{real['precision']:.3f}, recall {real['recall']:.3f}; random-init D's linear probe "
              f"{100 * random_probe[seed]:.1f} %", flush=True)
        for name in args.variants or list(VARIANTS):
            t0 = time.perf_counter()
            rows.append(run_variant(name, p, train, test, judge, seed, args.samples, args.grid))
            print(f"  wall {time.perf_counter() - t0:.0f} s", flush=True)
            if args.json:
                with open(args.json, "a") as f:
                    f.write(json.dumps({**rows[-1], "random_probe": random_probe[seed]}) + "\n")
    print("\n" + table(rows, random_probe))


if __name__ == "__main__":
    main()
