"""Profiles, device, precision and seeding: the settings every lesson reads in its first cells.

Three profiles, for the three situations learners are in — one switch:

| | quick | gpu | full |
| --- | --- | --- | --- |
| default when | no CUDA device | a CUDA device is present | asked for |
| dataset | embedded ``shapes`` (offline) | CIFAR-10 | CIFAR-10 (or STL-10, a folder) |
| backbone | small ConvNet | CIFAR ResNet-18 | CIFAR ResNet-18 |
| budget | about a minute of training per lesson on 2 CPU cores | about a minute of training per lesson on an H100 (about ten on a Colab T4) | the published recipes: reproduce the papers' numbers |

Precision follows the hardware: bf16 autocast where the GPU has bf16 units (compute
capability 8.0 and newer: A100, H100, RTX 30xx/40xx), fp16 with a gradient scaler where it
has not (T4, V100), bf16 on a CPU with native bf16, fp32 elsewhere or on request.

Environment variables override the defaults, so that one notebook serves a learner,
nbval, papermill and the command line alike::

    SSLCOURSE_PROFILE=quick|gpu|full   SSLCOURSE_DATASET=shapes|cifar10|stl10|folder
    SSLCOURSE_DEVICE=cpu|cuda|cuda:1|mps   SSLCOURSE_PRECISION=fp32|bf16|fp16
    SSLCOURSE_ROOT=/path/to/data   SSLCOURSE_CACHE=/path/to/cache   SSLCOURSE_SMOKE=1

**Smoke mode** (``SSLCOURSE_SMOKE=1``) shrinks any profile to a few optimiser steps on a small subset
(``SMOKE_SIZES``) while keeping its code paths: the gpu and full profiles keep CIFAR-10 read from its files,
ResNet-18 (at 1/8 width: the same blocks and feature-map sizes), their augmentations, ``channels_last``,
checkpoints, and the precision a GPU would use (fp16 with its gradient scaler for gpu — a Colab T4 —,
bf16 for full). CI runs every notebook that way on a CPU: the stand-in for the GPU it does not have.
Its numbers mean nothing, so lessons do not judge their claims in it (``sslcourse.claims``).
"""
from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

PROFILES = ("quick", "gpu", "full")
PRECISIONS = ("fp32", "bf16", "fp16")
BUDGETS = {
    "quick": "about a minute of training per lesson on 2 CPU cores",
    "gpu": "about a minute of training per lesson on an H100, about ten on a Colab T4",
    "full": "the published recipes: tens of minutes per method on an H100, hours on a T4",
}
DATASETS = ("shapes", "cifar10", "stl10", "folder")
BACKBONES = ("small_convnet", "resnet18", "resnet18_narrow")
# Smoke runs: this many training / test images, batches of at most SMOKE_BATCH, one epoch per run.
SMOKE_SIZES = {"train": 128, "test": 64}
SMOKE_BATCH = 16
SMOKE_WIDTH = 16  # recipes' widths (a decoder's, a GAN's) are capped at this many channels


@dataclass(frozen=True)
class Profile:
    """The settings of one profile. Read them, or ``replace`` one for an experiment."""

    name: str
    dataset: str
    backbone: str
    device: str
    batch_size: int
    image_size: int = 32
    root: str | None = None
    amp: str | None = None  # autocast dtype: "bf16", "fp16" (with a gradient scaler) or None for fp32
    channels_last: bool = True  # 1.5–2× faster convolutions, on CPU too
    compile: bool = False  # torch.compile the encoder where it pays off (the long runs of the full profile)
    smoke: bool = False  # SSLCOURSE_SMOKE=1: a few optimiser steps on a small subset, every code path kept

    @property
    def precision(self) -> str:
        return self.amp or "fp32"

    @property
    def budget(self) -> str:
        return BUDGETS[self.name]

    def replace(self, **changes) -> "Profile":
        """A copy with some settings changed, e.g. ``profile().replace(batch_size=128)``."""
        if "name" in changes:
            _check_choice("profile", changes["name"], PROFILES, "SSLCOURSE_PROFILE")
        if "dataset" in changes:
            _check_choice("dataset", changes["dataset"], DATASETS, "SSLCOURSE_DATASET")
        return dataclasses.replace(self, **changes)

    def __str__(self) -> str:
        return (
            f"profile={self.name} dataset={self.dataset} backbone={self.backbone} "
            f"device={self.device} batch_size={self.batch_size} precision={self.precision}"
            + (" channels_last" if self.channels_last else "") + (" SMOKE" if self.smoke else "")
        )


def _check_choice(kind: str, value: str, valid: tuple[str, ...], env: str) -> None:
    if value not in valid:
        raise ValueError(
            f"unknown {kind} {value!r}: valid {kind}s are {', '.join(valid)} "
            f"(set with the argument or the environment variable {env})"
        )


