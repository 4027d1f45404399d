"""fp16 on a CPU: one training step of a backbone in float32, bf16 and fp16 autocast, and where fp16's time goes.

    OMP_NUM_THREADS=1 python benchmarks/cpu_fp16.py [--backbone resnet18_narrow] [--batch 16] [--steps 5]

Why: the GPU check's dry run (`make test`'s step 2) runs the gpu profile in fp16 on the CPU, as a Colab T4 would,
and a learner may set SSLCOURSE_PRECISION=fp16 on a laptop. On some CPUs oneDNN has no fast fp16 kernel for a
convolution's weight gradient and runs its reference one; the second table splits one convolution's backward pass
into the input's gradient and the weight's to show it (ONEDNN_VERBOSE=1 names the kernel: ``ref:any``).
"""
from __future__ import annotations

import argparse
import platform
import time

import torch
import torch.nn.functional as F

from sslcourse.models import build_backbone


def per_call_ms(fn, steps: int) -> float:
    fn()  # warm-up: oneDNN builds its kernels on the first call
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps * 1000


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
        names = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")]
        extra = [flag for flag in ("avx512_fp16", "amx_fp16", "amx_bf16") if f" {flag}" in info]
        return f"{names[0]} ({', '.join(extra) or 'no avx512_fp16, no AMX'})" if names else platform.machine()
    except OSError:
        return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--backbone", default="resnet18_narrow")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    print(f"{cpu_name()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), CPU capability {torch.backends.cpu.get_cpu_capability()}")

    model = build_backbone(args.backbone, seed=0).to(memory_format=torch.channels_last)
    x = torch.randn(args.batch, 3, 32, 32).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    print(f"\none training step of {args.backbone}, batch {args.batch}, channels_last:")
    base = None
    for name, dtype in [("fp32", None), ("bf16", torch.bfloat16), ("fp16", torch.float16)]:
        def step():
            with torch.autocast("cpu", dtype=dtype or torch.bfloat16, enabled=dtype is not None):
                loss = model(x).float().pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
        ms = per_call_ms(step, args.steps)
        base = base or ms
        print(f"  {name}  {ms:9.1f} ms/step  ({ms / base:6.1f}x fp32)")

    print("\none 3x3 convolution, 32 -> 32 channels, 16 x 32 x 32, forward and backward:")
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        xs = torch.randn(16, 32, 32, 32, dtype=dtype)
        ws = torch.randn(32, 32, 3, 3, dtype=dtype) * 0.1
        for what, needs in [("gradient of the input", (True, False)), ("gradient of the weight", (False, True))]:
            a, w = xs.clone().requires_grad_(needs[0]), ws.clone().requires_grad_(needs[1])
            ms = per_call_ms(lambda: F.conv2d(a, w, padding=1).sum().backward(), args.steps)
            print(f"  {str(dtype).removeprefix('torch.'):<9} {what:<23} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
