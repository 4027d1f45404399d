"""The ViT's attention on a CPU: torch's fused kernel against softmax(QKᵀ/√d)V written out, and what it does
to a training step of lesson 07's ViT (the fine-tuning step lessons 07 and 08 take 300 of, per run).

    OMP_NUM_THREADS=1 python benchmarks/attention.py [--repeats 20]
    python benchmarks/attention.py --pretrain course|float32     # lesson 07's whole pretraining, nothing else

Prints milliseconds per call (median of ``--repeats``), forward and backward:
* attention alone at the quick ViT's shapes (batch 64, 4 heads, 64 tokens of 16): torch's
  ``scaled_dot_product_attention`` (its fused CPU kernel) and the three products written out, fp32 and bf16;
* one fine-tuning step (ViT + linear head, cross-entropy, AdamW) with torch's ``nn.MultiheadAttention`` and
  with the course's ``SelfAttention`` (which writes the products out under bf16 on a CPU only), fp32 and bf16
  autocast;
* in bf16, the written-out form's softmax computed on scores cast to float32 and back against a bf16 softmax
  (``models.BF16_SOFTMAX_FROM``: the course takes the bf16 one from that many keys on), at MAE's encoder's 16
  visible tokens and at 64 tokens, then a fine-tuning step and an MAE pretraining step (the quick recipe, batch
  128) with each.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from sslcourse import models
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


def attention_alone(dtype, kernel, repeats: int, images: int = 64, tokens: int = 64) -> float:
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(images, 4, tokens, 16, generator=g).to(dtype).requires_grad_() for _ in range(3))

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


def mae_pretraining_step(repeats: int) -> float:
    """One step of the quick recipe's MAE (crop, masking, encoder, decoder, loss, AdamW), batch 128, bf16."""
    from sslcourse.config import profile
    from sslcourse.methods.mae import RECIPES, build

    mae = build(profile("quick", device="cpu"), RECIPES["quick"])
    opt = mae.configure_optimizers()["main"]
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (128, 3, 32, 32), dtype=torch.uint8, generator=g)

    def once():
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss, _ = mae.training_step(images)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return median_ms(once, repeats)


NEVER = 10 ** 9  # no length takes the bf16 softmax: the course before BF16_SOFTMAX_FROM; 0: every length does


def with_softmax_from(keys: int, fn, *args):
    """``fn(*args)`` with the course's bf16 softmax taken from ``keys`` keys on."""
    before, models.BF16_SOFTMAX_FROM = models.BF16_SOFTMAX_FROM, keys
    try:
        return fn(*args)
    finally:
        models.BF16_SOFTMAX_FROM = before


def pretrain(softmax: str) -> None:
    """Lesson 07's pretraining as the lesson runs it (the quick recipe, seed 0, through ``fit``, the profile's
    precision) into a throw-away checkpoint, with the course's softmax or the float32 one everywhere; prints its
    seconds. For ``farm-bench``: it times the whole command, data and imports included."""
    import tempfile

    from sslcourse.config import lesson_setup
    from sslcourse.data import load_profile_data
    from sslcourse.runs import plan_run

    if softmax == "float32":
        models.BF16_SOFTMAX_FROM = NEVER
    p = lesson_setup(seed=0)
    train, _ = load_profile_data(p)
    with tempfile.TemporaryDirectory() as tmp:
        run = plan_run("mae", p, train, seed=0, checkpoint=f"{tmp}/mae.pt")
        mae = run.build()
        t0 = time.perf_counter()
        history = run.fit(mae, train, progress=False)
    print(f"MAE pretraining, {softmax} softmax, {torch.get_num_threads()} thread(s): {time.perf_counter() - t0:.1f} s, "
          f"last epoch's loss {history.epochs[-1]['loss']:.6f}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--pretrain", choices=("course", "float32"),
                        help="only time lesson 07's pretraining, with the course's softmax or float32's everywhere")
    args = parser.parse_args(argv)
    if args.pretrain:
        return pretrain(args.pretrain)
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
    print(f"bf16, the written-out form's softmax: on float32 scores, or in bf16 (the course's from "
          f"{models.BF16_SOFTMAX_FROM} keys on), ms:")
    for images, tokens in ((128, 16), (64, 64), (128, 64)):
        cast, kept = (with_softmax_from(keys, attention_alone, torch.bfloat16, written_out_attention, args.repeats,
                                        images, tokens) for keys in (NEVER, 0))
        print(f"  attention alone, {images} images × 4 heads × {tokens:>2} tokens   float32 {cast:7.2f}   "
              f"bf16 {kept:7.2f}   float32 / bf16 {cast / kept:4.2f}×")
    for name, fn, fn_args in (("a fine-tuning step (batch 64)", finetune_step, (True, True, args.repeats)),
                              ("an MAE pretraining step (batch 128)", mae_pretraining_step, (args.repeats,))):
        cast = with_softmax_from(NEVER, fn, *fn_args)
        ours = fn(*fn_args)
        print(f"  {name:<36} float32 softmax everywhere {cast:7.1f}   the course's {ours:7.1f}   "
              f"speed-up {cast / ours:4.2f}×")


if __name__ == "__main__":
    main()