def resolve_device(requested: str | None = None) -> str:
    """The device to use: ``requested`` (or ``SSLCOURSE_DEVICE``), else cuda if present, else cpu."""
    requested = requested or os.environ.get("SSLCOURSE_DEVICE") or None
    if requested is None:
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {requested!r} was asked for but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False). Unset SSLCOURSE_DEVICE or use "
                "SSLCOURSE_DEVICE=cpu with the quick profile; on Colab choose "
                "Runtime > Change runtime type > GPU."
            )
        index = int(requested.split(":")[1]) if ":" in requested else 0
        if index >= torch.cuda.device_count():
            raise RuntimeError(
                f"device {requested!r} was asked for but only {torch.cuda.device_count()} "
                "CUDA device(s) exist: use cuda:0"
            )
        return requested
    if requested == "mps":
        if not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise RuntimeError("device 'mps' was asked for but Apple MPS is not available: use cpu")
        return requested
    if requested == "cpu":
        return requested
    raise ValueError(f"unknown device {requested!r}: use cpu, cuda, cuda:N or mps")


def cuda_has_bf16(device: str = "cuda") -> bool:
    """True where the GPU computes in bf16 natively: compute capability 8.0 or newer (Ampere, Hopper…)."""
    major, _ = torch.cuda.get_device_capability(torch.device(device))
    return major >= 8


def choose_precision(device: str, requested: str | None = None) -> str | None:
    """The autocast dtype for ``device``: ``"bf16"``, ``"fp16"`` or None (fp32).

    ``requested`` (or ``SSLCOURSE_PRECISION``) wins when the hardware can do it: fp32 always;
    bf16 on a GPU of compute capability ≥ 8.0 or a CPU; fp16 on a GPU (or a CPU, for tests).
    Otherwise: bf16 on a GPU that has it, fp16 with a gradient scaler on one that has not
    (a T4 or a V100), bf16 on a CPU with native bf16 units, fp32 elsewhere.
    """
    requested = requested or os.environ.get("SSLCOURSE_PRECISION") or None
    kind = torch.device(device).type
    if requested is not None:
        _check_choice("precision", requested, PRECISIONS, "SSLCOURSE_PRECISION")
        if requested == "bf16" and kind == "cuda" and not cuda_has_bf16(device):
            name = torch.cuda.get_device_name(torch.device(device))
            raise ValueError(f"bf16 was asked for, but the {name} has no bf16 units (compute capability "
                             f"{'.'.join(map(str, torch.cuda.get_device_capability(torch.device(device))))} < 8.0): "
                             "use SSLCOURSE_PRECISION=fp16 (with a gradient scaler) or fp32")
        if requested != "fp32" and kind not in ("cuda", "cpu"):
            raise ValueError(f"mixed precision on {kind} is not supported here: use SSLCOURSE_PRECISION=fp32")
        return None if requested == "fp32" else requested
    if kind == "cuda":
        return "bf16" if cuda_has_bf16(device) else "fp16"
    if kind == "cpu" and cpu_has_fast_bf16():
        return "bf16"
    return None


def smoke_requested() -> bool:
    """``SSLCOURSE_SMOKE=1``: every profile at a smoke budget (see the module docstring)."""
    value = os.environ.get("SSLCOURSE_SMOKE", "")
    if value not in ("", "0", "1"):
        raise ValueError(f"SSLCOURSE_SMOKE={value!r}: use 1 for a smoke run (a few steps, every code path) or 0")
    return value == "1"


def profile(name: str | None = None, dataset: str | None = None, device: str | None = None,
            precision: str | None = None, smoke: bool | None = None) -> Profile:
    """The active profile: arguments, then ``SSLCOURSE_*`` variables, then the defaults.

    >>> p = profile("quick")
    >>> p.name, p.dataset, p.backbone
    ('quick', 'shapes', 'small_convnet')
    """
    device = resolve_device(device)
    cuda = device.startswith("cuda")
    name = name or os.environ.get("SSLCOURSE_PROFILE") or ("gpu" if cuda else "quick")
    _check_choice("profile", name, PROFILES, "SSLCOURSE_PROFILE")
    root = os.environ.get("SSLCOURSE_ROOT") or None
    smoke = smoke_requested() if smoke is None else smoke
    if smoke and not cuda and name != "quick" and not (precision or os.environ.get("SSLCOURSE_PRECISION")):
        precision = "fp16" if name == "gpu" else "bf16"  # what the GPU would run: a T4 for gpu, an A100/H100 for full
    amp = choose_precision(device, precision)
    if name == "quick":
        p = Profile(name="quick", dataset="shapes", backbone="small_convnet", device=device, batch_size=256,
                    root=root, amp=amp, smoke=smoke)
    else:  # gpu and full: the same data and network; the recipes differ (methods/*.py)
        # compile only on CUDA: compiling costs more than a lesson's short run gains, and on a CPU the first
        # compiled step alone takes 12-19 s (tests/test_train.py checks the compiled path once)
        p = Profile(name=name, dataset="cifar10", backbone="resnet18_narrow" if smoke else "resnet18", device=device,
                    batch_size=SMOKE_BATCH if smoke else 512, root=root, amp=amp, compile=cuda and name == "full",
                    smoke=smoke)
    dataset = dataset or os.environ.get("SSLCOURSE_DATASET") or p.dataset
    _check_choice("dataset", dataset, DATASETS, "SSLCOURSE_DATASET")
    return dataclasses.replace(p, dataset=dataset)


