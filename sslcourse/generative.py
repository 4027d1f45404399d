"""How good are generated images? Two measures the field uses, computed offline with the course's own network.

1. **Fréchet distance** (Heusel et al. 2017, "GANs trained by a two time-scale update rule converge to a
   local Nash equilibrium" — FID). Fit a Gaussian to the features of real images, (μ_r, Σ_r), and one to
   the features of generated images, (μ_g, Σ_g); their Fréchet (2-Wasserstein) distance is

       d² = ‖μ_r − μ_g‖² + Tr(Σ_r + Σ_g − 2 (Σ_r^{1/2} Σ_g Σ_r^{1/2})^{1/2}).

   FID uses Inception-v3's pool features; here the features are those of the course's **supervised
   encoder** (the quick profile's small ConvNet on ``shapes``, ResNet-18 on CIFAR-10), so nothing is
   downloaded — and the numbers compare within this course only, not with published FIDs. The distance
   falls when samples look like real images *and* vary like them: a collapsed generator (small Σ_g)
   scores badly however good its few images are. With finitely many samples it is biased upwards:
   score a set of real images too, for the floor.
2. **Precision and recall** (Kynkäänniemi et al. 2019, "Improved precision and recall metric for assessing
   generative models"): the share of samples that lie on the real images' feature manifold (a union of
   k-nearest-neighbour balls around real features), and the share of real images that lie on the samples'
   manifold. Real images score high on both, noise near 0 on both; a collapsed generator keeps its precision
   and loses its recall — an untrained one, painting nearly one image, can score precision 1 and recall 0
   (:func:`precision_recall`; :func:`density_coverage` is Naeem et al.'s variant, robust to outlying samples).
3. **A classifier judge** (the "Inception score" idea, Salimans et al. 2016, read as two plain counts): the
   supervised encoder, read out by the protocol's linear probe (:func:`probe_classifier`), classifies every
   sample; a sample is *recognised* when its top class has probability ≥ 0.5, and a class is *found* when
   at least 1 % of the samples are recognised as it. The share recognised asks "does it look like an
   object?", the classes found "all kinds, or a few?" (mode collapse). A judge is only as good as its
   score on real images: score those with the same :class:`SampleJudge`. It is easily fooled: a classifier is
   confident about images unlike any it was trained on (with seed 1 the quick profile's judge is sure about
   every sample of an *untrained* generator, more often than about real images; with seed 0 about none), so
   lesson 05 measures realism with precision and recall and keeps this judge out of its claims.

This module measures; it trains no method (the probe is the protocol's). The supervised encoder is passed
in — ``sslcourse.runs.train_method("supervised", ...)`` gives one. Samples come from anything with a
``z_dim`` and a ``sample(n, z)`` method returning images in [0, 1], like the GAN.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from .evaluate import extract_features, inference_batch_size, linear_probe

RECOGNISED = 0.5  # a sample is recognised when the judge's top probability reaches this
FOUND_SHARE = 0.01  # a class is found when at least this share of the samples is recognised as it
PR_NEIGHBOURS = 3  # k of the k-NN balls of precision and recall (Kynkäänniemi et al.'s choice)


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(μ, Σ) of (N, D) features in float64: the mean (D,) and the unbiased covariance (D, D)."""
    if features.dim() != 2 or len(features) < 2:
        raise ValueError(f"features must be (N, D) with N >= 2, got shape {tuple(features.shape)}")
    x = features.double()
    mu = x.mean(0)
    centred = x - mu
    return mu, centred.T @ centred / (len(x) - 1)


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (eigenvalues clipped at 0)."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp(min=0).sqrt()) @ vecs.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1^{1/2} Σ2 Σ1^{1/2})^{1/2}) between two Gaussians, in float64.

    Tr((Σ1 Σ2)^{1/2}) is computed as the trace of the square root of the symmetric matrix
    Σ1^{1/2} Σ2 Σ1^{1/2} (the same eigenvalues), so no complex square roots appear.
    """
    mu1, mu2, sigma1, sigma2 = (t.double().cpu() for t in (mu1, mu2, sigma1, sigma2))
    d = mu1.shape[0]
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"means must be (D,) and covariances (D, D) of one D: got {tuple(mu1.shape)}, "
                         f"{tuple(mu2.shape)}, {tuple(sigma1.shape)}, {tuple(sigma2.shape)}")
    root1 = _sqrt_psd(sigma1)
    cross = torch.linalg.eigvalsh(root1 @ sigma2 @ root1).clamp(min=0).sqrt().sum()
    value = (mu1 - mu2).pow(2).sum() + sigma1.trace() + sigma2.trace() - 2 * cross
    return max(value.item(), 0.0)


def frechet_distance_of_features(real: torch.Tensor, fake: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of (N, D) features."""
    return frechet_distance(*gaussian_statistics(real), *gaussian_statistics(fake))


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """(N,) distance from each of (N, D) features to its k-th nearest neighbour among the others: the radius of
    the ball around it that holds k of its neighbours."""
    if not 1 <= k < len(features):
        raise ValueError(f"k must be at least 1 and below the number of features ({len(features)}), got k={k}")
    x = features.double()
    d = torch.cdist(x, x)  # (N, N); the diagonal (each point to itself, 0) is the smallest of each row
    return d.kthvalue(k + 1, dim=1).values


