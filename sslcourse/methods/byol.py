"""BYOL (Grill et al. 2020): no negatives — predict a slowly moving target's view of the same image.

Two networks see two views of each image::

    online:  y = f(v),  z = g(y),  p = q(z)           encoder f, projector g, predictor q — trained
    target:  y' = f'(v'), z' = g'(y')                  the momentum copy of (f, g) — never trained

    ℓ(p, z') = ‖p/‖p‖ − z'/‖z'‖‖² = 2 − 2·cos(p, z')         z' with its gradient stopped
    L = ℓ(p1, z'2) + ℓ(p2, z'1)                              both views predict the other (symmetric)

Nothing in L forbids the constant solution (every image mapped to one point gives L = 0). What keeps
BYOL away from it is the asymmetry: the predictor, the stop-gradient, and a target that moves slowly
(momentum m, :mod:`.momentum`). Lesson 06 removes each in turn and watches the embeddings collapse.

Ablation switches (for the lesson; the defaults are BYOL):

* ``predictor=False``: p = z (no predictor);
* ``stop_gradient=False``: the targets are the *online* network's projections, with gradients flowing
  through both branches (SimSiam's "no stop-gradient" run; the momentum network is not used);
* ``momentum=0``: the target is a copy of the online network from the previous step (no averaging).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment import SimCLRAugment
from ..collapse import embedding_std
from ..models import projection_mlp
from ..train import Method, make_optimizer
from .momentum import MomentumNetwork


def regression_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """2 − 2·cos(p_i, z_i) per row (N,): the squared distance of the two unit vectors. No stop-gradient here."""
    return 2 - 2 * F.cosine_similarity(p.float(), z.float(), dim=1, eps=1e-8)


def byol_loss(p1: torch.Tensor, p2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """BYOL's symmetric loss: mean over the batch of (2 − 2·cos(p1, sg(z2))) + (2 − 2·cos(p2, sg(z1))).

    p1, p2: the online predictions of views 1 and 2 (N, D); z1, z2: the target projections of the same
    views (N, D). Each view's prediction regresses the *other* view's target; sg = stop-gradient (the
    targets get no gradient). Values from 0 (perfect prediction) to 8.
    """
    shapes = {tuple(t.shape) for t in (p1, p2, z1, z2)}
    if len(shapes) != 1 or p1.dim() != 2:
        raise ValueError(f"p1, p2, z1, z2 must all have the same shape (N, D), got "
                         f"{', '.join(str(tuple(t.shape)) for t in (p1, p2, z1, z2))}")
    return (regression_loss(p1, z2.detach()) + regression_loss(p2, z1.detach())).mean()


def prediction_mlp(dim: int = 128, hidden_dim: int = 512) -> nn.Sequential:
    """BYOL's predictor q: the projector's shape, D -> hidden -> D (Linear, BN, ReLU, Linear)."""
    return projection_mlp(dim, hidden_dim, dim)


class BYOL(Method):
    """Online f, g, q (trained); target = momentum copy of (f, g); the symmetric 2 − 2·cos loss."""

    lr = 2e-3
    weight_decay = 1e-4
    version = 1

    def __init__(self, encoder: nn.Module, augment=None, momentum: float = 0.99, schedule: str = "cosine",
                 projection_dim: int = 128, hidden_dim: int = 512, predictor: bool = True,
                 stop_gradient: bool = True, predictor_lr: float = 1.0):
        super().__init__()
        self.encoder = encoder
        self.projector = projection_mlp(encoder.feature_dim, hidden_dim, projection_dim)
        self.predictor = prediction_mlp(projection_dim, hidden_dim) if predictor else nn.Identity()
        self.target = MomentumNetwork(nn.Sequential(self.encoder, self.projector), momentum, schedule)
        self.augment = augment or SimCLRAugment()
        self.momentum, self.schedule, self.stop_gradient = momentum, schedule, stop_gradient
        self.predictor_lr = predictor_lr  # the predictor's learning rate, as a multiple of the others'
        self.collapse_threshold = 0.1 / projection_dim ** 0.5  # fit warns if embedding_std falls below it

    def configure_optimizers(self, lr: float | None = None, weight_decay: float | None = None) -> dict:
        lr = lr or self.lr
        predictor = {id(p) for p in self.predictor.parameters()}
        rest = [p for p in self.parameters() if p.requires_grad and id(p) not in predictor]
        groups = [{"params": rest}, {"params": list(self.predictor.parameters()), "lr": lr * self.predictor_lr}]
        groups = [g for g in groups if g["params"]]  # no predictor: one group
        return {"main": make_optimizer(self.optimizer, groups, lr,
                                       self.weight_decay if weight_decay is None else weight_decay)}

    def online(self) -> nn.Sequential:
        return nn.Sequential(self.encoder, self.projector)

    def training_step(self, images, labels=None, part="main"):
        views = torch.cat([self.augment(images), self.augment(images)])  # (2N, 3, H, W)
        z = self.projector(self.encoder(views))  # (2N, D), one pass: BN sees both views
        p1, p2 = self.predictor(z).chunk(2)
        if self.stop_gradient:
            z1, z2 = self.target(views).chunk(2)  # the momentum network: no graph at all
            loss = byol_loss(p1, p2, z1, z2)
        else:  # SimSiam's ablation: the online projections as targets, gradients through both branches
            z1, z2 = z.chunk(2)
            loss = (regression_loss(p1, z2) + regression_loss(p2, z1)).mean()
        return loss, {"loss": loss, "embedding_std": embedding_std(z.detach())}

    def on_step_end(self, step: int, total_steps: int) -> None:
        if self.stop_gradient:
            self.target.update(self.online(), step, total_steps)

    def hparams(self) -> dict:
        return {"augment": repr(self.augment), "momentum": self.momentum, "schedule": self.schedule,
                "predictor": not isinstance(self.predictor, nn.Identity), "stop_gradient": self.stop_gradient,
                "predictor_lr": self.predictor_lr,
                "projector": [m.weight.shape[0] for m in self.projector if isinstance(m, nn.Linear)]}


RECIPES = {
    # quick: batch 64, AdamW, the predictor at 10× the learning rate (SimSiam and DirectPred: a predictor
    # that keeps up), milder colour jitter and grayscale on two views in three — without negatives nothing
    # stops BYOL from matching the colours two views share: with SimCLR's augmentations it gained 7
    # linear-probe points over random init in 4 epochs, with these 23-25 in 5 (two seeds, BENCHMARKS.md).
    # The target's momentum rises from 0.99 to 1 on BYOL's cosine. ablation_epochs: each of lesson 06's collapse ablations (a quarter of
    # the data).
    "quick": dict(epochs=5, batch_size=64, lr=2e-3, optimizer="adamw", weight_decay=1e-4, momentum=0.99,
                  schedule="cosine", predictor=True, stop_gradient=True, predictor_lr=10.0, strength=0.3,
                  min_scale=0.5, gray_p=0.65, ablation_epochs=2),
    # gpu: about 3 s per epoch on an H100 (SimCLR's measured 21,000 images/s, plus the target's no-grad pass):
    # eight epochs and the lesson's ablations in about a minute. Accuracy not measured yet (BENCHMARKS.md).
    "gpu": dict(epochs=8, batch_size=512, lr=0.24, momentum=0.99, schedule="cosine", predictor=True,
                stop_gradient=True, predictor_lr=1.0, strength=0.5, min_scale=0.2, gray_p=0.2, optimizer="sgd", weight_decay=5e-4,
                ablation_epochs=2),
    # full: lightly's CIFAR-10 benchmark settings for batch 512 (SGD lr 0.06 × 512/128, weight decay 5e-4,
    # momentum 0.99): 86.8-87.2 % kNN there after 200 epochs, 91.1 % after 800. Not measured here yet.
    "full": dict(epochs=200, batch_size=512, lr=0.24, momentum=0.99, schedule="cosine", predictor=True,
                 stop_gradient=True, predictor_lr=1.0, strength=0.5, min_scale=0.2, gray_p=0.2, optimizer="sgd", weight_decay=5e-4,
                 ablation_epochs=20),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> BYOL:
    from ..models import build_backbone

    with torch.random.fork_rng(devices=[]):  # the heads' initial weights follow the seed
        torch.manual_seed(seed)
        method = BYOL(encoder or build_backbone(profile.backbone, seed=seed),
                      augment=SimCLRAugment(size=profile.image_size, scale=(r["min_scale"], 1.0),
                                            strength=r["strength"], gray_p=r.get("gray_p", 0.2)),
                      momentum=r["momentum"], schedule=r.get("schedule", "cosine"),
                      predictor=r.get("predictor", True), stop_gradient=r.get("stop_gradient", True),
                      predictor_lr=r.get("predictor_lr", 1.0))
    method.optimizer = r.get("optimizer", method.optimizer)
    method.weight_decay = r.get("weight_decay", method.weight_decay)
    return method
