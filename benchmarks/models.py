"""Backbone training speed: a SimCLR step (two views of a 256-batch) in images/s.

    python benchmarks/models.py [--device cpu|cuda] [--backbone small_convnet|resnet18] [--steps 10]

One image = one view through encoder + projector, forward and backward, plus the
optimiser step (augmentation excluded: benchmarks/augment.py measures it). Variants:
float32 vs bf16 autocast, contiguous vs channels_last.
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from sslcourse.config import cpu_has_fast_bf16
from sslcourse.methods.simclr import nt_xent_loss
from sslcourse.models import build_backbone, projection_mlp
from sslcourse.train import autocast


def bench(backbone: str, device: str, batch: int, steps: int, amp: bool, channels_last: bool) -> float:
    enc = build_backbone(backbone, seed=0).to(device)
    proj = projection_mlp(enc.feature_dim).to(device)
    enc = enc.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    opt = torch.optim.AdamW(list(enc.parameters()) + list(proj.parameters()), lr=1e-3)
    x = torch.rand(2 * batch, 3, 32, 32, device=device)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for k in range(steps + 3):
        if k == 3:
            sync()
            t0 = time.perf_counter()
        with autocast(device, amp):
            z1, z2 = proj(enc(x)).chunk(2)
            loss = nt_xent_loss(z1, z2, 0.2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    sync()
    return 2 * batch * steps / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--backbone", default="small_convnet")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, "
          f"threads {torch.get_num_threads()}, native CPU bf16: {cpu_has_fast_bf16()}"
          + (f", GPU {torch.cuda.get_device_name()}" if args.device.startswith("cuda") else ""))
    print(f"SimCLR step, {args.backbone}, two views of {args.batch_size} images (32×32):")
    for amp in (False, True):
        for cl in (False, True):
            ips = bench(args.backbone, args.device, args.batch_size, args.steps, amp, cl)
            print(f"  {'bf16 ' if amp else 'fp32 '}{'channels_last' if cl else 'contiguous   '}  {ips:>9,.0f} images/s")


if __name__ == "__main__":
    main()
