# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/04_simclr.ipynb)
#
# # Exercise 04 — the NT-Xent loss, SimCLR's views, alignment and uniformity
#
# Write the heart of SimCLR (lesson 04) — the two views of a batch and the NT-Xent loss — and then the two
# measures of Wang & Isola (2020) that say *what* the loss asks of the embeddings: the two views of an image should
# land close together (**alignment**), and different images should spread over the sphere (**uniformity**).
# A short experiment measures both on two untrained featurisers under four augmentations, and a written answer
# (marked by hand) asks what the augmentations ask of the encoder.
# Vectorised — no Python loop over samples — and numerically stable. `sslcourse grade exercises/04_simclr.ipynb`
# grades the functions and lists your written answer for your teacher.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import math

import torch
import torch.nn.functional as F

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.grading import check_alignment_uniformity, check_nt_xent_loss, check_simclr_views

p = lesson_setup()

# %% [markdown]
# ## 1. Two views
# `augment` is any batched augmentation (such as `sslcourse.augment.SimCLRAugment()`): each call draws new random
# parameters. Return the pair `(view1, view2)`, both of the batch's shape, in the batch's order.

# %%
def simclr_views(images, augment):
    """Two independent augmentations of the same batch: (view1, view2)."""
    ### BEGIN SOLUTION
    return augment(images), augment(images)
    ### END SOLUTION


# %%
check_simclr_views(simclr_views)

# %% [markdown]
# ## 2. NT-Xent
# For $2N$ embeddings (the two views of $N$ images, stacked), anchor $i$ and its partner $j$ (the other view of the
# same image):
# $$\ell(i, j) = -\log \frac{\exp(\mathrm{sim}(z_i, z_j)/\tau)}{\sum_{k \ne i} \exp(\mathrm{sim}(z_i, z_k)/\tau)},
# \qquad L = \frac{1}{2N}\sum_{\text{all } 2N \text{ anchors}} \ell,$$
# with $\mathrm{sim}$ the cosine similarity. Read each anchor's row as a classification among the $2N - 1$ other
# embeddings whose right answer is known (its partner): the loss is then a cross-entropy, which the library computes
# in log space — stable however small $\tau$ is. The anchor is not one of its own candidates. If the two inputs
# differ in shape, raise a `ValueError` that names both shapes.

# %%
def nt_xent_loss(z1, z2, temperature=0.5):
    """NT-Xent: mean over the 2N anchors of -log softmax(sim / τ)[partner], the anchor itself excluded."""
    ### BEGIN SOLUTION
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    partners = torch.arange(2 * n, device=z.device).roll(n)
    return F.cross_entropy(sim, partners)
    ### END SOLUTION


# %%
check_nt_xent_loss(nt_xent_loss)

# %% [markdown]
# ## 3. Alignment and uniformity
# On unit vectors $\hat z = z / \|z\|$ (Wang & Isola 2020, with $\alpha = 2$):
# $$\mathcal L_\text{align} = \frac1N \sum_i \|\hat z^{(1)}_i - \hat z^{(2)}_i\|^2, \qquad
# \mathcal L_\text{uniform}(\hat z) = \log \frac{1}{N(N-1)} \sum_{i \ne j} e^{-t\,\|\hat z_i - \hat z_j\|^2},$$
# and the uniformity of the pair is the mean of $\mathcal L_\text{uniform}$ over the two views, each view measured on
# its own. Both are *lower is better*: alignment 0 means the two views of every image coincide; uniformity is 0 when
# every embedding is the same point (all kernel terms 1) and falls as they spread out. Return
# `(alignment, uniformity)`, two 0-dim tensors. A large $t$ makes every kernel term underflow: keep the log of a mean
# of exponentials in log space.

# %%
def alignment_uniformity(z1, z2, t=2.0):
    """(alignment, uniformity) of two views' embeddings (N, D): Wang & Isola's measures on the unit sphere."""
    ### BEGIN SOLUTION
    a, b = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    alignment = (a - b).pow(2).sum(1).mean()

    def uniformity(x):
        d2 = (x.unsqueeze(0) - x.unsqueeze(1)).pow(2).sum(-1)
        off = ~torch.eye(len(x), dtype=torch.bool, device=x.device)
        return torch.logsumexp(-t * d2[off], dim=0) - math.log(len(x) * (len(x) - 1))

    return alignment, (uniformity(a) + uniformity(b)) / 2
    ### END SOLUTION


# %%
check_alignment_uniformity(alignment_uniformity)

# %% [markdown]
# ## 4. Experiment: what do the augmentations move?
# 512 test images of `shapes`, two views each, under four augmentations — none, crops only, colour only, and
# SimCLR's crops + colour — seen by two *untrained* featurisers: the pixels (averaged over 4×4 blocks, centred) and a
# random-init ConvNet (the course's backbone). For each: your alignment, your uniformity and your NT-Xent at
# $\tau = 0.5$. (This cell raises `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.augment import SimCLRAugment, to_float
from sslcourse.data import load_dataset
from sslcourse.evaluate import extract_features
from sslcourse.models import build_backbone

