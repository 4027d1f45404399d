"""One file per method. Each module defines its ``Method`` subclass, ``RECIPES`` (the
settings of the quick and full profiles) and ``build(profile, encoder=None, **overrides)``.

``build_method`` and ``train_and_evaluate`` serve the command line and lesson 06; a
lesson builds its method in front of the learner instead.
"""
from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

METHODS = ("supervised", "inpainting", "rotation", "jigsaw", "simclr", "gan")


def _module(name: str):
    if name not in METHODS:
        raise ValueError(f"unknown method {name!r}: choose one of {', '.join(METHODS)}")
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as err:
        raise ValueError(f"method {name!r} is not implemented yet in this version of sslcourse") from err


def recipe(name: str, profile, **overrides) -> dict:
    """The method's settings for the profile (epochs, batch_size, lr, ...), with overrides applied."""
    module = _module(name)
    r = dict(module.RECIPES[profile.name])
    unknown = set(overrides) - set(r)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)} for {name}: valid are {sorted(r)}")
    r.update({k: v for k, v in overrides.items() if v is not None})
    return r


def build_method(name: str, profile, encoder=None, seed: int = 0, **overrides):
    """(method, recipe): the method for ``profile`` with its recipe's settings."""
    r = recipe(name, profile, **overrides)
    return _module(name).build(profile, r, encoder=encoder, seed=seed), r


def fit_settings(profile, r: dict) -> dict:
    """The ``fit`` keyword arguments of a recipe on a profile."""
    return dict(epochs=r["epochs"], batch_size=r["batch_size"], lr=r.get("lr"), device=profile.device,
                amp=profile.amp, channels_last=profile.channels_last, compile=profile.compile)


def default_checkpoint(name: str, profile, r: dict, seed: int = 0) -> Path:
    from ..config import cache_dir

    return cache_dir() / "checkpoints" / f"{name}-{profile.name}-{profile.dataset}-e{r['epochs']}-s{seed}.pt"


def train_method(name: str, profile, train, seed: int = 0, checkpoint=None, progress: bool = True, **overrides):
    """(method, recipe, history): ``name`` trained on ``train`` with the profile's recipe, through
    ``fit``, checkpointed in the cache — a checkpoint left by a lesson with the same settings is reused."""
    from ..train import fit

    method, r = build_method(name, profile, seed=seed, **overrides)
    checkpoint = Path(checkpoint) if checkpoint else default_checkpoint(name, profile, r, seed)
    history = fit(method, train, **fit_settings(profile, r), seed=seed, checkpoint=checkpoint, progress=progress,
                  desc=name)
    return method, r, history


def train_and_evaluate(name: str, profile, epochs: int | None = None, seed: int = 0, checkpoint=None,
                       out=None, train_size: int | None = None, progress: bool = True) -> dict:
    """Train ``name`` on the profile's data through ``fit``, evaluate it and the random-init
    encoder with the shared protocol, save the encoder, and return (and write) the results."""
    import torch

    from ..config import seed_everything
    from ..data import load_profile_data
    from ..evaluate import baseline, evaluate_encoder
    from ..models import save_encoder

    seed_everything(seed)
    train, test = load_profile_data(profile, train_size)
    t0 = time.perf_counter()
    method, r, history = train_method(name, profile, train, seed, checkpoint, progress, epochs=epochs)
    seconds = time.perf_counter() - t0
    result = {
        "method": name, "profile": profile.name, "dataset": train.name, "backbone": profile.backbone,
        "epochs": r["epochs"], "seconds": seconds, "device": profile.device,
        "torch": torch.__version__, "recipe": r,
        **evaluate_encoder(method.encoder, train, test),
    }
    rand = baseline("random", profile, train, test, seed=seed)
    result["random_init"] = {k: rand[k] for k in ("knn_accuracy", "linear_probe_accuracy")}
    result["random_init_knn_accuracy"] = rand["knn_accuracy"]
    result["random_init_linear_probe_accuracy"] = rand["linear_probe_accuracy"]
    checkpoint = Path(checkpoint) if checkpoint else default_checkpoint(name, profile, r, seed)  # as train_method
    encoder_path = checkpoint.with_name(checkpoint.stem + "-encoder.pt")
    save_encoder(method.encoder, encoder_path, method=name, dataset=train.name, profile=profile.name)
    result["encoder"] = str(encoder_path)
    result["history"] = history.epochs
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=1))
    return result
