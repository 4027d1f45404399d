"""``fit``: the one training loop of the course.

Every method — supervised, inpainting, rotation, jigsaw, SimCLR, the GAN — is an
``nn.Module`` with an ``encoder`` and a ``training_step(images, labels, part)`` that
returns ``(loss, logs)``. ``fit`` does the rest, the same way for all of them::

    for epoch in epochs:
        reseed from (seed, epoch)             # resuming repeats the exact same run
        for images, labels in shuffled batches of the dataset (already on the device):
            for part, optimizer in optimizers:    # one part, or two for a GAN
                loss, logs = method.training_step(images, labels, part)
                optimizer.zero_grad(); loss.backward(); optimizer.step(); scheduler.step()
        evaluate every ``eval_every`` epochs, checkpoint every ``checkpoint_every`` epochs

with a progress bar, mixed precision and ``channels_last`` on CUDA, a clear stop on a
non-finite loss, atomic checkpoints and resumption.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from .data import ImageDataset, atomic_save


class Method(nn.Module):
    """Base class of every method: an ``encoder`` plus a loss on a batch.

    Subclasses set ``self.encoder`` and implement ``training_step``. The defaults below
    (one AdamW optimiser over every trainable parameter, cosine schedule) suit most
    methods; a GAN overrides ``configure_optimizers`` to return two.
    """

    encoder: nn.Module
    optimizer: str = "adamw"  # or "sgd" (momentum 0.9, Nesterov)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # or "constant"

    def training_step(self, images: torch.Tensor, labels: torch.Tensor, part: str = "main"):
        """images: uint8 (N, 3, H, W) on the device; returns (loss, {name: float tensor})."""
        raise NotImplementedError

    def configure_optimizers(self, lr: float | None = None, weight_decay: float | None = None) -> dict:
        params = [p for p in self.parameters() if p.requires_grad]
        return {"main": make_optimizer(self.optimizer, params, lr or self.lr,
                                       self.weight_decay if weight_decay is None else weight_decay)}

    def hparams(self) -> dict:
        """The settings that define a run: part of the checkpoint's fingerprint."""
        return {}


def make_optimizer(name: str, params, lr: float, weight_decay: float, betas=(0.9, 0.999)):
    """AdamW (the default: forgiving on small budgets) or SGD with Nesterov momentum."""
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=betas)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}: use 'adamw' or 'sgd'")


@dataclass
class History:
    """What ``fit`` recorded: ``steps`` (every ``log_every`` steps) and ``epochs`` (one row each)."""

    steps: list = field(default_factory=list)
    epochs: list = field(default_factory=list)

    def series(self, key: str, per: str = "steps"):
        rows = self.steps if per == "steps" else self.epochs
        xs = [r["epoch"] for r in rows if key in r]
        ys = [r[key] for r in rows if key in r]
        return xs, ys

    def last(self, key: str):
        for row in reversed(self.epochs):
            if key in row:
                return row[key]
        return None

    def plot(self, keys=None, ax=None):
        from .plots import plot_history

        return plot_history(self, keys, ax)

    def to_dict(self) -> dict:
        return {"steps": self.steps, "epochs": self.epochs}


