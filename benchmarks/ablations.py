"""Which pretext settings teach the most? Full quick-profile budget per variant, shared protocol.

    python benchmarks/ablations.py inpainting|jigsaw|simclr|rotation|moco|byol [--seed 0] [--profile gpu] [--only NAME ...]
        [--device cpu --precision bf16 --train-size N --test-size N --epochs N]   # a smaller run, e.g. a CPU proxy
        [--layers]   # also: the probe at every stage of the backbone, and with BatchNorm's statistics re-measured
    python benchmarks/ablations.py mae [--seeds 0 1 2] [--only NAME ...]

Each variant trains a fresh encoder with the method's quick recipe plus the listed
changes, then reports kNN and linear-probe accuracy on shapes (and the training time);
for methods with a projector, also the per-dimension std and the effective rank of the
normalised projections of 1,024 test images (sslcourse.collapse: 1/√D and D when healthy).
``--layers`` asks where in the network a variant's features are (for a pretext task trained on other inputs than
the protocol's whole images, jigsaw's tiles): the linear probe on the pooled output of every stage, and on the
last stage after BatchNorm's running statistics are re-measured on whole training images (the trained weights
unchanged), for random init and each variant.

``mae`` answers lesson 07's question instead: per variant and seed, the frozen protocol and
fine-tuning on 1 % and 10 % of the labels (``sslcourse.runs.finetune``), beside the same ViT
fine-tuned from random init on the same labels and steps; ``ft_*`` settings change the
fine-tuning of both (``ft_lr``, ``ft_steps``, ``ft_batch_size``, ``ft_layer_decay``), the others the MAE
recipe. Pretraining runs are checkpointed in the cache (``SSLCOURSE_CACHE``), so a rerun only fine-tunes.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch.nn as nn

from sslcourse.collapse import effective_rank, embedding_std
from sslcourse.config import profile, seed_everything
from sslcourse.data import load_profile_data
from sslcourse.evaluate import evaluate_encoder, extract_features, probe_by_stage
from sslcourse.methods import build_method
from sslcourse.runs import baseline, finetune, fit_settings, plan_run
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
        # the gpu profile (its recipe: 100 permutations, per-tile standardisation, tiles seen at 16 px): which of
        # its settings keeps whole images, which the protocol evaluates on, within reach of what the tiles taught
        "no per-tile standardisation": dict(per_tile_norm=False),
        "tiles at 32 px": dict(tile_size=32),
        "tiles at 32 px, no per-tile standardisation": dict(tile_size=32, per_tile_norm=False),
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
    "mae": {
        "recipe": dict(),
        "lr 3e-3": dict(lr=3e-3),
        "batch 64": dict(batch_size=64),
        "mask 85 %": dict(mask_ratio=0.85),
        "no crop (flip only)": dict(min_scale=1.0),
        "pixel target (no norm_pix)": dict(norm_pix=False),
        "decoder width 32": dict(decoder_dim=32),
        "12 epochs": dict(epochs=12),
        "16 epochs": dict(epochs=16),
        "20 epochs": dict(epochs=20),
        "lr 3e-3, no crop": dict(lr=3e-3, min_scale=1.0),
        "lr 3e-3, no crop, batch 64": dict(lr=3e-3, min_scale=1.0, batch_size=64),
        "lr 3e-3, no crop, mask 85 %, 9 epochs": dict(lr=3e-3, min_scale=1.0, mask_ratio=0.85, epochs=9),
        "lr 3e-3, no crop, decoder width 32, 10 epochs": dict(lr=3e-3, min_scale=1.0, decoder_dim=32, epochs=10),
        "recipe, fine-tune batch 32, 200 steps": dict(ft_batch_size=32, ft_steps=200),
        "recipe, fine-tune lr 5e-4": dict(ft_lr=5e-4),
        "recipe, fine-tune lr 2e-3": dict(ft_lr=2e-3),
        "no crop, fine-tune lr 2e-3": dict(min_scale=1.0, ft_lr=2e-3),
        "no crop, fine-tune lr 2e-3, layer decay 0.75": dict(min_scale=1.0, ft_lr=2e-3, ft_layer_decay=0.75),
        "no crop, fine-tune lr 4e-3, layer decay 0.75": dict(min_scale=1.0, ft_lr=4e-3, ft_layer_decay=0.75),
    },
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("method", choices=sorted(VARIANTS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="mae: the seeds to average over")
    ap.add_argument("--only", nargs="+", help="only these variants (their names as printed)")
    ap.add_argument("--profile", default="quick", choices=("quick", "gpu", "full"),
                    help="the recipe the variants change (mae: quick only)")
    ap.add_argument("--fractions", type=float, nargs="+", default=[0.01, 0.1], help="mae: the few-label splits")
    ap.add_argument("--device", help="default: the profile's (cpu runs a GPU profile's recipe as a CPU proxy)")
    ap.add_argument("--precision", choices=("fp32", "bf16", "fp16"), help="default: the hardware's")
    ap.add_argument("--train-size", type=int, help="train on a random subset of this many images")
    ap.add_argument("--test-size", type=int, help="test on a random subset of this many images")
    ap.add_argument("--epochs", type=int, help="default: the recipe's")
    ap.add_argument("--layers", action="store_true",
                    help="also the probes at every stage and with BatchNorm re-measured on whole images")
    args = ap.parse_args()
    if args.method == "mae":
        return mae_table(args.seeds, args.only, tuple(args.fractions))
    p = profile(args.profile, device=args.device, precision=args.precision)
    train, test = load_profile_data(p, train_size=args.train_size)
    if args.test_size:
        test = test.subset(args.test_size)
    rand = baseline("random", p, train, test, seed=args.seed)
    print(f"{args.method} on {train.name}, {p}")
    print(f"{'variant':<40}{'kNN':>8}{'linear':>9}{'train s':>9}{'z std':>8}{'rank':>7}")
    print(f"{'random init':<40}{100 * rand['knn_accuracy']:7.1f}%{100 * rand['linear_probe_accuracy']:8.1f}%")
    if args.layers:
        seed_everything(args.seed)
        print(layer_report("random init", build_method(args.method, p, seed=args.seed)[0].encoder.to(p.device),
                           train, test),
              flush=True)
    for name, changes in VARIANTS[args.method].items():
        if args.only and name not in args.only:
            continue
        seed_everything(args.seed)
        method, r = build_method(args.method, p, seed=args.seed, **changes)
        t0 = time.perf_counter()
        fit(method, train, **{**fit_settings(p, r), **({"epochs": args.epochs} if args.epochs else {})},
            seed=args.seed, progress=False)
        seconds = time.perf_counter() - t0
        res = evaluate_encoder(method.encoder, train, test)
        print(f"{name:<40}{100 * res['knn_accuracy']:7.1f}%{100 * res['linear_probe_accuracy']:8.1f}%{seconds:9.0f}"
              + collapse_columns(method, test), flush=True)
        if args.layers:
            print(layer_report(name, method.encoder, train, test), flush=True)


def mae_table(seeds, only=None, fractions=(0.01, 0.1)):
    """Lesson 07's table: frozen protocol and few-label fine-tuning, MAE against the same ViT from scratch."""
    from sslcourse.evaluate import few_label_probe, knn_accuracy, linear_probe
    from sslcourse.methods.mae import encoder_settings
    from sslcourse.models import build_vit

    p = profile("quick")
    train, test = load_profile_data(p)
    scratch_cache = {}
    cols = ["pretrain s", "kNN", "linear", "probe 10%"] + [f"{who} ft {f:.0%}" for f in fractions
                                                             for who in ("MAE", "scratch")]
    print(f"mae on {train.name}, {p}; seeds {seeds}; CPU seconds of this process (torch threads: "
          f"{__import__('torch').get_num_threads()})")
    print(f"{'variant':<44}" + "".join(f"{c:>15}" for c in cols))
    for name, changes in VARIANTS["mae"].items():
        if only and name not in only:
            continue
        ft = {k[3:]: v for k, v in changes.items() if k.startswith("ft_")}
        rows = []
        for seed in seeds:
            seed_everything(seed)
            run = plan_run("mae", p, train, seed, **{k: v for k, v in changes.items() if not k.startswith("ft_")})
            method = run.build()
            t0 = time.process_time()
            run.fit(method, train, progress=False)
            row = {"pretrain s": time.process_time() - t0}
            ftr, fte = extract_features(method.encoder, train.images), extract_features(method.encoder, test.images)
            row["kNN"] = knn_accuracy(ftr, train.labels, fte, test.labels)
            row["linear"] = linear_probe(ftr, train.labels, fte, test.labels)
            row["probe 10%"] = few_label_probe(ftr, train.labels, fte, test.labels, 0.1, seed=seed)
            settings = encoder_settings(p, run.recipe)
            for f in fractions:
                row[f"MAE ft {f:.0%}"] = finetune(method.encoder, train, test, f, seed=seed, amp=p.amp, **ft)
                key = (repr(sorted(settings.items())), repr(sorted(ft.items())), seed, f)
                if key not in scratch_cache:
                    scratch_cache[key] = finetune(build_vit(seed=seed, **settings), train, test, f, seed=seed,
                                                  amp=p.amp, **ft)
                row[f"scratch ft {f:.0%}"] = scratch_cache[key]
            rows.append(row)
            print(f"  {name}, seed {seed}: " + ", ".join(
                f"{c} {v:.0f}" if c == "pretrain s" else f"{c} {100 * v:.1f}" for c, v in row.items()), flush=True)
        mean = {c: statistics.mean(r[c] for r in rows) for c in cols}
        gains = {f: [r[f"MAE ft {f:.0%}"] - r[f"scratch ft {f:.0%}"] for r in rows] for f in fractions}
        print(f"{name:<44}" + "".join(f"{mean[c]:15.0f}" if c == "pretrain s" else f"{100 * mean[c]:14.1f}%"
                                      for c in cols)
              + "".join(f"   gain {f:.0%}: {100 * statistics.mean(g):+.1f} (min {100 * min(g):+.1f})"
                        for f, g in gains.items()), flush=True)


