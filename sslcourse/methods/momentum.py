"""Momentum (target) networks: a slow copy of a network that follows it by an exponential moving average.

MoCo's key encoder and BYOL's target network are the same idea (He et al. 2020; Grill et al. 2020):
a copy θ' of the online weights θ that receives no gradients and, after every optimiser step, moves a
small step towards them::

    θ' ← m·θ' + (1 − m)·θ          (m close to 1: the copy averages the last ~1/(1 − m) steps)

With m = 0 the copy *is* the online network of the previous step; with m = 1 it never moves.
BYOL raises m from m_base to 1 over training on a cosine (section 3.2)::

    m_k = 1 − (1 − m_base)·(cos(πk/K) + 1)/2       k = 0..K, the optimiser step

so the target follows quickly early on and settles at the end. MoCo keeps m constant.

``fit`` calls ``method.on_step_end(step, total_steps)`` after every optimiser step: that is where a
method calls :meth:`MomentumNetwork.update` — once per step, never inside the loss.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn as nn

SCHEDULES = ("cosine", "constant")


def momentum_at(step: int, total_steps: int, base: float, schedule: str = "cosine") -> float:
    """m at optimiser step ``step`` of ``total_steps``: ``base`` throughout (constant), or BYOL's
    cosine from ``base`` at step 0 to 1 at the last step."""
    if not 0.0 <= base <= 1.0:
        raise ValueError(f"momentum must be in [0, 1], got {base}: 0.99 averages about the last 100 steps")
    if schedule == "constant":
        return base
    if schedule != "cosine":
        raise ValueError(f"unknown momentum schedule {schedule!r}: use one of {', '.join(SCHEDULES)}")
    progress = min(1.0, step / max(1, total_steps))
    return 1 - (1 - base) * (math.cos(math.pi * progress) + 1) / 2


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """θ' ← m·θ' + (1 − m)·θ for every parameter and floating-point buffer (batch norm's running
    statistics) of ``target``, in place; integer buffers (batch norm's step counters) are copied.

    ``target`` and ``online`` must have the same architecture (their ``state_dict`` keys pair up).
    No gradient flows and no ``.grad`` is touched: the update is bookkeeping, not learning.
    """
    online_params, online_buffers = dict(online.named_parameters()), dict(online.named_buffers())
    targets = list(target.named_parameters()) + list(target.named_buffers())
    if set(n for n, _ in targets) != set(online_params) | set(online_buffers):
        raise ValueError("target and online networks differ in their parameters or buffers: the target must be "
                         "a copy of the online network (copy.deepcopy), not another architecture")
    for name, t in targets:
        o = online_params.get(name, online_buffers.get(name))
        if t.is_floating_point():
            t.lerp_(o.to(t.dtype), 1 - momentum)  # m·t + (1 − m)·o
        else:
            t.copy_(o)


class MomentumNetwork(nn.Module):
    """A frozen copy of ``online`` updated by :func:`ema_update` with the momentum of :func:`momentum_at`.

    It lives inside the method (its weights are part of the method's ``state_dict``, so a checkpoint
    resumes it exactly) but is not trained: its parameters have ``requires_grad=False`` and its forward
    runs without building a graph — the stop-gradient of MoCo and BYOL.
    """

    def __init__(self, online: nn.Module, base: float = 0.99, schedule: str = "cosine"):
        super().__init__()
        momentum_at(0, 1, base, schedule)  # checks both now, not after the first epoch
        self.net = copy.deepcopy(online)
        self.net.requires_grad_(False)
        self.base, self.schedule = base, schedule

    def momentum(self, step: int, total_steps: int) -> float:
        return momentum_at(step, total_steps, self.base, self.schedule)

    def update(self, online: nn.Module, step: int, total_steps: int) -> float:
        """Move the copy towards ``online``; returns the momentum used."""
        m = self.momentum(step, total_steps)
        ema_update(self.net, online, m)
        return m

    @torch.no_grad()
    def forward(self, *args, **kwargs):
        return self.net(*args, **kwargs)

    def extra_repr(self) -> str:
        return f"base={self.base}, schedule={self.schedule!r}"