def _in_balls(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """(P, C) bool: whether point p lies in the ball of centre c (distance at most radii[c])."""
    return torch.cdist(points.double(), centres.double()) <= radii.to(points.device)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> dict:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of (M, D) generated features against (N, D) real ones.

    Each real feature gets a ball reaching to its k-th nearest real neighbour; their union is an estimate of the
    real images' manifold. precision = the share of generated features inside it (do samples look real?);
    recall = the share of real features inside the generated manifold, built the same way from the generated
    features (can the generator produce every kind of real image?). Both lie in [0, 1]; a generator that copies
    the real distribution scores about as high as a second set of real images, noise scores near 0, and a
    collapsed generator keeps its precision but loses recall. Use as many generated as real features.
    """
    return {"precision": _in_balls(fake, real, knn_radii(real, k)).any(1).double().mean().item(),
            "recall": _in_balls(real, fake, knn_radii(fake, k)).any(1).double().mean().item()}


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> dict:
    """Density and coverage (Naeem et al. 2020): the real k-NN balls alone, so that a few outliers in the
    generated set cannot inflate recall. density = the mean number of real balls a generated feature lies in,
    divided by k (about 1 for real images, may exceed 1 where samples crowd into dense regions);
    coverage = the share of real balls holding at least one generated feature."""
    inside = _in_balls(fake, real, knn_radii(real, k))  # (M, N)
    return {"density": inside.double().sum(1).mean().item() / k, "coverage": inside.any(0).double().mean().item()}


def as_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] rounded to uint8, as a saved PNG would hold them (real images already are)."""
    if images.dtype == torch.uint8:
        return images
    return (images.float().clamp(0, 1) * 255).round().to(torch.uint8)


def checkerboard(images: torch.Tensor, band: int = 3) -> float:
    """Power at the checkerboard frequency (π, π) — the pattern (−1)^(i+j) that flips sign at every pixel —
    divided by the mean power of the ``band`` frequencies on each side of it along both axes: about 1 for real
    images (their spectrum is smooth there), far above 1 for images covered by a period-2 pattern.

    images: (N, C, H, W), uint8 or float, H and W even. The mean power spectrum over images and channels is used.
    """
    if images.dim() != 4 or images.shape[-1] % 2 or images.shape[-2] % 2:
        raise ValueError(f"images must be (N, C, H, W) with even H and W, got shape {tuple(images.shape)}")
    x = images.float()
    power = torch.fft.fft2(x - x.mean((2, 3), keepdim=True)).abs().pow(2).mean((0, 1))  # (H, W)
    h, w = power.shape[0] // 2, power.shape[1] // 2  # the (π, π) bin
    next_to = torch.cat([power[h, w - band:w], power[h, w + 1:w + 1 + band],
                         power[h - band:h, w], power[h + 1:h + 1 + band, w]])
    return (power[h, w] / next_to.mean().clamp(min=1e-20)).item()


def nearest_real(samples: torch.Tensor, real: torch.Tensor, chunk: int = 256) -> torch.Tensor:
    """Index (M,) into ``real`` of each sample's nearest real image in pixel space (L2): a copied training
    image would be found here, pixel for pixel."""
    fake = as_uint8(samples).flatten(1).float().to(real.device)
    bank = as_uint8(real).flatten(1).float()
    out = []
    for start in range(0, len(fake), chunk):
        out.append(torch.cdist(fake[start:start + chunk], bank).argmin(1))
    return torch.cat(out)


class ProbeClassifier(nn.Module):
    """An encoder read out by the protocol's linear probe: [0, 1] images -> standardised features -> logits."""

    def __init__(self, encoder: nn.Module, head: nn.Linear, mean: torch.Tensor, std: torch.Tensor):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head((self.encoder(images).float() - self.mean) / self.std)  # (N, classes)


def probe_classifier(encoder: nn.Module, train) -> ProbeClassifier:
    """The judge's classifier: ``encoder``'s frozen features with the linear probe of ``evaluate`` fit on
    ``train`` (an ImageDataset). Fit on un-augmented images — the kind a generator should produce — it is
    better calibrated than a head trained on augmented ones."""
    features = extract_features(encoder, train.images)
    labels = train.labels.to(features.device)
    _, (head, mean, std) = linear_probe(features, labels, features, labels, return_model=True)
    return ProbeClassifier(encoder, head, mean, std).eval()


class SampleJudge:
    """Scores generated images against ``real`` ones with a trained supervised network.

    classifier: maps [0, 1] images (N, 3, H, W) to class logits — :func:`probe_classifier` of the supervised
      encoder, or the ``supervised`` method itself;
    encoder: the feature extractor of the Fréchet distance (default ``classifier.encoder``);
    real: uint8 images (N, 3, H, W), the reference — their feature statistics are computed once, here.
    Generated images come as floats in [0, 1] and are rounded to uint8 first, as a saved image would be.
    batch_size: images per forward pass, by default the device's (:func:`~sslcourse.evaluate.inference_batch_size`).
    """

    def __init__(self, classifier: nn.Module, real: torch.Tensor, encoder: nn.Module | None = None,
                 batch_size: int | None = None):
        self.classifier = classifier
        self.encoder = encoder if encoder is not None else getattr(classifier, "encoder", None)
        if self.encoder is None:
            raise ValueError("pass encoder=: the classifier has no .encoder to take features from")
        self.batch_size = batch_size
        self.real_features = self.features(real)  # (N, D)
        self.real_stats = gaussian_statistics(self.real_features)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return extract_features(self.encoder, as_uint8(images), self.batch_size)

    @torch.no_grad()
    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """(N, classes) softmax probabilities of the judge, in eval mode (its mode is restored)."""
        device = next(self.classifier.parameters()).device
        step = self.batch_size or inference_batch_size(device)
        was_training = self.classifier.training
        self.classifier.eval()
        try:
            out = [self.classifier(as_uint8(images[s:s + step]).to(device).float() / 255).float().softmax(1)
                   for s in range(0, len(images), step)]
        finally:
            self.classifier.train(was_training)
        return torch.cat(out)

    def judge(self, images: torch.Tensor, threshold: float = RECOGNISED, found_share: float = FOUND_SHARE) -> dict:
        """recognised: share of images whose top probability ≥ ``threshold``; classes_found: classes that
        at least ``found_share`` of the images are recognised as; per_class: recognised count per class."""
        probs = self.probabilities(images)
        top, label = probs.max(1)
        counts = torch.bincount(label[top >= threshold].cpu(), minlength=probs.shape[1])
        return {"recognised": (top >= threshold).float().mean().item(),
                "classes_found": int((counts >= max(1, found_share * len(images))).sum()),
                "per_class": counts.tolist()}

    def frechet(self, images: torch.Tensor) -> float:
        """Fréchet distance between the judge's features of ``images`` and of the real images."""
        return frechet_distance(*self.real_stats, *gaussian_statistics(self.features(images)))

    def manifold(self, images: torch.Tensor, k: int = PR_NEIGHBOURS) -> dict:
        """Precision and recall (:func:`precision_recall`) of ``images`` against as many real images (the first
        of the reference; when it is smaller, all of it and as many of ``images``)."""
        return self._manifold(self.features(images), k)

    def _manifold(self, fake: torch.Tensor, k: int = PR_NEIGHBOURS) -> dict:
        n = min(len(fake), len(self.real_features))
        return precision_recall(self.real_features[:n], fake[:n], k=min(k, n - 1))

    def score(self, images: torch.Tensor) -> dict:
        """{"fd", "precision", "recall", "recognised", "classes_found"} for a batch of images (generated or
        real)."""
        features, verdict = self.features(images), self.judge(images)
        return {"fd": frechet_distance(*self.real_stats, *gaussian_statistics(features)), **self._manifold(features),
                "recognised": verdict["recognised"], "classes_found": verdict["classes_found"]}

    def monitor(self, n: int = 1000, seed: int = 0):
        """An ``eval_fn`` for ``fit``: scores ``method.sample(n, z)`` with the same noise ``z`` every epoch."""

        def eval_fn(method) -> dict:
            z = torch.randn(n, method.z_dim, generator=torch.Generator().manual_seed(seed))
            was_training = method.training
            method.eval()  # batch norm with its running statistics, as the samples a lesson shows
            try:
                with torch.no_grad():
                    images = method.sample(n, z)
            finally:
                method.train(was_training)
            return self.score(images)

        return eval_fn
