"""MoCo v2 (He et al. 2020; Chen, Fan, Girshick & He 2020): negatives from a queue, keys from a momentum encoder.

SimCLR's negatives are the other images of the batch, so more negatives cost a larger batch. MoCo keeps
the keys of the last K images in a queue instead, and contrasts each query with all of them::

    q = g(f(v1)) / ‖·‖                   the query: online encoder f + projector g, with gradients
    k = g'(f'(v2)) / ‖·‖                 its key: the momentum copy (f', g'), no gradients
    logits = [q·k, q·queue_1, …, q·queue_K] / τ        (N, 1 + K)
    ℓ = cross-entropy(logits, 0)         the positive is column 0: InfoNCE over 1 + K candidates

Symmetric: both views serve as queries (ℓ(q1, k2) + ℓ(q2, k1)) / 2. After the loss, both views'
keys enter the queue and the oldest leave. The queue only works if its keys stay comparable with
today's — that is why the key encoder moves slowly (momentum m ≈ 0.99, :mod:`.momentum`).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..augment import SimCLRAugment
from ..collapse import embedding_std
from ..distributed import gather
from ..models import projection_mlp
from ..train import Method
from .momentum import MomentumNetwork


def moco_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """InfoNCE of queries q (N, D) against their keys k (N, D) and the negatives in ``queue`` (K, D).

    q and k are L2-normalised here; the queue holds normalised keys already. Mean over the N queries of
    −log [exp(q·k⁺/τ) / (exp(q·k⁺/τ) + Σ_j exp(q·queue_j/τ))], computed as a cross-entropy (log-space).
    """
    if q.dim() != 2 or q.shape != k.shape:
        raise ValueError(f"q and k must have the same shape (N, D), got {tuple(q.shape)} and {tuple(k.shape)}: "
                         "pass the queries and the keys of the other view")
    if queue.dim() != 2 or queue.shape[1] != q.shape[1]:
        raise ValueError(f"the queue must be (K, D) with D = {q.shape[1]}, got {tuple(queue.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    q, k = F.normalize(q.float(), dim=1), F.normalize(k.float(), dim=1).detach()
    positives = (q * k).sum(1, keepdim=True)  # (N, 1)
    negatives = q @ queue.float().detach().T  # (N, K)
    logits = torch.cat([positives, negatives], dim=1) / temperature  # (N, 1 + K)
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


@torch.no_grad()
def enqueue(queue: torch.Tensor, ptr: torch.Tensor, keys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Write ``keys`` (N, D) over the oldest N rows of ``queue`` (K, D), starting at row ``ptr`` and
    wrapping around; advance ``ptr`` (a 0-dim int64 tensor) to (ptr + N) mod K. Both in place: they are
    buffers of the method, saved in its checkpoints; returns (queue, ptr). No ``.item()``: nothing waits
    for the GPU."""
    if keys.dim() != 2 or keys.shape[1] != queue.shape[1]:
        raise ValueError(f"keys must be (N, {queue.shape[1]}) to enter a queue of shape {tuple(queue.shape)}, "
                         f"got {tuple(keys.shape)}")
    if len(keys) > len(queue):
        raise ValueError(f"{len(keys)} keys do not fit in a queue of {len(queue)}: make the queue larger than "
                         "two batches (queue_size)")
    rows = (ptr + torch.arange(len(keys), device=queue.device)) % len(queue)  # (N,)
    queue[rows] = keys.detach().to(queue.dtype)
    ptr.copy_((ptr + len(keys)) % len(queue))
    return queue, ptr


