"""Collapse made visible: numbers that tell a healthy embedding from a collapsed one.

A method that only pulls two views together (BYOL, SimSiam) has a trivial solution: map every
image to the same point. These measure how far an embedding z (N, D) is from that:

* ``embedding_std`` — the per-dimension standard deviation of the L2-normalised embeddings,
  averaged over the D dimensions (Chen & He 2021, SimSiam, section 4.1). Unit vectors spread
  evenly over the sphere have std ≈ 1/√D in every dimension; a collapsed embedding has std 0.
* ``singular_values`` / ``effective_rank`` — how many directions the embeddings really use:
  the exponential of the entropy of the normalised singular values (Roy & Vetterli 2007; as
  RankMe, Garrido et al. 2023). 1 for a single point, D for embeddings that fill every direction
  alike. An embedding can keep its std and still lose rank (dimensional collapse).
* ``alignment`` and ``uniformity`` (Wang & Isola 2020) — what a contrastive loss asks for, as two
  numbers: positives close (alignment, lower is better) and the whole set spread over the sphere
  (uniformity, lower is better). A collapsed embedding is perfectly aligned and not uniform at all.
* ``view_cosines`` — the same two questions as plain cosines: how close an image's two views are, and how
  close the views of different images are (both 1 when collapsed).

Building blocks: they know no method, and run on any device (tensors stay where they are).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _check(z: torch.Tensor, what: str = "z") -> torch.Tensor:
    if not isinstance(z, torch.Tensor) or z.dim() != 2 or len(z) < 2:
        shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
        raise ValueError(f"{what} must be embeddings of shape (N, D) with N >= 2, got {shape}")
    return z.float()


def embedding_std(z: torch.Tensor) -> torch.Tensor:
    """Mean over dimensions of the std over the batch of z / ‖z‖: ≈ 1/√D when healthy, 0 when collapsed."""
    return F.normalize(_check(z), dim=1).std(0).mean()


def healthy_std(dim: int) -> float:
    """The std each coordinate of a random unit vector in ``dim`` dimensions has: 1/√D."""
    return 1 / math.sqrt(dim)


def singular_values(z: torch.Tensor) -> torch.Tensor:
    """Singular values (descending) of the L2-normalised embeddings (N, D): min(N, D) of them."""
    return torch.linalg.svdvals(F.normalize(_check(z), dim=1))


def effective_rank(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """exp(−Σ p_k log p_k) with p_k = σ_k / Σ σ: 1 for one point, min(N, D) for a spread embedding."""
    s = singular_values(z)
    p = s / s.sum().clamp_min(eps)
    return torch.exp(-(p * torch.log(p.clamp_min(eps))).sum())


def alignment(z1: torch.Tensor, z2: torch.Tensor, alpha: float = 2.0) -> torch.Tensor:
    """E ‖u − v‖^α over positive pairs (u, v) of unit vectors: 0 when the two views coincide, up to 2^α."""
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must be the two views' embeddings of the same shape, got "
                         f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    u, v = F.normalize(_check(z1, "z1"), dim=1), F.normalize(_check(z2, "z2"), dim=1)
    return (u - v).norm(dim=1).pow(alpha).mean()


def uniformity(z: torch.Tensor, t: float = 2.0) -> torch.Tensor:
    """log E exp(−t ‖u − v‖²) over all pairs of distinct unit vectors: 0 when collapsed (all pairs at
    distance 0); the more negative, the more evenly the embeddings cover the sphere."""
    u = F.normalize(_check(z), dim=1)
    return torch.pdist(u).pow(2).mul(-t).exp().mean().log()


def view_cosines(z1: torch.Tensor, z2: torch.Tensor) -> tuple[float, float]:
    """(mean cosine between the two views of an image, mean cosine between views of two different images) for
    embeddings z1, z2 (N, D) whose row i are the two views of image i."""
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must be the two views' embeddings of the same shape, got "
                         f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    u = F.normalize(torch.cat([_check(z1, "z1"), _check(z2, "z2")]), dim=1)
    n = len(z1)
    partners = (u[:n] * u[n:]).sum(1)  # cos(view 1, view 2) of each image
    every_pair = u.sum(0).pow(2).sum() - len(u)  # the sum of cos over ordered pairs of distinct views: ‖Σu‖² − 2n
    others = (every_pair - 2 * partners.sum()) / (2 * n * (2 * n - 2))
    return partners.mean().item(), others.item()