def cosine_with_warmup(total_steps: int, warmup_steps: int):
    """lr factor: linear from ~0 to 1 over ``warmup_steps``, then cosine down to 0 at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def batches(n: int, batch_size: int, generator: torch.Generator, device, drop_last: bool = True):
    """Shuffled index batches over ``n`` items (the last partial batch dropped by default)."""
    order = torch.randperm(n, generator=generator).to(device)
    stop = n - n % batch_size if drop_last and n >= batch_size else n
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def _as_tensors(data):
    if isinstance(data, ImageDataset):
        return data.images, data.labels
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data
    if isinstance(data, torch.Tensor):
        return data, torch.zeros(len(data), dtype=torch.int64)
    raise TypeError(f"data must be an ImageDataset, (images, labels) or images, got {type(data).__name__}")


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 1_000_003 + epoch


def _fingerprint(method: Method, **settings) -> str:
    blob = json.dumps({"method": type(method).__name__, "hparams": method.hparams(), **settings},
                      sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def autocast(device, amp):
    """Mixed precision: bf16 (or fp16) autocast on CUDA, bf16 on a CPU that has bf16 units."""
    device = torch.device(device)
    if amp in (None, False) or device.type not in ("cuda", "cpu"):
        return contextlib.nullcontext()
    if device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return torch.autocast("cuda", dtype=torch.float16 if amp == "fp16" else torch.bfloat16)


def fit(method: Method, data, epochs: int, *, batch_size: int = 256, lr: float | None = None,
        weight_decay: float | None = None, warmup_epochs: float | None = None, device=None,
        amp=None, channels_last: bool | None = None, compile: bool = False,
        eval_fn=None, eval_every: int = 1, checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 1, resume: bool = True, seed: int = 0, log_every: int = 10,
        progress: bool = True, desc: str | None = None) -> History:
    """Train ``method`` on ``data`` for ``epochs``; return the :class:`History`.

    data: an ImageDataset, (images, labels) or images — uint8 (N, 3, H, W), moved to ``device`` once.
    lr, weight_decay: override the method's defaults. warmup_epochs: default min(1, epochs / 10).
    amp: ``"bf16"`` / ``"fp16"`` / ``True`` (bf16) for autocast on CUDA; ignored on CPU.
    channels_last: default True (1.5–2× faster convolutions on CPU, and on CUDA with AMP). compile: ``torch.compile`` the encoder (CUDA).
    eval_fn: ``eval_fn(method) -> dict`` of numbers, every ``eval_every`` epochs (e.g. kNN accuracy).
    checkpoint: a file path; saved atomically every ``checkpoint_every`` epochs and, when
      ``resume``, training continues from it (a finished run is not repeated).
    """
    device = torch.device(device or next(method.parameters()).device)
    images, labels = _as_tensors(data)
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"fit needs images of shape (N, 3, H, W), got {tuple(images.shape)}")
    if len(images) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the dataset ({len(images)} images): lower it")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    images, labels = images.to(device), labels.to(device)
    channels_last = True if channels_last is None else channels_last  # faster on CPU too (benchmarks/models.py)
    method.to(device)
    if channels_last:
        method.to(memory_format=torch.channels_last)
    if compile and device.type == "cuda":
        method.encoder.compile()
    if amp is True:
        amp = "bf16"

    optimizers = method.configure_optimizers(lr, weight_decay)
    steps_per_epoch = len(images) // batch_size
    total = epochs * steps_per_epoch
    warmup = round(steps_per_epoch * (min(1.0, epochs / 10) if warmup_epochs is None else warmup_epochs))
    schedulers = {
        part: torch.optim.lr_scheduler.LambdaLR(
            opt, cosine_with_warmup(total, warmup) if method.schedule == "cosine" else (lambda s: 1.0))
        for part, opt in optimizers.items()
    }
    scaler = torch.amp.GradScaler("cuda", enabled=(amp == "fp16" and device.type == "cuda"))
    fingerprint = _fingerprint(method, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                               warmup=warmup, seed=seed, n=len(images), amp=amp)
    history, start_epoch = History(), 0
    if checkpoint is not None and resume:
        start_epoch, history = _load_checkpoint(checkpoint, fingerprint, method, optimizers, schedulers, scaler)
    if 0 < start_epoch < epochs:
        print(f"{desc or type(method).__name__}: resuming from {checkpoint} after epoch {start_epoch} of {epochs}")
    if start_epoch >= epochs:
        print(f"{desc or type(method).__name__}: already trained for {epochs} epochs "
              f"(checkpoint {checkpoint}); delete it to train again")
        method.eval()
        return history

    if os.environ.get("SSLCOURSE_PROGRESS") == "text":  # saved notebooks (make run): text, not a widget
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=start_epoch * steps_per_epoch, disable=not progress,
               desc=desc or type(method).__name__, unit="step", dynamic_ncols=True)
    try:
        for epoch in range(start_epoch, epochs):
            t0 = time.perf_counter()
            torch.manual_seed(_epoch_seed(seed, epoch))  # every random draw of this epoch follows from it
            order_gen = torch.Generator().manual_seed(_epoch_seed(seed, epoch))
            method.train()
            sums, count = {}, 0
            for step, idx in enumerate(batches(len(images), batch_size, order_gen, device)):
                x, y = images[idx], labels[idx]
                if channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                logs = _step(method, optimizers, schedulers, scaler, x, y, device, amp)
                for k, v in logs.items():
                    sums[k] = sums.get(k, 0.0) + v.detach().float()
                count += 1
                if count % log_every == 0 or step == steps_per_epoch - 1:
                    means = {k: (v / count).item() for k, v in sums.items()}  # one sync per log interval
                    _check_finite(means, epoch, step, optimizers, checkpoint)
                    history.steps.append({"epoch": epoch + (step + 1) / steps_per_epoch, **means})
                    bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:3]}, refresh=False)
                bar.update(1)
            row = {"epoch": epoch + 1, **{k: (v / max(count, 1)).item() for k, v in sums.items()},
                   "lr": optimizers[next(iter(optimizers))].param_groups[0]["lr"],
                   "seconds": time.perf_counter() - t0}
            if eval_fn is not None and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
                row.update(eval_fn(method))
                method.train()
            history.epochs.append(row)
            if progress and eval_fn is not None:
                bar.write(_row_text(row))
            if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
                _save_checkpoint(checkpoint, fingerprint, epoch + 1, method, optimizers, schedulers, scaler, history)
    except KeyboardInterrupt:
        bar.close()
        done = history.epochs[-1]["epoch"] if history.epochs else 0
        where = f"; the checkpoint {checkpoint} holds the last saved epoch: run again to resume" if checkpoint else ""
        print(f"interrupted after {done} complete epoch(s){where}")
        raise
    bar.close()
    method.eval()
    return history


def _step(method, optimizers, schedulers, scaler, x, y, device, amp) -> dict:
    logs = {}
    for part, opt in optimizers.items():
        with autocast(device, amp):
            loss, part_logs = method.training_step(x, y, part)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        schedulers[part].step()
        logs.update(part_logs if part_logs else {"loss" if part == "main" else f"loss_{part}": loss})
    return logs


def _check_finite(means: dict, epoch: int, step: int, optimizers: dict, checkpoint) -> None:
    bad = {k: v for k, v in means.items() if not math.isfinite(v)}
    if bad:
        lrs = {part: opt.param_groups[0]["lr"] for part, opt in optimizers.items()}
        raise FloatingPointError(
            f"training stopped: {', '.join(bad)} became {list(bad.values())[0]} in epoch {epoch + 1} "
            f"near step {step + 1} (learning rate {lrs}). Lower the learning rate, check that the "
            "inputs are in [0, 1] and that the loss cannot take log(0)"
            + (f"; the last good checkpoint is {checkpoint}" if checkpoint else "")
        )


def _row_text(row: dict) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def _save_checkpoint(path, fingerprint, epoch, method, optimizers, schedulers, scaler, history) -> None:
    atomic_save({
        "fingerprint": fingerprint,
        "epoch": epoch,
        "method": method.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "scaler": scaler.state_dict(),
        "history": history.to_dict(),
    }, Path(path))


def _load_checkpoint(path, fingerprint, method, optimizers, schedulers, scaler):
    path = Path(path)
    if not path.exists():
        return 0, History()
    state = torch.load(path, map_location=next(method.parameters()).device, weights_only=False)
    if state.get("fingerprint") != fingerprint:
        print(f"checkpoint {path} is from a different configuration: starting afresh (it will be overwritten)")
        return 0, History()
    method.load_state_dict(state["method"])
    for k, o in optimizers.items():
        o.load_state_dict(state["optimizers"][k])
    for k, s in schedulers.items():
        s.load_state_dict(state["schedulers"][k])
    scaler.load_state_dict(state["scaler"])
    history = History(**state["history"])
    return state["epoch"], history
