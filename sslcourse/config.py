"""Profiles, device and seeding: the settings every lesson reads in its first cells.

Two profiles, one switch:

| | quick | full |
| --- | --- | --- |
| default when | no CUDA device | a CUDA device is present |
| dataset | embedded ``shapes`` (generated, offline) | CIFAR-10 (torchvision download) |
| backbone | small ConvNet | CIFAR ResNet-18 |
| budget | about a minute of training per method on 2 CPU cores | minutes per method on one GPU |

Environment variables override the defaults, so that one notebook serves a learner,
nbval, papermill and the command line alike::

    SSLCOURSE_PROFILE=quick|full   SSLCOURSE_DATASET=shapes|cifar10|stl10|folder
    SSLCOURSE_DEVICE=cpu|cuda|cuda:1|mps   SSLCOURSE_ROOT=/path/to/data
    SSLCOURSE_CACHE=/path/to/cache
"""
from __future__ import annotations

import dataclasses
import os
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

PROFILES = ("quick", "full")
DATASETS = ("shapes", "cifar10", "stl10", "folder")
BACKBONES = ("small_convnet", "resnet18")


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
    amp: bool = False  # bf16 autocast: on CUDA, and on CPUs with native bf16 (about 2× faster there)
    channels_last: bool = True  # 1.5–2× faster convolutions, on CPU too
    compile: bool = False  # torch.compile the encoder where it helps (full profile)

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
            f"device={self.device} batch_size={self.batch_size}"
            + (" amp=bf16" if self.amp else "")
            + (" channels_last" if self.channels_last else "")
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


def profile(name: str | None = None, dataset: str | None = None, device: str | None = None) -> Profile:
    """The active profile: arguments, then ``SSLCOURSE_*`` variables, then the defaults.

    >>> p = profile("quick")
    >>> p.name, p.dataset, p.backbone
    ('quick', 'shapes', 'small_convnet')
    """
    device = resolve_device(device)
    name = name or os.environ.get("SSLCOURSE_PROFILE") or ("full" if device.startswith("cuda") else "quick")
    _check_choice("profile", name, PROFILES, "SSLCOURSE_PROFILE")
    root = os.environ.get("SSLCOURSE_ROOT") or None
    if name == "quick":
        p = Profile(
            name="quick", dataset="shapes", backbone="small_convnet", device=device,
            batch_size=256, root=root,
            amp=device.startswith("cuda") or (device == "cpu" and cpu_has_fast_bf16()),
            channels_last=True,
        )
    else:
        cuda = device.startswith("cuda")
        p = Profile(
            name="full", dataset="cifar10", backbone="resnet18", device=device,
            batch_size=512, root=root,
            amp=cuda, channels_last=True, compile=cuda,
        )
    dataset = dataset or os.environ.get("SSLCOURSE_DATASET") or p.dataset
    _check_choice("dataset", dataset, DATASETS, "SSLCOURSE_DATASET")
    return dataclasses.replace(p, dataset=dataset)


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


def lesson_setup(name: str | None = None, seed: int = 0, dataset: str | None = None) -> Profile:
    """What every lesson's first code cell does: pick the profile, seed everything, say what runs where."""
    p = profile(name, dataset)
    seed_everything(seed)
    threads = torch.get_num_threads()
    where = torch.cuda.get_device_name() if p.device.startswith("cuda") else f"CPU, {threads} threads"
    print(f"{p}\n  torch {torch.__version__} on {where}; seed {seed}")
    if p.name == "quick":
        print("  quick profile: embedded `shapes` data, small ConvNet, about a minute per training run")
    return p
