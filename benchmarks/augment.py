"""Batched augmentation vs the same SimCLR pipeline as per-sample torchvision v2 transforms.

    python benchmarks/augment.py [--device cpu|cuda] [--batches 20] [--workers N]

Prints images/s (one augmented view = one image) for:
  batched    sslcourse.augment.SimCLRAugment on whole uint8 batches on the device;
  per-sample torchvision.transforms.v2 in a DataLoader (the common way), on uint8 tensors and on
             PIL images, with 0 workers and with N workers (default: the CPU count);
and the ratio of batched to the fastest per-sample variant.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from sslcourse.augment import SimCLRAugment
from sslcourse.data import load_dataset


def torchvision_pipeline(size=32, s=0.5):
    """The same recipe as SimCLRAugment(strength=0.5, scale=(0.2, 1)), per sample."""
    return v2.Compose([
        v2.ToImage(),
        v2.RandomResizedCrop(size, scale=(0.2, 1.0), antialias=True),
        v2.RandomHorizontalFlip(),
        v2.RandomApply([v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)], p=0.8),
        v2.RandomGrayscale(p=0.2),
        v2.ToDtype(torch.float32, scale=True),
    ])


class TwoViews(Dataset):
    def __init__(self, images, as_pil: bool):
        self.images, self.as_pil, self.t = images, as_pil, torchvision_pipeline()
        if as_pil:
            self.pils = [v2.functional.to_pil_image(x) for x in images]

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        x = self.pils[i] if self.as_pil else self.images[i]
        return self.t(x), self.t(x)


def bench_per_sample(images, batch_size, batches, workers, as_pil):
    loader = DataLoader(TwoViews(images, as_pil), batch_size=batch_size, shuffle=True, num_workers=workers,
                        drop_last=True, persistent_workers=workers > 0)
    it = iter(loader)
    next(it)  # start-up (worker spawn) outside the timing
    t0 = time.perf_counter()
    for _ in range(batches):
        v1, v2_ = next(it)
    return 2 * batch_size * batches / (time.perf_counter() - t0)


def bench_batched(images, batch_size, batches, device):
    aug = SimCLRAugment()
    x = images.to(device)
    g = torch.Generator(device).manual_seed(0)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(3):
        aug(x[:batch_size], g)
    sync()
    t0 = time.perf_counter()
    for b in range(batches):
        idx = torch.randint(len(x), (batch_size,), device=device, generator=g)
        v1, v2_ = aug(x[idx], g), aug(x[idx], g)
    sync()
    return 2 * batch_size * batches / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    args = ap.parse_args()
    images = load_dataset("shapes", "train").images[:6000]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPU cores, "
          f"torch {torch.__version__}, threads {torch.get_num_threads()}"
          + (f", GPU {torch.cuda.get_device_name()}" if args.device.startswith("cuda") else ""))
    print(f"SimCLR pipeline, two views of batches of {args.batch_size} 32×32 images")
    rows = {}
    rows[f"batched ({args.device})"] = bench_batched(images, args.batch_size, args.batches, args.device)
    for workers in sorted({0, args.workers}):
        for as_pil in (False, True):
            name = f"per-sample v2, {'PIL' if as_pil else 'tensor'}, {workers} workers"
            rows[name] = bench_per_sample(images, args.batch_size, args.batches, workers, as_pil)
    best = max(v for k, v in rows.items() if k.startswith("per-sample"))
    for name, ips in rows.items():
        print(f"  {name:<36} {ips:>10,.0f} images/s")
    print(f"batched / fastest per-sample: {rows[f'batched ({args.device})'] / best:.1f}x")


if __name__ == "__main__":
    main()