def layer_report(name: str, encoder: nn.Module, train, test, batches: int = 50) -> str:
    """Linear probe of every stage's pooled output (stage 0 the stem), then of the last stage with BatchNorm
    re-measured.

    The re-measure: a copy of the encoder whose BatchNorm layers forget their running statistics and take the
    plain average over ``batches`` batches of whole training images, in train mode without gradients; its
    weights are the trained ones."""
    import copy

    import torch

    accs = probe_by_stage({name: encoder}, train, test, range(len(encoder.stages)))[name]
    rows = [f"stage {k} {100 * a:.1f} %" for k, a in enumerate(accs)]
    bn = copy.deepcopy(encoder)
    norms = [m for m in bn.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the batches below
    device = next(bn.parameters()).device
    bn.train()
    size = 256
    with torch.no_grad():
        for start in range(0, min(len(train.images), batches * size), size):
            bn(train.images[start:start + size].to(device).contiguous(memory_format=torch.channels_last))
    r = evaluate_encoder(bn, train, test)
    rows.append(f"last stage, BatchNorm re-measured {100 * r['linear_probe_accuracy']:.1f} %")
    return f"  {name}, linear probe: " + "; ".join(rows)


def collapse_columns(method, test) -> str:
    """The projections' per-dimension std and effective rank, for methods with a projector."""
    if not hasattr(method, "projector"):
        return ""
    z = extract_features(nn.Sequential(method.encoder, method.projector), test.images[:1024])
    return f"{embedding_std(z).item():8.4f}{effective_rank(z).item():7.1f}"


if __name__ == "__main__":
    main()