class MoCo(Method):
    """Query encoder f + projector g (trained), key encoder = their momentum copy, a queue of K keys."""

    lr = 2e-3
    weight_decay = 1e-4
    version = 1
    local_buffers = ("queue", "queue_ptr")  # each process updates its own (with everyone's keys): never broadcast

    def __init__(self, encoder: nn.Module, augment=None, temperature: float = 0.2, queue_size: int = 4096,
                 momentum: float = 0.99, projection_dim: int = 128, hidden_dim: int = 512):
        super().__init__()
        if queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {queue_size}")
        self.encoder = encoder
        self.projector = projection_mlp(encoder.feature_dim, hidden_dim, projection_dim)
        self.key_encoder = MomentumNetwork(nn.Sequential(self.encoder, self.projector), momentum, "constant")
        self.augment = augment or SimCLRAugment()
        self.temperature, self.momentum = temperature, momentum
        queue = F.normalize(torch.randn(queue_size, projection_dim, device=next(encoder.parameters()).device), dim=1)
        self.register_buffer("queue", queue)  # (K, D): random unit vectors until real keys replace them
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long, device=queue.device))
        self.collapse_threshold = 0.1 / projection_dim ** 0.5  # fit warns if embedding_std falls below it

    def training_step(self, images, labels=None, part="main"):
        v1, v2 = self.augment(images), self.augment(images)
        q1, q2 = self.projector(self.encoder(torch.cat([v1, v2]))).chunk(2)  # one pass: BN sees both views
        k1, k2 = F.normalize(self.key_encoder(torch.cat([v1, v2])).float(), dim=1).chunk(2)  # (N, D) each
        negatives = self.queue.clone()  # the loss's backward needs these; enqueue below overwrites the buffer
        loss = (moco_loss(q1, k2, negatives, self.temperature) + moco_loss(q2, k1, negatives, self.temperature)) / 2
        # after the loss: the queue holds older keys. Under torchrun every process enqueues every process's
        # keys, so all queues stay identical (each is kept out of DDP's buffer broadcast: local_buffers)
        enqueue(self.queue, self.queue_ptr, gather(torch.cat([k1, k2])))
        q = F.normalize(torch.cat([q1, q2]).detach().float(), dim=1)  # (2N, D)
        return loss, {"loss": loss, "embedding_std": embedding_std(q),
                      "positive_similarity": (q * torch.cat([k2, k1])).sum(1).mean(),  # mean q·k⁺
                      "negative_similarity": q.mean(0) @ negatives.float().mean(0)}  # mean q·queue_j, without (2N, K)

    def on_step_end(self, step: int, total_steps: int) -> None:
        self.key_encoder.update(nn.Sequential(self.encoder, self.projector), step, total_steps)

    def hparams(self) -> dict:
        return {"augment": repr(self.augment), "temperature": self.temperature, "queue_size": len(self.queue),
                "momentum": self.momentum,
                "projector": [m.weight.shape[0] for m in self.projector if isinstance(m, nn.Linear)]}


RECIPES = {
    # quick: batch 64 (the queue, not the batch, holds the negatives: smaller batches give more steps per
    # CPU second), τ = 0.1, a queue of 4096 keys (the last 32 steps'), momentum 0.99, and grayscale on half
    # the views: colour is the cheapest thing two views of a `shapes` image share, and removing it made
    # MoCo's linear probe 6.5 points better in 3 epochs (BENCHMARKS.md). ablation_epochs: lesson 06's
    # momentum comparison, on a quarter of the data.
    "quick": dict(epochs=3, batch_size=64, lr=2e-3, temperature=0.1, queue_size=4096, momentum=0.99,
                  optimizer="adamw", weight_decay=1e-4, strength=0.5, min_scale=0.5, gray_p=0.5, ablation_epochs=2),
    # gpu: sized from SimCLR's measured 21,000 images/s on an H100 (two views, batch 512) plus a no-grad
    # key pass (about a third more): about 3 s per epoch, eight epochs and the ablation in about 30 s.
    # Accuracy not measured yet (BENCHMARKS.md).
    "gpu": dict(epochs=8, batch_size=512, lr=0.24, temperature=0.1, queue_size=8192, momentum=0.99,
                strength=0.5, min_scale=0.2, gray_p=0.2, optimizer="sgd", weight_decay=5e-4, ablation_epochs=2),
    # full: lightly's CIFAR-10 benchmark settings for batch 512 (SGD lr 0.06 × 512/128, weight decay 5e-4,
    # τ = 0.1, a queue of 8192, momentum 0.99): 84.7-85.0 % kNN there after 200 epochs. Not measured here yet.
    "full": dict(epochs=200, batch_size=512, lr=0.24, temperature=0.1, queue_size=8192, momentum=0.99,
                 strength=0.5, min_scale=0.2, gray_p=0.2, optimizer="sgd", weight_decay=5e-4, ablation_epochs=20),
}


def build(profile, r: dict, encoder=None, seed: int = 0) -> MoCo:
    from ..models import build_backbone

    with torch.random.fork_rng(devices=[]):  # the projector's and the queue's initial draw follow the seed
        torch.manual_seed(seed)
        method = MoCo(encoder or build_backbone(profile.backbone, seed=seed),
                      augment=SimCLRAugment(size=profile.image_size, scale=(r["min_scale"], 1.0),
                                            strength=r["strength"], gray_p=r.get("gray_p", 0.2)),
                      temperature=r["temperature"], queue_size=r["queue_size"], momentum=r["momentum"])
    method.optimizer = r.get("optimizer", method.optimizer)
    method.weight_decay = r.get("weight_decay", method.weight_decay)
    return method
