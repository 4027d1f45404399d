"""GPU training throughput of every method in the full profile, and the data path compared.

    python benchmarks/gpu_throughput.py [--dataset folder --root data/cifar10] [--steps 30] [--no-dataloader]

1. For each method (full-profile recipe: ResNet-18, bf16 autocast, channels_last, compiled
   encoder, data on the GPU as uint8, batched GPU augmentation): images/s of training steps
   after warm-up, the model FLOPs of one step (counted by torch's FlopCounterMode in eager
   mode), and the fraction of the GPU's dense bf16 peak they reach.
2. SimCLR, ResNet-18, two views, batch 512: the wall-clock of one epoch through ``fit``
   (second epoch, compilation excluded), next to the same training step fed by a torchvision
   DataLoader with per-sample v2 transforms on PIL images in worker processes (the common way).
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from sslcourse.config import profile
from sslcourse.data import load_profile_data
from sslcourse.methods import METHODS, build_method
from sslcourse.runs import fit_settings
from sslcourse.methods.simclr import nt_xent_loss
from sslcourse.train import autocast, fit

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "T4": 65.0}  # dense, datasheet


def peak_tflops() -> float | None:
    name = torch.cuda.get_device_name()
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def step_flops(method, images, labels) -> float:
    """Model FLOPs of one training step (forward + backward, every optimiser), counted in eager mode."""
    from torch.utils.flop_counter import FlopCounterMode

    optimizers = method.configure_optimizers()
    with FlopCounterMode(display=False) as counter:
        for part in optimizers:
            with autocast("cuda", True):
                loss, _ = method.training_step(images, labels, part)
            loss.backward()
    method.zero_grad(set_to_none=True)
    return counter.get_total_flops()


def method_throughput(name, p, train, steps: int) -> dict:
    method, r = build_method(name, p, seed=0)
    method.cuda().to(memory_format=torch.channels_last)
    bs = r["batch_size"]
    x = train.images[:bs].contiguous(memory_format=torch.channels_last)
    flops = step_flops(method, x, train.labels[:bs])
    if p.compile:
        method.encoder.compile()
    optimizers = method.configure_optimizers(r.get("lr"))

    def step():
        idx = torch.randint(len(train), (bs,), device="cuda")
        xb = train.images[idx].contiguous(memory_format=torch.channels_last)
        for part, opt in optimizers.items():
            with autocast("cuda", True):
                loss, _ = method.training_step(xb, train.labels[idx], part)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    t0 = time.perf_counter()
    for _ in range(5):  # warm-up: compilation, cuDNN autotuning
        step()
    torch.cuda.synchronize()
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    dt = (time.perf_counter() - t0) / steps
    peak = peak_tflops()
    return {"method": name, "batch": bs, "images_per_s": bs / dt, "ms_per_step": 1e3 * dt,
            "tflops": flops / dt / 1e12, "peak_fraction": (flops / dt / 1e12 / peak) if peak else None,
            "warmup_s": warm}


def simclr_epoch_fit(p, train) -> float:
    """Seconds of the second epoch of ``fit`` (the first includes compilation)."""
    method, r = build_method("simclr", p, seed=0)
    settings = fit_settings(p, r) | {"epochs": 2}
    history = fit(method, train, **settings, progress=False)
    return history.epochs[1]["seconds"]


class TwoViewsPIL(torch.utils.data.Dataset):
    """CIFAR-10 the torchvision way: HWC uint8 arrays, a PIL image and per-sample transforms per item."""

    def __init__(self, images: torch.Tensor):
        from torchvision.transforms import v2

        self.arrays = images.permute(0, 2, 3, 1).contiguous().cpu().numpy()
        s = 0.5
        self.t = v2.Compose([
            v2.RandomResizedCrop(32, scale=(0.5, 1.0), antialias=True), v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)], p=0.8), v2.RandomGrayscale(p=0.2),
            v2.ToImage(), v2.ToDtype(torch.float32, scale=True),
        ])

    def __len__(self):
        return len(self.arrays)

    def __getitem__(self, i):
        from PIL import Image

        img = Image.fromarray(self.arrays[i])
        return self.t(img), self.t(img)


def simclr_epoch_dataloader(p, train, workers: int) -> tuple[float, float]:
    """(seconds for one epoch, images/s) of the same SimCLR step fed by a DataLoader."""
    method, r = build_method("simclr", p, seed=0)
    method.cuda().to(memory_format=torch.channels_last)
    if p.compile:
        method.encoder.compile()
    opt = method.configure_optimizers(r["lr"])["main"]
    bs = r["batch_size"]
    loader = torch.utils.data.DataLoader(TwoViewsPIL(train.images), batch_size=bs, shuffle=True, drop_last=True,
                                         num_workers=workers, pin_memory=True, persistent_workers=True,
                                         prefetch_factor=4)

    def step(v1, v2):
        views = torch.cat([v1, v2]).cuda(non_blocking=True).contiguous(memory_format=torch.channels_last)
        with autocast("cuda", True):
            z1, z2 = method.projector(method.encoder(views)).chunk(2)
            loss = nt_xent_loss(z1, z2, r["temperature"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    it = iter(loader)
    for _ in range(5):  # warm-up: workers, compilation
        step(*next(it))
    torch.cuda.synchronize()
    n = 0
    t0 = time.perf_counter()
    for v1, v2 in loader:  # one full epoch
        step(v1, v2)
        n += len(v1)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    return dt, n / dt


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--root", default=None)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--methods", default=",".join(m for m in METHODS))
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--no-dataloader", action="store_true")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("benchmarks/gpu_throughput.py needs a CUDA GPU")
    p = profile("full", dataset=args.dataset)
    if args.root:
        p = p.replace(root=args.root)
    train, _ = load_profile_data(p)
    peak = peak_tflops()
    print(f"GPU {torch.cuda.get_device_name()}, torch {torch.__version__}, {os.cpu_count()} CPU cores; "
          f"dense bf16 peak {peak} TFLOP/s (datasheet)\n{p}\ntrain: {len(train)} images on the GPU as uint8")
    print(f"{'method':<12}{'batch':>6}{'images/s':>11}{'ms/step':>9}{'TFLOP/s':>9}{'% peak':>8}{'warm-up s':>10}")
    for name in args.methods.split(","):
        r = method_throughput(name, p, train, args.steps)
        frac = f"{100 * r['peak_fraction']:7.1f}%" if r["peak_fraction"] is not None else f"{'-':>8}"
        print(f"{name:<12}{r['batch']:>6}{r['images_per_s']:>11,.0f}{r['ms_per_step']:>9.1f}{r['tflops']:>9.1f}"
              f"{frac}{r['warmup_s']:>10.1f}", flush=True)
    print("\nSimCLR, ResNet-18, 2 views, batch 512, one epoch of", len(train), "images:")
    fit_s = simclr_epoch_fit(p, train)
    print(f"  batched GPU augmentation through fit: {fit_s:6.2f} s/epoch  ({len(train) / fit_s:,.0f} images/s)",
          flush=True)
    if not args.no_dataloader:
        dl_s, dl_ips = simclr_epoch_dataloader(p, train, args.workers)
        print(f"  DataLoader, per-sample v2 transforms, {args.workers} workers: {dl_s:6.2f} s/epoch "
              f"({dl_ips:,.0f} images/s)")
        print(f"  GPU data path / DataLoader path: {dl_s / fit_s:.1f}x")


if __name__ == "__main__":
    main()
