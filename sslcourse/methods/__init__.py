"""One file per method. Each module defines its ``Method`` subclass, ``RECIPES`` (the
settings of each profile) and ``build(profile, recipe, encoder=None, seed=0)``.

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
    return r


def build_method(name: str, profile, encoder=None, seed: int = 0, **overrides):
    """(method, recipe): the method for ``profile`` with its recipe's settings."""
    r = recipe(name, profile, **overrides)
    return _module(name).build(profile, r, encoder=encoder, seed=seed), r
