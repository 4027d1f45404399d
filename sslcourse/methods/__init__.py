"""One file per method. Each module defines its ``Method`` subclass, ``RECIPES`` (the
settings of each profile) and ``build(profile, recipe, encoder=None, seed=0)``; and, where
``smoke_budget`` cannot shrink its network by capping widths, ``smoke_settings(recipe) -> dict``.

This package holds the methods alone: a method is its loss. Training runs, checkpoints
and evaluation are ``sslcourse.runs``' business (``plan_run``, ``train_method``).
"""
from __future__ import annotations

import importlib

METHODS = ("supervised", "inpainting", "rotation", "jigsaw", "simclr", "gan", "moco", "byol", "mae")


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
    if profile.name not in module.RECIPES:
        raise ValueError(f"{name} has no recipe for the {profile.name} profile: it has {', '.join(module.RECIPES)}")
    r = dict(module.RECIPES[profile.name])
    unknown = set(overrides) - set(r)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)} for {name}: valid are {sorted(r)}")
    r.update({k: v for k, v in overrides.items() if v is not None})
    if getattr(profile, "smoke", False):
        r.update(smoke_budget(r))
        if hasattr(module, "smoke_settings"):  # a network the recipe sizes by other keys than widths (MAE's ViT)
            r.update(module.smoke_settings(r))
    return r


def smoke_budget(r: dict) -> dict:
    """A smoke run's share of recipe ``r``: one epoch (and one per ablation) in batches of at most
    ``SMOKE_BATCH``, and networks of at most ``SMOKE_WIDTH`` channels where the recipe sets a width (a decoder,
    a GAN) — a few cheap optimiser steps that take every code path of the recipe (``config``)."""
    from ..config import SMOKE_BATCH, SMOKE_WIDTH

    return {"epochs": 1, "batch_size": min(r["batch_size"], SMOKE_BATCH),
            **({"ablation_epochs": 1} if "ablation_epochs" in r else {}),
            **{k: min(v, SMOKE_WIDTH) for k, v in r.items() if k.endswith("width")}}


def build_method(name: str, profile, encoder=None, seed: int = 0, **overrides):
    """(method, recipe): the method for ``profile`` with its recipe's settings."""
    r = recipe(name, profile, **overrides)
    return _module(name).build(profile, r, encoder=encoder, seed=seed), r