images = load_dataset("shapes", "test").images[:512]
encoder = build_backbone(p.backbone, seed=0)
featurisers = {"pixels": lambda x: F.avg_pool2d(to_float(x), 4).flatten(1) - 0.5,
               "random-init ConvNet": lambda x: extract_features(encoder, x).cpu()}
augmentations = {"none": lambda x, generator=None: to_float(x),
                 "crop only": SimCLRAugment(strength=0.0, gray_p=0.0),
                 "colour only": SimCLRAugment(scale=(1.0, 1.0), flip_p=0.0),
                 "crop + colour": SimCLRAugment()}
results = {}
for fname, features in featurisers.items():
    for aname, augment in augmentations.items():
        g = torch.Generator().manual_seed(0)
        v1, v2 = simclr_views(images, lambda x: augment(x, generator=g))
        z1, z2 = features(v1), features(v2)
        a, u = alignment_uniformity(z1, z2)
        results[fname, aname] = (float(a), float(u), float(nt_xent_loss(z1, z2, 0.5)))
        print(f"{fname:>20} · {aname:<13}  alignment {float(a):.3f}  uniformity {float(u):+.3f}  "
              f"NT-Xent {results[fname, aname][2]:.3f}")
for fname in featurisers:
    claim("identical views have alignment 0", results[fname, "none"][0] < 1e-6, where="always")
    claim("crops + colour move the two views farthest apart",
          max(results[fname, a][0] for a in augmentations) == results[fname, "crop + colour"][0], where="always")
pix, conv = results["pixels", "crop + colour"], results["random-init ConvNet", "crop + colour"]
claim("the ConvNet aligns better than the pixels, but has a uniformity close to 0 and the higher NT-Xent",
      conv[0] < pix[0] and conv[1] > max(pix[1], -1.0) and conv[2] > pix[2], where="always")

# %% [markdown]
# Without augmentation the two views are the same image, so alignment is 0 whatever the featuriser: the task would
# be trivial. Each augmentation moves the views apart, crops + colour the most. The random-init ConvNet has the
# *better* alignment of the two featurisers and yet the *higher* NT-Xent: its uniformity is close to 0 — its
# embeddings bunch together in one corner of the sphere, so the views of one image are close, but so is every other
# image. NT-Xent rewards both at once.

# %% [markdown]
# ## Written answer (graded by hand): What do the augmentations ask of the encoder?
# (a) Training with NT-Xent drives the alignment down under SimCLR's augmentations: what must the encoder then ignore
# in an image, and what may it still use? (b) Why is a low alignment worth nothing on its own — what does the
# random-init ConvNet above show, and what would a collapsed encoder (one output for every image) score?
# (c) Lesson 04 shows crops alone finding a shortcut on `shapes`: two crops of one image share its colours, and
# colour jitter takes that away. Now pretrain on grey-scale medical scans. Hue and saturation jitter do nothing to
# them; brightness and contrast jitter still vary each view. Name one thing two crops of one scan still share, under
# all of these, that says nothing about its anatomy, and an augmentation you would add against it. (A few
# sentences.)

# %% [markdown]
# <!-- BEGIN SOLUTION -->
# *A model answer.* (a) Alignment compares the two views of one image, which differ only by what the augmentation
# changed: position and scale (crop), mirror (flip), colour, brightness, saturation (jitter, grayscale). Driving it
# down makes the encoder invariant to those — it must ignore where the object sits and what colour it has — while it
# may, and must, still use whatever both views share: the shapes, their parts and their layout. (b) Alignment alone
# is satisfied by mapping every image to one point: a collapsed encoder scores alignment 0 (perfect) and uniformity 0
# (the worst), and its NT-Xent is log(2N − 1), chance. The random-init ConvNet is part of the way there: its views
# are close because *all* its embeddings are close (uniformity near 0), so its NT-Xent is higher than that of the
# pixels. The negatives in the denominator are what push embeddings apart; the loss needs both terms. (c) Any
# statistic of the whole scan that every crop inherits, and that a brightness and contrast change leaves alone,
# identifies it among the batch without any anatomy: its noise level and grain (the scanner, the dose, the
# reconstruction kernel), its sharpness, the shape of its intensity histogram (a gamma or windowing that a linear
# brightness/contrast change does not undo), a burnt-in marker, ruler or border. Augmentations that vary those
# between the two views take the shortcut away: added noise of random strength and random blur or sharpening for
# the first two, random gamma or per-crop histogram standardisation for the third, cropping or masking out borders
# and markers for the last — each chosen so that it changes what the scanner did, not what the anatomy is.
# <!-- END SOLUTION -->
