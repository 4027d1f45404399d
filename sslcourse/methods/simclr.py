"""SimCLR (Chen et al. 2020) and its NT-Xent loss."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment import SimCLRAugment
from ..distributed import gather_with_grad
from ..models import projection_mlp
from ..train import Method


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """Normalised temperature-scaled cross-entropy, mean over the 2N anchors.

    With z the 2N L2-normalised projections of both views and sim(a, b) = aᵀb:

        ℓ(i, j) = −log [ exp(sim(z_i, z_j)/τ) / Σ_{k≠i} exp(sim(z_i, z_k)/τ) ]

    where j is i's other view; the loss is the mean of ℓ over all 2N anchors. Each row
    of the similarity matrix is a softmax classification of the positive among 2N − 1
    candidates, so ``cross_entropy`` (a log-sum-exp, stable for any τ) computes it.
    """
    if not (isinstance(z1, torch.Tensor) and isinstance(z2, torch.Tensor)):
        raise TypeError("z1 and z2 must be tensors: the projections of the two views")
    if z1.shape != z2.shape or z1.dim() != 2:
        raise ValueError(
            f"z1 and z2 must have the same shape (N, D), got {tuple(z1.shape)} and {tuple(z2.shape)}: "
            "pass the two views' projections"
        )
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)  # (2N, D), float32 even under autocast
    sim = z @ z.T / temperature  # (2N, 2N)
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))  # k ≠ i
    positives = torch.arange(2 * n, device=z.device).roll(n)  # i's other view: i + N mod 2N
    return F.cross_entropy(sim, positives)


def nt_xent_grad(z: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """∂L/∂z of the NT-Xent loss, written out, for unit-norm embeddings z = (z_1..z_2N) (2N, D).

    With s_ik = z_iᵀz_k, P_ik = softmax_k≠i(s_ik / τ) and Y_ik = 1 where k is i's positive:
    ℓ_i = −s_ij/τ + log Σ_{k≠i} exp(s_ik/τ), so ∂ℓ_i/∂z_i = (Σ_k P_ik z_k − z_j)/τ, and z_a also
    appears in every other anchor's sum. Averaging over the 2N anchors:

        ∂L/∂z = ((P − Y) + (P − Y)ᵀ) z / (2N τ)

    Each anchor is pulled towards its positive and pushed from its negatives in proportion to
    how similar they look — hard negatives get most of the push.
    """
    n2 = len(z)
    sim = (z @ z.T / temperature).masked_fill(torch.eye(n2, dtype=torch.bool, device=z.device), float("-inf"))
    p = sim.softmax(1)
    y = torch.zeros_like(p)
    rows = torch.arange(n2, device=z.device)
    y[rows, rows.roll(n2 // 2)] = 1.0
    return ((p - y) + (p - y).T) @ z / (n2 * temperature)


def partner_found(z: torch.Tensor) -> float:
    """Share of the 2N views (rows i and i + N are two views of one image) whose most similar other view is their
    partner (lesson 04; here rather than in the lesson, whose exercise asks for this similarity matrix)."""
    m = len(z) // 2
    sim = (z @ z.T).fill_diagonal_(float("-inf"))
    return (sim.argmax(1) == torch.arange(2 * m, device=z.device).roll(m)).float().mean().item()


def softmax_entropy(z: torch.Tensor, temperature: float) -> float:
    """Mean entropy (in nats) of each view's softmax over its 2N − 1 candidates at ``temperature`` (lesson 04):
    log(2N − 1) when the softmax is uniform, near 0 when it puts everything on one candidate."""
    sim = (z @ z.T / temperature).fill_diagonal_(float("-inf"))
    logp = sim.log_softmax(1).masked_fill(torch.eye(len(z), dtype=torch.bool, device=z.device), 0.0)
    return -(logp.exp() * logp).sum(1).mean().item()


class SimCLR(Method):
    """Two augmented views -> encoder f -> projector g -> NT-Xent; evaluate f, not g."""

    lr = 2e-3
    weight_decay = 1e-4

    def __init__(self, encoder: nn.Module, augment=None, temperature: float = 0.5,
                 projection_dim: int = 128, hidden_dim: int = 512, gather: bool = True):
        super().__init__()
        self.gather = gather  # False: each process's own negatives only — the bug lesson 04 shows
        self.encoder = encoder
        self.projector = projection_mlp(encoder.feature_dim, hidden_dim, projection_dim)
        self.augment = augment or SimCLRAugment()
        self.temperature = temperature

    def training_step(self, images, labels=None, part="main"):
        views = torch.cat([self.augment(images), self.augment(images)])  # (2N, 3, H, W)
        z1, z2 = self.projector(self.encoder(views)).chunk(2)  # one pass: batch norm sees both views
        if self.gather:  # under torchrun: every process's embeddings, so negatives come from the global batch
            z1, z2 = gather_with_grad(z1), gather_with_grad(z2)  # (N_global, D) each
        loss = nt_xent_loss(z1, z2, self.temperature)
        return loss, {"loss": loss}

    def hparams(self) -> dict:
        return {"augment": repr(self.augment), "temperature": self.temperature,
                "projector": [m.weight.shape[0] for m in self.projector if isinstance(m, nn.Linear)]}


RECIPES = {
    # quick: small batches (more steps per CPU second), τ = 0.2 and crops of at least half the
    # image (the objects fill a good part of a 32×32 scene) learn fastest (BENCHMARKS.md)
    "quick": dict(epochs=4, batch_size=128, lr=2e-3, temperature=0.2, strength=0.5, min_scale=0.5, gray_p=0.2,
                  ablation_epochs=4),
    # gpu: about 2.5 s per epoch on an H100 (21,100 images/s measured in the full profile): twelve epochs
    # and lesson 04's three augmentation ablations (ablation_epochs each, on half the data) in about
    # 45 s. SGD with a short-run learning rate; accuracy not measured yet (BENCHMARKS.md)
    "gpu": dict(epochs=12, batch_size=512, lr=0.3, temperature=0.2, strength=0.5, min_scale=0.2, gray_p=0.2,
                optimizer="sgd", weight_decay=5e-4, ablation_epochs=3),
    # full: on one H100, 2 s per epoch; kNN 79.6 % after 200 epochs, 77.7 % after 500 — short of 90 %.
    # SimSiam's lr 0.06 (0.03 × batch/256) with this weight decay is the next thing to measure (BENCHMARKS.md)
    "full": dict(epochs=500, batch_size=512, lr=0.6, temperature=0.2, strength=0.5, min_scale=0.2, gray_p=0.2,
                 optimizer="sgd", weight_decay=5e-4, ablation_epochs=50),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> SimCLR:
    from ..models import build_backbone

    method = SimCLR(encoder or build_backbone(profile.backbone, seed=seed),
                    augment=SimCLRAugment(size=profile.image_size, scale=(r["min_scale"], 1.0), strength=r["strength"],
                                          gray_p=r.get("gray_p", 0.2)),
                    temperature=r["temperature"])
    method.optimizer = r.get("optimizer", method.optimizer)
    method.weight_decay = r.get("weight_decay", method.weight_decay)
    return method
