"""The frozen-feature protocol every lesson measures with.

1. ``extract_features``: the encoder in eval mode, no gradients, batched — (N, D) features.
2. ``knn_accuracy``: weighted k-nearest-neighbour vote on cosine similarity
   (Wu et al. 2018, "Unsupervised feature learning via non-parametric instance
   discrimination"): neighbour i votes for its class with weight exp(s_i / τ), τ = 0.07,
   for k = 20 and k = 200.
3. ``linear_probe``: multinomial logistic regression on standardised frozen features,
   full batch, L-BFGS (fixed recipe below), accuracy on the test split.
4. ``few_label_subset`` / ``few_label_probe``: the class-balanced 1 % or 10 % of the labels of the
   semi-supervised protocol, and a linear probe fit on them alone (fine-tuning, which trains the
   encoder, is ``sslcourse.runs.finetune``).

``evaluate_encoder`` runs 1–3 and returns one dict; ``probe_by_stage`` runs 3 on every stage of a backbone. The protocol measures any encoder and
trains nothing: baselines and fine-tuning, which train, are in ``sslcourse.runs``.
"""
from __future__ import annotations

import contextlib
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import ImageDataset

KNN_TEMPERATURE = 0.07
# Linear-probe recipe: standardise with the train split's mean/std, then minimise
# mean cross-entropy + (PROBE_L2 / 2)·||W||² with full-batch L-BFGS for PROBE_STEPS steps.
PROBE_L2 = 1e-3
PROBE_STEPS = 200
# Images per forward pass where nothing trains (features, accuracy, a judge's scores). On a CPU large batches
# spill out of the caches: at the course's 32×32 sizes, 128 extracts the ConvNet's features 1.75× as fast as 512
# and the ViT's 1.1× (one thread; 2× with two), bit for bit the same (BENCHMARKS.md, "CPU speed"). A GPU wants
# large batches.
INFERENCE_BATCH = {"cuda": 512, "cpu": 128}


def inference_batch_size(device) -> int:
    """The batch :func:`extract_features` uses on ``device`` when none is given (``INFERENCE_BATCH``)."""
    return INFERENCE_BATCH.get(torch.device(device).type, 512)


