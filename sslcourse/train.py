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

A checkpoint knows what it was trained on: it stores the run's *identity* — the method and
its settings, the code's version, the data's fingerprint, the loop's settings — and is only
resumed by a run with the same identity. Anything else is never loaded silently: ``fit``
names what differs and either stops (``on_mismatch="error"``, the default: you named that
file) or trains into a path of its own beside it (``"fresh"``, what ``sslcourse.runs`` uses
for the checkpoints it names itself).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from . import distributed
from .data import ImageDataset, atomic_save, fingerprint_of

# Bump when the checkpoint layout or the loop's meaning changes: older checkpoints then never resume.
CHECKPOINT_FORMAT = 2


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used: damaged, or from another run. The message says what to do."""


class Method(nn.Module):
    """Base class of every method: an ``encoder`` plus a loss on a batch.

    Subclasses set ``self.encoder`` and implement ``training_step``. The defaults below
    (one AdamW optimiser over every trainable parameter, cosine schedule) suit most
    methods; a GAN overrides ``configure_optimizers`` to return two.
    """

    encoder: nn.Module
    version: int = 1  # bump in a subclass when a code change alters what its checkpoints mean
    optimizer: str = "adamw"  # or "sgd" (momentum 0.9, Nesterov)
    lr: float = 2e-3
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # or "constant"
    # Collapse check: a method that logs "embedding_std" (sslcourse.collapse) and sets a threshold here
    # gets one plain warning from fit when that std falls below it.
    collapse_threshold: float | None = None
    # Buffers each process keeps itself under torchrun (DDP does not copy rank 0's over them), e.g. a queue
    # that every process fills with every process's keys.
    local_buffers: tuple = ()

    def training_step(self, images: torch.Tensor, labels: torch.Tensor, part: str = "main"):
        """images: uint8 (N, 3, H, W) on the device; returns (loss, {name: float tensor})."""
        raise NotImplementedError

    def on_step_end(self, step: int, total_steps: int) -> None:
        """Called by fit after every optimisation step (all parts), with the step's index (0-based, over the
        whole run: a resumed run continues the count) and the run's total: e.g. a momentum encoder's update."""

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
    """What ``fit`` recorded: ``steps`` — one row every ``log_every`` steps holding the mean of each logged
    number over *those* steps (not a running mean since the epoch began, which would draw a staircase
    that resets every epoch) — and ``epochs``, one row per epoch with its means, learning rate, seconds
    and evaluation numbers."""

    steps: list = field(default_factory=list)
    epochs: list = field(default_factory=list)
    checkpoint: str | None = None  # the file this run was saved to (None without checkpoints)
    skipped_steps: int = 0  # fp16: steps the gradient scaler skipped because gradients overflowed

    def series(self, key: str, per: str = "steps"):
        """(epochs, values) of ``key``: x in (fractional) epochs, one point per log interval or per epoch."""
        rows = self.steps if per == "steps" else self.epochs
        xs = [r["epoch"] for r in rows if key in r]
        ys = [r[key] for r in rows if key in r]
        return xs, ys

    def last(self, key: str):
        for row in reversed(self.epochs):
            if key in row:
                return row[key]
        return None

    def plot(self, keys=None, ax=None, per: str = "steps", colour: str | None = None, reference: dict | None = None):
        """``plots.plot_history``: the training curves of ``keys`` and what the evaluation measured each epoch
        (``colour``: every line in one colour, a method's; ``reference``: {label: evaluation numbers} drawn as
        levels beside the per-epoch curve, e.g. the untrained network's)."""
        from .plots import plot_history

        return plot_history(self, keys, ax, per, colour, reference)

    def to_dict(self) -> dict:
        return {"steps": self.steps, "epochs": self.epochs, "skipped_steps": self.skipped_steps}


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


def run_identity(method: Method, data_fingerprint: str, **settings) -> dict:
    """What a checkpoint of this run must match to be resumed: JSON-safe, compared key by key."""
    identity = {"format": CHECKPOINT_FORMAT, "method": type(method).__name__,
                "method_version": getattr(method, "version", 1), "hparams": method.hparams(),
                "data": data_fingerprint, **settings}
    return json.loads(json.dumps(identity, sort_keys=True, default=str))


def identity_hash(identity: dict) -> str:
    return hashlib.sha1(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def describe_differences(saved: dict | None, now: dict) -> str:
    """'data: 1a2b… (checkpoint) vs 3c4d… (this run); epochs: 4 vs 8' — what makes two runs different."""
    if not saved:
        return "it was written by an older version of sslcourse, which did not record what it was trained on"
    keys = sorted(set(saved) | set(now), key=lambda k: (k != "data", k))
    parts = []
    for k in keys:
        a, b = saved.get(k), now.get(k)
        if a != b:
            if isinstance(a, dict) and isinstance(b, dict):
                sub = [f"{k}.{kk}: {a.get(kk)!r} vs {b.get(kk)!r}" for kk in sorted(set(a) | set(b)) if a.get(kk) != b.get(kk)]
                parts.extend(sub)
            else:
                what = " (other images or labels)" if k == "data" else ""
                parts.append(f"{k}: {a!r} in the checkpoint vs {b!r} now{what}")
    return "; ".join(parts)


def autocast(device, amp):
    """Mixed precision: autocast to bf16 (``amp="bf16"`` or True) or fp16 (``"fp16"``) on CUDA or the
    CPU; nothing for None, False or ``"fp32"``. ``config.choose_precision`` picks what the hardware has."""
    device = torch.device(device)
    if amp in (None, False, "fp32") or device.type not in ("cuda", "cpu"):
        return contextlib.nullcontext()
    if amp not in (True, "bf16", "fp16"):
        raise ValueError(f"amp must be 'bf16', 'fp16', 'fp32', True or None, got {amp!r}")
    return torch.autocast(device.type, dtype=torch.float16 if amp == "fp16" else torch.bfloat16)


def grad_scaler(device, amp) -> torch.amp.GradScaler:
    """fp16 gradients underflow: scale the loss up before ``backward`` and the step back down
    (a no-op scaler for bf16 and fp32, whose exponent range is float32's). Part of the checkpoint."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type if device.type in ("cuda", "cpu") else "cpu",
                                enabled=(amp == "fp16" and device.type in ("cuda", "cpu")))


def fit(method: Method, data, epochs: int, *, batch_size: int = 256, lr: float | None = None,
        weight_decay: float | None = None, warmup_epochs: float | None = None, device=None,
        amp=None, channels_last: bool | None = None, compile: bool = False,
        eval_fn=None, eval_every: int = 1, checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int = 1, resume: bool = True, on_mismatch: str = "error", seed: int = 0,
        log_every: int = 10, progress: bool = True, desc: str | None = None) -> History:
    """Train ``method`` on ``data`` for ``epochs``; return the :class:`History`.

    data: an ImageDataset, (images, labels) or images — uint8 (N, 3, H, W), moved to ``device`` once.
    lr, weight_decay: override the method's defaults. warmup_epochs: default min(1, epochs / 10).
    amp: ``"bf16"`` / ``True``, ``"fp16"`` (with a gradient scaler, saved in the checkpoint) or
      None / ``"fp32"``; the profile picks it from the hardware (``config.choose_precision``).
    channels_last: default True (1.5–2× faster convolutions on CPU, and on CUDA with AMP).
    compile: ``torch.compile`` the encoder (True: the default backend; or a backend's name, such as "eager");
      the full profile compiles on CUDA, where its long runs pay for it.
    eval_fn: ``eval_fn(method) -> dict`` of numbers, every ``eval_every`` epochs (e.g. kNN accuracy).
    checkpoint: a file path; saved atomically every ``checkpoint_every`` epochs and, when
      ``resume``, training continues from it (a finished run is not repeated). A checkpoint
      from another run (other data, settings or code version) is never loaded: with
      ``on_mismatch="error"`` fit stops and says what differs; with ``"fresh"`` it trains
      into ``<name>-<identity>.pt`` beside it instead. Two runs started at once on the same
      file take turns (a lock): the second waits, then finds the first's result.

    Under ``torchrun`` (``sslcourse.distributed``) the same loop trains with DistributedDataParallel:
    ``batch_size`` stays the global batch, each process steps on its slice of it, batch norm is
    synchronised on GPUs, and only rank 0 prints, evaluates and writes the checkpoint.
    Memory-mapped data (``ImageDataset.memory_mapped``) stay on the host; only each batch moves.
    """
    if on_mismatch not in ("error", "fresh"):
        raise ValueError(f"on_mismatch must be 'error' or 'fresh', got {on_mismatch!r}")
    device = torch.device(device or next(method.parameters()).device)
    images, labels = _as_tensors(data)
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"fit needs images of shape (N, 3, H, W), got {tuple(images.shape)}")
    if len(images) < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than the dataset ({len(images)} images): lower it")
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    world = distributed.current()
    if batch_size % world.size:
        raise ValueError(f"the global batch_size={batch_size} must split evenly over {world.size} processes: "
                         f"use a multiple of {world.size}")
    local_batch = batch_size // world.size
    mapped = getattr(data, "memory_mapped", False)  # larger than memory: batches move, the data stay
    if not mapped:
        images, labels = images.to(device), labels.to(device)
    channels_last = True if channels_last is None else channels_last  # faster on CPU too (benchmarks/models.py)
    method.to(device)
    if world.size > 1 and device.type == "cuda":
        nn.SyncBatchNorm.convert_sync_batchnorm(method)  # batch statistics over the global batch
    if channels_last:
        method.to(memory_format=torch.channels_last)
    if compile:  # True: torch.compile's default backend (inductor); a backend's name, e.g. "eager" (tests)
        method.encoder.compile(**({} if compile is True else {"backend": compile}))
    if amp is True:
        amp = "bf16"
    if amp == "fp32":
        amp = None

    optimizers = method.configure_optimizers(lr, weight_decay)
    steps_per_epoch = len(images) // batch_size
    total = epochs * steps_per_epoch
    warmup = round(steps_per_epoch * (min(1.0, epochs / 10) if warmup_epochs is None else warmup_epochs))
    schedulers = {
        part: torch.optim.lr_scheduler.LambdaLR(
            opt, cosine_with_warmup(total, warmup) if method.schedule == "cosine" else (lambda s: 1.0))
        for part, opt in optimizers.items()
    }
    scaler = grad_scaler(device, amp)
    stepped: set = set()  # the parts whose optimiser stepped this step (fp16 skips a step that overflowed)
    for part, opt in optimizers.items():
        opt.register_step_post_hook(lambda _opt, _args, _kwargs, part=part: stepped.add(part))
    data_fingerprint = data.fingerprint if isinstance(data, ImageDataset) else fingerprint_of(images, labels)
    identity = run_identity(method, data_fingerprint, epochs=epochs, batch_size=batch_size, lr=lr,
                            weight_decay=weight_decay, warmup=warmup, seed=seed, n=len(images), amp=amp)
    name = desc or type(method).__name__
    step_fn = _distributed_step(method, device, len(optimizers)) if world.size > 1 else method.training_step
    say = print if world.is_main else (lambda *args, **kwargs: None)
    with locked(checkpoint if world.size == 1 else None, name):
        history, start_epoch = History(), 0
        if checkpoint is not None:
            checkpoint = _resolve_checkpoint(Path(checkpoint), identity, on_mismatch, name, say)
            if resume:
                start_epoch, history = _load_checkpoint(checkpoint, method, optimizers, schedulers, scaler, epochs)
            history.checkpoint = str(checkpoint)
        warned = not world.is_main
        for row in history.steps:  # a loaded run warns as its training did: its checkpoint holds every logged step
            warned = _check_collapse(method, row, row["epoch"], name, warned, loaded=True)
        if 0 < start_epoch < epochs:
            say(f"{name}: resuming from {checkpoint} after epoch {start_epoch} of {epochs}")
        if start_epoch >= epochs:
            plural = "" if epochs == 1 else "s"
            say(f"{name}: already trained for {epochs} epoch{plural} (checkpoint {checkpoint}); delete it to train again")
            method.eval()
            return history

        bar = _progress_bar(total, start_epoch * steps_per_epoch, progress and world.is_main, name)
        on_step_end = getattr(method, "on_step_end", None)
        skipped, skipped_before = set(), history.skipped_steps
        try:
            for epoch in range(start_epoch, epochs):
                t0 = time.perf_counter()
                # every random draw of this epoch follows from the seed (each process draws its own augmentations)
                torch.manual_seed(_epoch_seed(seed, epoch) + 104_729 * world.rank)
                order_gen = torch.Generator().manual_seed(_epoch_seed(seed, epoch))  # one order for all processes
                method.train()
                sums, count = {}, 0  # over the epoch: its row in history.epochs
                window, in_window = {}, 0  # over the last log_every steps: one point of the training curve
                for step, idx in enumerate(batches(len(images), batch_size, order_gen, images.device)):
                    idx = idx[world.rank * local_batch:(world.rank + 1) * local_batch]  # this process's slice
                    x, y = images[idx], labels[idx]
                    if mapped:
                        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                    if channels_last:
                        x = x.contiguous(memory_format=torch.channels_last)
                    logs = _step(step_fn, optimizers, schedulers, scaler, stepped, x, y, device, amp)
                    if len(stepped) < len(optimizers):
                        skipped.update(set(optimizers) - stepped)
                        history.skipped_steps += 1
                    if on_step_end is not None:
                        on_step_end(epoch * steps_per_epoch + step, total)
                    for k, v in logs.items():
                        v = v.detach().float()
                        sums[k] = sums.get(k, 0.0) + v
                        window[k] = window.get(k, 0.0) + v
                    count += 1
                    in_window += 1
                    if in_window == log_every or step == steps_per_epoch - 1:
                        means = {k: (v / in_window).item() for k, v in window.items()}  # one sync per log interval
                        means = distributed.mean_across(means)
                        _check_finite(means, epoch, step, optimizers, checkpoint)
                        warned = _check_collapse(method, means, epoch + (step + 1) / steps_per_epoch, name, warned)
                        history.steps.append({"epoch": epoch + (step + 1) / steps_per_epoch,
                                              "step": epoch * steps_per_epoch + step + 1, **means})
                        bar.set_postfix({k: f"{v:.4g}" for k, v in list(means.items())[:3]}, refresh=False)
                        window, in_window = {}, 0
                    bar.update(1)
                row = {"epoch": epoch + 1,
                       **distributed.mean_across({k: (v / max(count, 1)).item() for k, v in sums.items()}),
                       "lr": optimizers[next(iter(optimizers))].param_groups[0]["lr"],
                       "seconds": time.perf_counter() - t0}
                if eval_fn is not None and world.is_main and ((epoch + 1) % eval_every == 0 or epoch + 1 == epochs):
                    row.update(eval_fn(method))
                    method.train()
                history.epochs.append(row)
                if progress and eval_fn is not None:
                    bar.write(_row_text(row))
                if checkpoint is not None and ((epoch + 1) % checkpoint_every == 0 or epoch + 1 == epochs):
                    if world.is_main:
                        _save_checkpoint(checkpoint, identity, epoch + 1, method, optimizers, schedulers, scaler,
                                         history)
                    distributed.barrier()
        except KeyboardInterrupt:
            bar.close()
            done = history.epochs[-1]["epoch"] if history.epochs else 0
            where = f"; the checkpoint {checkpoint} holds the last saved epoch: run again to resume" if checkpoint else ""
            say(f"interrupted after {done} complete epoch(s){where}")
            raise
        bar.close()
        if history.skipped_steps > skipped_before:
            say(f"{name}: {history.skipped_steps - skipped_before} of {total - start_epoch * steps_per_epoch} "
                f"optimiser steps skipped ({', '.join(sorted(skipped))}): the fp16 gradients overflowed and the "
                "gradient scaler lowered its scale. A few at the start are normal; many mean the learning rate "
                "is too high.")
    method.eval()
    return history


def _progress_bar(total: int, initial: int, progress: bool, desc: str):
    if os.environ.get("SSLCOURSE_PROGRESS") == "text":  # saved notebooks (make run): text, not a widget
        from tqdm.std import tqdm
    else:
        from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, disable=not progress, desc=desc, unit="step", dynamic_ncols=True)


class _TrainingStep(nn.Module):
    """DistributedDataParallel synchronises the gradients of what its module's ``forward`` computed:
    this wrapper makes a method's ``training_step`` that forward."""

    def __init__(self, method: Method):
        super().__init__()
        self.method = method

    def forward(self, images, labels, part):
        return self.method.training_step(images, labels, part)


def _distributed_step(method: Method, device: torch.device, parts: int):
    from torch.nn.parallel import DistributedDataParallel

    wrapper = _TrainingStep(method)
    # DDP copies rank 0's buffers to every process before each forward; a method's local_buffers (MoCo's
    # queue, which every process fills with every process's keys) are its own and must not be overwritten
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(
        wrapper, [f"method.{name}" for name in getattr(method, "local_buffers", ())])
    # with two optimisers (a GAN), each part's step leaves the other part's parameters without gradients
    return DistributedDataParallel(wrapper, device_ids=[device.index] if device.type == "cuda" else None,
                                   find_unused_parameters=parts > 1)


def _step(step_fn, optimizers, schedulers, scaler, stepped: set, x, y, device, amp) -> dict:
    """One optimiser step per part; ``step_fn`` is the method's ``training_step`` (or its DDP wrapper).

    With fp16, the gradient scaler skips a part's step whose gradients overflowed (``inf``/``nan``): that
    part's learning-rate schedule then does not advance either (``stepped``, filled by each optimiser's
    step hook, says which parts really stepped), and the scaler's scale is updated once per step, after
    every part, as PyTorch's AMP recipe for several optimisers does."""
    logs = {}
    stepped.clear()
    for part, opt in optimizers.items():
        with autocast(device, amp):
            loss, part_logs = step_fn(x, y, part)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        logs.update(part_logs if part_logs else {"loss" if part == "main" else f"loss_{part}": loss})
    scaler.update()
    for part in stepped:
        schedulers[part].step()
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


class CollapseWarning(UserWarning):
    """The embeddings of a method are collapsing towards a single point."""


def _check_collapse(method, means: dict, epoch: float, name: str, warned: bool, loaded: bool = False) -> bool:
    """Warn once per run when the logged ``embedding_std`` falls below ``method.collapse_threshold``;
    ``loaded``: the row is a loaded checkpoint's, and the warning says the collapse happened in its training."""
    threshold = getattr(method, "collapse_threshold", None)
    std = means.get("embedding_std")
    if warned or threshold is None or std is None or std >= threshold:
        return warned
    what = ("the embeddings collapsed in this checkpoint's training" if loaded else "the embeddings are collapsing")
    mapped = "was being mapped" if loaded else "is being mapped"
    warnings.warn(f"{name}: {what} — their per-dimension std fell to {std:.3g} (threshold {threshold:.3g}) after "
                  f"{epoch:.2f} epochs, so every image {mapped} to nearly the same point. Check the stop-gradient, "
                  "the predictor and the learning rate.", CollapseWarning, stacklevel=3)
    return True


def _row_text(row: dict) -> str:
    return "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())


def _save_checkpoint(path, identity, epoch, method, optimizers, schedulers, scaler, history) -> None:
    atomic_save({
        "identity": identity,
        "fingerprint": identity_hash(identity),
        "epoch": epoch,
        "method": method.state_dict(),
        "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
        "schedulers": {k: s.state_dict() for k, s in schedulers.items()},
        "scaler": scaler.state_dict(),
        "history": history.to_dict(),
    }, Path(path))


def read_checkpoint(path, map_location="cpu") -> dict:
    """A checkpoint's contents (tensors and plain data only: ``weights_only=True``), or one clear
    error naming the file and the command that removes it."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as err:  # truncated zip, bad pickle, not a checkpoint at all
        raise CheckpointError(
            f"checkpoint {path} is damaged or is not a checkpoint ({type(err).__name__}: "
            f"{(str(err).strip() or 'empty file').splitlines()[0][:160]}). Remove it and run again to retrain:\n"
            f"    rm '{path}'"
        ) from None
    if not isinstance(state, dict) or "method" not in state or "epoch" not in state:
        raise CheckpointError(f"{path} is not a training checkpoint written by sslcourse's fit. "
                              f"Remove it and run again to retrain:\n    rm '{path}'")
    return state


def _resolve_checkpoint(path: Path, identity: dict, on_mismatch: str, desc: str, say=print) -> Path:
    """The file this run checkpoints to: ``path`` unless it holds another run's checkpoint."""
    if not path.exists():
        return path
    saved = read_checkpoint(path).get("identity")
    if saved == identity:
        return path
    differences = describe_differences(saved, identity)
    if on_mismatch == "error":
        raise CheckpointError(
            f"checkpoint {path} is from another run, so it is not loaded: {differences}.\n"
            f"  Fix: pass another checkpoint path for this run, or remove that file to train here:\n    rm '{path}'")
    fresh = path.with_name(f"{path.stem}-{identity_hash(identity)[:8]}{path.suffix}")
    say(f"{desc}: {path.name} is from another run ({differences}); not using it — this run trains into {fresh}")
    return _resolve_checkpoint(fresh, identity, "error", desc, say) if fresh.exists() else fresh


def _load_checkpoint(path, method, optimizers, schedulers, scaler, epochs):
    path = Path(path)
    if not path.exists():
        return 0, History(checkpoint=str(path))
    state = read_checkpoint(path, map_location=next(method.parameters()).device)
    method.load_state_dict(state["method"])
    history = History(**state.get("history", {}), checkpoint=str(path))
    if state["epoch"] >= epochs:  # finished: the weights are all we need (a shared checkpoint has no more)
        return state["epoch"], history
    if "optimizers" not in state:
        raise CheckpointError(f"{path} holds only final weights (epoch {state['epoch']}), not the optimiser "
                              f"state needed to resume to epoch {epochs}. Remove it to train from scratch:\n"
                              f"    rm '{path}'")
    for k, o in optimizers.items():
        o.load_state_dict(state["optimizers"][k])
    for k, s in schedulers.items():
        s.load_state_dict(state["schedulers"][k])
    scaler.load_state_dict(state["scaler"])
    return state["epoch"], history


@contextlib.contextmanager
def locked(checkpoint, desc: str):
    """Hold ``<checkpoint>.lock`` while training into ``checkpoint``: a second run on the same file
    waits for the first, then resumes or reuses what it left (POSIX ``flock``; released even if
    the process dies). Without a checkpoint, or where ``fcntl`` is missing, nothing to lock.
    (``runs.finetune`` holds it around a fine-tune whose result it caches.)"""
    try:
        import fcntl
    except ImportError:  # Windows: unique temporary files still keep every checkpoint whole
        fcntl = None
    if checkpoint is None or fcntl is None:
        yield
        return
    lock_path = Path(checkpoint).with_name(f".{Path(checkpoint).name}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{desc}: another run is training into {checkpoint}; waiting for it to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