def describe_precision(p: Profile) -> str:
    """One line on the precision in use and why, for ``lesson_setup`` and ``sslcourse info``."""
    if p.device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(p.device))
        cap = ".".join(map(str, torch.cuda.get_device_capability(torch.device(p.device))))
        native = "bf16" if cuda_has_bf16(p.device) else "fp16"
        if p.amp == native:
            reason = (f"the {name} (compute capability {cap}) has bf16 units" if native == "bf16" else
                      f"the {name} (compute capability {cap}) has no bf16 units: fp16 with a gradient scaler")
        else:  # asked for: say so, not what the GPU would have chosen
            reason = f"asked for (SSLCOURSE_PRECISION; the {name} would run {native})" + (
                ", with a gradient scaler" if p.amp == "fp16" else "")
    else:
        reason = {"bf16": "this CPU multiplies bf16 natively" if cpu_has_fast_bf16() else
                  "asked for (SSLCOURSE_PRECISION; this CPU emulates bf16, slower than float32)",
                  # oneDNN computes fp16 convolutions' weight gradients with its reference kernel on some CPUs:
                  # 967 ms against 8.5 in float32 on a 2-core Xeon (BENCHMARKS.md, issue 26; benchmarks/cpu_fp16.py)
                  "fp16": "asked for (SSLCOURSE_PRECISION; on a CPU, fp16 convolutions can train 100 times slower "
                          "than float32: bf16 or fp32 train faster here)", None: "full float32"}[p.amp]
        if p.smoke and p.name != "quick" and p.amp:
            reason = (f"{p.precision} as a GPU runs the {p.name} profile"
                      + (", with its gradient scaler" if p.amp == "fp16" else "") + " (smoke run on the CPU: slow kernels)")
    return f"precision {p.precision}: {reason}"


def cpu_has_fast_bf16() -> bool:
    """True when the CPU multiplies bf16 natively (AVX512-BF16 or AMX): bf16 autocast then
    roughly doubles convolution speed (benchmarks/models.py). Elsewhere bf16 is emulated
    and slower, so the quick profile stays in float32. ``SSLCOURSE_CPU_BF16=0|1`` overrides."""
    env = os.environ.get("SSLCOURSE_CPU_BF16")
    if env in ("0", "1"):
        return env == "1"
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device) so that a run repeats."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def cache_dir() -> Path:
    """Where generated data, baselines and checkpoints are kept (``SSLCOURSE_CACHE`` overrides)."""
    base = os.environ.get("SSLCOURSE_CACHE")
    if base:
        path = Path(base)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = Path(xdg) / "sslcourse"
    path.mkdir(parents=True, exist_ok=True)
    return path


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Where real datasets live: ``root``, else ``SSLCOURSE_ROOT``, else ``<cache>/data``."""
    if root is not None:
        return Path(root)
    env = os.environ.get("SSLCOURSE_ROOT")
    return Path(env) if env else cache_dir() / "data"


# The run a lesson's first cell set up: what its claims (``sslcourse.claims``) are about.
LESSON_RUN: dict = {}


def lesson_setup(name: str | None = None, seed: int = 0, dataset: str | None = None) -> Profile:
    """What every lesson's first code cell does: pick the profile, seed everything, say what runs
    where, at what precision, and what it costs. The lesson's claims (``sslcourse.claims``) are
    about this profile and seed."""
    p = profile(name, dataset)
    seed_everything(seed)
    LESSON_RUN.update(profile=p, seed=seed)
    threads = torch.get_num_threads()
    where = torch.cuda.get_device_name(torch.device(p.device)) if p.device.startswith("cuda") \
        else f"CPU, {threads} threads"
    print(f"{p}\n  torch {torch.__version__} on {where}; seed {seed}; {describe_precision(p)}")
    print(f"  {p.name} profile ({p.dataset}, {p.backbone}): {p.budget}")
    if p.smoke:
        print(f"  SMOKE RUN (SSLCOURSE_SMOKE=1): {SMOKE_SIZES['train']} training images, one short epoch per "
              "run — it checks that every cell runs; its numbers mean nothing and no claim is judged")
    if p.name == "full":
        print("  full profile: the reproduction recipes — set SSLCOURSE_PROFILE=gpu for session-sized runs")
    return p