def _inference_autocast(device: torch.device):
    """Half precision for feature extraction on a GPU (bf16 where it has bf16 units, else fp16);
    the CPU extracts in float32, so CPU figures do not depend on the CPU's bf16 support."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    from .config import cuda_has_bf16

    return torch.autocast("cuda", dtype=torch.bfloat16 if cuda_has_bf16(str(device)) else torch.float16)


@torch.no_grad()
def extract_features(encoder: nn.Module, images: torch.Tensor, batch_size: int | None = None, device=None,
                     stage: int | None = None) -> torch.Tensor:
    """Encoder outputs (N, D) as float32, in eval mode; the encoder's mode is restored afterwards.
    ``batch_size``: images per forward pass, by default the device's (:func:`inference_batch_size`)."""
    device = torch.device(device or next(encoder.parameters()).device)
    batch_size = batch_size or inference_batch_size(device)
    was_training = encoder.training
    encoder.eval()
    out = []
    try:
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].to(device, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            with _inference_autocast(device):
                f = encoder(x) if stage is None else encoder(x, stage=stage)
            out.append(f.float().flatten(1))
    finally:
        encoder.train(was_training)
    return torch.cat(out)


def knn_predict(train_features, train_labels, test_features, k: int = 20,
                temperature: float = KNN_TEMPERATURE, num_classes: int | None = None,
                chunk: int = 1024) -> torch.Tensor:
    """Weighted kNN: class scores Σ_{i in top-k} exp(cos(x, x_i)/τ)·[y_i = c]; returns (M,) predictions."""
    num_classes = num_classes or int(train_labels.max()) + 1
    train = F.normalize(train_features.float(), dim=1)
    k = min(k, len(train))
    preds = []
    for start in range(0, len(test_features), chunk):
        query = F.normalize(test_features[start:start + chunk].float().to(train.device), dim=1)
        sim, idx = (query @ train.T).topk(k, dim=1)  # (m, k)
        votes = torch.zeros(len(query), num_classes, device=train.device)
        votes.scatter_add_(1, train_labels.to(train.device)[idx], torch.exp(sim / temperature))
        preds.append(votes.argmax(1))
    return torch.cat(preds)


def knn_accuracy(train_features, train_labels, test_features, test_labels, k=20,
                 temperature: float = KNN_TEMPERATURE):
    """Accuracy (0..1) of the weighted kNN vote; ``k`` an int, or a tuple for a dict {k: accuracy}."""
    ks = (k,) if isinstance(k, int) else tuple(k)
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    acc = {}
    for kk in ks:
        pred = knn_predict(train_features, train_labels, test_features, kk, temperature, num_classes)
        acc[kk] = (pred.cpu() == test_labels.cpu()).float().mean().item()
    return acc[ks[0]] if isinstance(k, int) else acc


def standardise(train_features: torch.Tensor, test_features: torch.Tensor):
    """(train, test, mean, std): both standardised with the train split's per-dimension mean and std,
    on the train features' device."""
    mean, std = train_features.float().mean(0), train_features.float().std(0).clamp(min=1e-6)
    return ((train_features.float() - mean) / std, (test_features.float().to(train_features.device) - mean) / std,
            mean, std)


def linear_probe(train_features, train_labels, test_features, test_labels, l2: float = PROBE_L2,
                 steps: int = PROBE_STEPS, return_model: bool = False):
    """Accuracy of a linear classifier fit on frozen, standardised features (full-batch L-BFGS)."""
    device = train_features.device
    xtr, xte, mean, std = standardise(train_features, test_features)
    ytr = train_labels.to(device)
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    head = nn.Linear(xtr.shape[1], num_classes).to(device)
    nn.init.zeros_(head.weight)
    nn.init.zeros_(head.bias)
    opt = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=steps, history_size=20,
                            tolerance_grad=1e-6, tolerance_change=1e-9, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(head(xtr), ytr) + 0.5 * l2 * head.weight.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        acc = (head(xte).argmax(1).cpu() == test_labels.cpu()).float().mean().item()
    return (acc, (head, mean, std)) if return_model else acc


def evaluate_encoder(encoder: nn.Module, train: ImageDataset, test: ImageDataset, ks=(20, 200),
                     stage: int | None = None, batch_size: int | None = None) -> dict:
    """The shared protocol: kNN (k = 20, 200) and linear-probe accuracy of frozen features."""
    t0 = time.perf_counter()
    ftr = extract_features(encoder, train.images, batch_size, stage=stage)
    fte = extract_features(encoder, test.images, batch_size, stage=stage)
    knn = knn_accuracy(ftr, train.labels.to(ftr.device), fte, test.labels.to(ftr.device), k=ks)
    result = {f"knn{k}": v for k, v in knn.items()}
    result["knn_accuracy"] = knn[ks[0]]
    result["linear_probe_accuracy"] = linear_probe(ftr, train.labels.to(ftr.device), fte, test.labels)
    result["eval_seconds"] = time.perf_counter() - t0
    return result


def probe_by_stage(encoders: dict, train: ImageDataset, test: ImageDataset, stages=None) -> dict:
    """Where in a network its features are: ``{name: [linear-probe accuracy of each stage's pooled output]}``.

    ``encoders``: ``{name: backbone}`` with the same stages (``models.Backbone``). ``stages``: the stage indices
    to probe, by default all but stage 0 (the first convolution, or ResNet's stem), so that index k is ResNet's
    ``layer{k}``. The last stage's entry is the protocol's linear probe on these splits. Lessons 02 and 03 probe
    their pretext encoders against random init this way."""
    encoders = dict(encoders)
    depth = {len(e.stages) for e in encoders.values()}
    if len(depth) != 1:
        raise ValueError(f"probe_by_stage compares encoders with the same stages, got {sorted(depth)} stages")
    stages = list(range(1, depth.pop())) if stages is None else list(stages)
    return {name: [evaluate_encoder(enc, train, test, stage=k)["linear_probe_accuracy"] for k in stages]
            for name, enc in encoders.items()}


def knn_monitor(train: ImageDataset, test: ImageDataset, k: int = 20, n_train: int = 5000):
    """An ``eval_fn`` for ``fit``: kNN accuracy of ``method.encoder`` on a fixed subset, each epoch. It takes an
    encoder too — ``monitor(untrained_encoder)`` is the level the curve starts from, on the same neighbours."""
    train = train.subset(n_train)

    def eval_fn(method) -> dict:
        encoder = method.encoder if hasattr(method, "encoder") else method
        ftr = extract_features(encoder, train.images)
        fte = extract_features(encoder, test.images)
        return {"knn": knn_accuracy(ftr, train.labels.to(ftr.device), fte, test.labels.to(ftr.device), k=k)}

    return eval_fn


def few_label_indices(labels: torch.Tensor, fraction: float, seed: int = 0) -> torch.Tensor:
    """Indices of a class-balanced ``fraction`` of ``labels`` (at least one per class), on the labels' device."""
    g = torch.Generator().manual_seed(seed)
    keep = []
    cpu = labels.cpu()
    for c in cpu.unique():
        idx = (cpu == c).nonzero().view(-1)
        n = max(1, round(fraction * len(idx)))
        keep.append(idx[torch.randperm(len(idx), generator=g)[:n]])
    return torch.cat(keep).to(labels.device)


def few_label_subset(data: ImageDataset, fraction: float, seed: int = 0) -> ImageDataset:
    """A class-balanced subset with ``fraction`` of the labels (at least one per class)."""
    subset = data.select(few_label_indices(data.labels, fraction, seed),
                         f"few_label_subset(fraction={fraction}, seed={seed})")
    subset.split = f"{data.split}[{fraction:.0%}]"
    return subset


def few_label_probe(train_features, train_labels, test_features, test_labels, fraction: float,
                    seed: int = 0) -> float:
    """The semi-supervised protocol's frozen half: a linear probe fit on ``fraction`` of the labels only."""
    idx = few_label_indices(train_labels, fraction, seed).to(train_features.device)
    return linear_probe(train_features[idx], train_labels.to(train_features.device)[idx], test_features, test_labels)


def accuracy(classifier: nn.Module, data: ImageDataset, batch_size: int | None = None) -> float:
    """Test accuracy (0..1) of a classifier (images -> logits) on ``data``, in eval mode, no augmentation."""
    logits = extract_features(classifier, data.images, batch_size)
    return (logits.argmax(1).cpu() == data.labels.cpu()).float().mean().item()
