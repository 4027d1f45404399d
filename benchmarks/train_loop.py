"""The training loop's overhead: ``fit`` vs a bare loop doing the same SimCLR steps.

    python benchmarks/train_loop.py [--device cpu|cuda] [--images 5120] [--repeats 3]

Both run the identical work per batch — SimCLR views, encoder + projector forward and
backward, optimiser step, on the same shuffled batches — so the difference is what
``fit`` adds: progress bar, history, schedule, logging, seeding. Reported as images/s
(two views per image) and the overhead in percent (median of the repeats).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from sslcourse.config import profile
from sslcourse.data import load_dataset
from sslcourse.methods import build_method
from sslcourse.train import autocast, batches, fit


def bare_loop(method, images, epochs, batch_size, device, amp):
    opt = method.configure_optimizers()["main"]
    method.train()
    for epoch in range(epochs):
        for idx in batches(len(images), batch_size, torch.Generator().manual_seed(epoch), device):
            x = images[idx].contiguous(memory_format=torch.channels_last)
            with autocast(device, amp):
                loss, _ = method.training_step(x, None)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(f):
    t0 = time.perf_counter()
    f()
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default=None)
    ap.add_argument("--profile", default=None)
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--root", default=None)
    ap.add_argument("--images", type=int, default=5120)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    p = profile(args.profile, dataset=args.dataset, device=args.device)
    train = load_dataset(p.dataset, "train", root=args.root or p.root).subset(args.images).to(p.device)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}"
          + (f", GPU {torch.cuda.get_device_name()}" if p.device.startswith("cuda") else "") + f"\n{p}")
    _, r = build_method("simclr", p)
    bs = r["batch_size"]
    n_images = args.epochs * (len(train) // bs) * bs

    def make():
        return build_method("simclr", p, seed=0)[0].to(p.device).to(memory_format=torch.channels_last)

    bare, looped = [], []
    timed(lambda: bare_loop(make(), train.images, 1, bs, p.device, p.amp))  # warm-up
    for _ in range(args.repeats):
        bare.append(timed(lambda: bare_loop(make(), train.images, args.epochs, bs, p.device, p.amp)))
        looped.append(timed(lambda: fit(make(), train, args.epochs, batch_size=bs, device=p.device, amp=p.amp,
                                        progress=True, desc="fit")))
    b, f = statistics.median(bare), statistics.median(looped)
    print("seconds, bare:", " ".join(f"{t:.2f}" for t in bare), " fit:", " ".join(f"{t:.2f}" for t in looped))
    print(f"SimCLR steps, batch {bs}, {n_images} images x {args.repeats} repeats (median):")
    print(f"  bare loop  {n_images / b:8,.0f} images/s")
    print(f"  fit        {n_images / f:8,.0f} images/s")
    print(f"  overhead of fit: {100 * (f - b) / b:+.1f} %")


if __name__ == "__main__":
    main()
