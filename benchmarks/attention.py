"""The ViT's attention on a CPU: torch's fused kernel against softmax(QKᵀ/√d)V written out, and what it does
to a training step of lesson 07's ViT (the fine-tuning step lessons 07 and 08 take 300 of, per run).

    OMP_NUM_THREADS=1 python benchmarks/attention.py [--repeats 20]

Prints milliseconds per call (median of ``--repeats``), forward and backward:
* attention alone at the quick ViT's shapes (batch 64, 4 heads, 64 tokens of 16): torch's
  ``scaled_dot_product_attention`` (its fused CPU kernel) and the three products written out, fp32 and bf16;
* one fine-tuning step (ViT + linear head, cross-entropy, AdamW) with torch's ``nn.MultiheadAttention`` and
  with the course's ``SelfAttention`` (which writes the products out under bf16 on a CPU only), fp32 and bf16
  autocast.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from sslcourse.models import SelfAttention, build_vit, written_out_attention


def median_ms(fn, repeats: int) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def attention_alone(dtype, kernel, repeats: int) -> float:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(64, 4, 64, 16, generator=g).to(dtype).requires_grad_() for _ in range(3))

    def once():
        kernel(q, k, v).float().sum().backward()

    return median_ms(once, repeats)


def torch_attention(vit):
    """The same ViT with torch's own nn.MultiheadAttention in every block (the same weights)."""
    for block in vit.blocks:
        theirs = torch.nn.MultiheadAttention(block.self_attn.embed_dim, block.self_attn.num_heads, batch_first=True)
        theirs.load_state_dict(block.self_attn.state_dict())
        block.self_attn = theirs
    return vit


def finetune_step(ours: bool, bf16: bool, repeats: int) -> float:
    vit = build_vit(seed=0, image_size=32, patch=4, dim=64, depth=4, heads=4, mlp_ratio=2.0)
    if not ours:
        vit = torch_attention(vit)
    assert any(isinstance(b.self_attn, SelfAttention) for b in vit.blocks) == ours
    head = torch.nn.Linear(vit.feature_dim, 10)
    opt = torch.optim.AdamW([*vit.parameters(), *head.parameters()], lr=1e-4)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 3, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g)

    def once():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(head(vit(x)), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return median_ms(once, repeats)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {platform.processor() or platform.machine()}")
    print("attention alone, forward + backward (64 images × 4 heads × 64 tokens × 16), ms:")
    for dtype in (torch.float32, torch.bfloat16):
        fused = attention_alone(dtype, F.scaled_dot_product_attention, args.repeats)
        ours = attention_alone(dtype, written_out_attention, args.repeats)
        print(f"  {str(dtype).removeprefix('torch.'):<9} torch fused {fused:7.2f}   written out {ours:7.2f}   "
              f"fused / written out {fused / ours:4.1f}×")
    print("a fine-tuning step of lesson 07's ViT (batch 64), ms:")
    for bf16 in (False, True):
        theirs, ours = finetune_step(False, bf16, args.repeats), finetune_step(True, bf16, args.repeats)
        print(f"  {'bf16 autocast' if bf16 else 'fp32':<13} nn.MultiheadAttention {theirs:7.1f}   "
              f"SelfAttention {ours:7.1f}   speed-up {theirs / ours:4.2f}×")


if __name__ == "__main__":
    main()
