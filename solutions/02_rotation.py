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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/02_rotation.ipynb)
#
# # Exercise 02 — a batch in all four rotations, and which way is up
#
# RotNet shows every image in four rotations, each with its label $r$ (rotated by $r\cdot 90°$
# counter-clockwise). First write `rotate_batch`: it takes images `(N, C, H, W)` and returns `(4N, C, H, W)` images
# and `(4N,)` int64 labels that line up with them. Then use a rotation classifier for something the lesson does not
# do: find which way is up in an image of *unknown* orientation, from all four of its rotated views at once. A short
# experiment measures what the four views add, and a written answer (marked by hand) asks why.
# `sslcourse grade exercises/02_rotation.ipynb` grades both functions from a terminal.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import matplotlib.pyplot as plt
import torch

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.grading import check_orientation_log_probs, check_rotate_batch

p = lesson_setup()

# %% [markdown]
# ## 1. Four rotations
# `torch.rot90(x, k, dims=(2, 3))` turns every image of a batch by `k`·90° counter-clockwise (from the first of
# `dims` towards the second). Put the four turned copies of the batch one after another, and build the labels in the *same* order.

# %%
def rotate_batch(images):
    """(N, C, H, W) -> (4N, C, H, W) rotated images and (4N,) int64 labels r (rotated by r·90° counter-clockwise)."""
    ### BEGIN SOLUTION
    n = len(images)
    rotated = torch.cat([torch.rot90(images, r, dims=(2, 3)) for r in range(4)])
    labels = torch.arange(4, device=images.device).repeat_interleave(n)
    return rotated, labels
    ### END SOLUTION


# %%
check_rotate_batch(rotate_batch)

# %% [markdown]
# ## 2. Which way is up? Four views as evidence
# A rotation classifier maps an image to logits over the four labels. Take an image at an **unknown** orientation
# $s$ (it was turned $s\cdot 90°$ counter-clockwise from upright) and turn it by a further $r\cdot 90°$, for
# $r = 0..3$: view $r$ sits at orientation $(s + r) \bmod 4$. If the classifier's errors on the four views are
# independent, the evidence for each $s$ multiplies, so the log-probabilities add up:
# $$\log p(s \mid \text{views}) = \sum_{r=0}^{3} \log \mathrm{softmax}(\ell_r)_{(s + r) \bmod 4} \; - \; \text{const},$$
# the constant making the four probabilities sum to 1 (a prior uniform over $s$). `logits` has shape `(4, N, 4)`:
# `logits[r, i]` are the classifier's logits for image $i$ turned by a further $r\cdot 90°$. Return `(N, 4)`
# normalised log-probabilities — in log space throughout, so that a classifier that is very sure stays finite.

# %%
def orientation_log_probs(logits):
    """(4, N, 4) logits of the four further-turned views -> (N, 4) log p(orientation s | all four views)."""
    ### BEGIN SOLUTION
    log_p = torch.log_softmax(logits.float(), dim=2)  # (4, N, 4): view r, image i, label
    s = torch.arange(4, device=logits.device)
    evidence = sum(log_p[r][:, (s + r) % 4] for r in range(4))  # (N, 4): evidence for each orientation s
    return torch.log_softmax(evidence, dim=1)
    ### END SOLUTION


# %%
check_orientation_log_probs(orientation_log_probs)

# %% [markdown]
# ## 3. Experiment: does the vote of four views help?
# Two quick rotation classifiers, each a linear classifier (logistic regression) trained on your `rotate_batch` of
# 500 training images: one on the **pixels** (averaged over 4×4 blocks), one on the features of a **random-init
# ConvNet** (the course's backbone, untrained). Then 500 test images, each turned by a random unknown $s$: the
# orientation read from the unturned view alone, against your four-view vote.
# (These cells raise `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
import torch.nn.functional as F

from sslcourse.data import load_dataset
from sslcourse.evaluate import extract_features
from sslcourse.models import build_backbone


def fit_linear(x, y, steps=20):
    """Logistic regression on standardised features (L-BFGS, from zero weights)."""
    mean, std = x.mean(0), x.std(0) + 1e-6
    w = torch.zeros(x.shape[1], 4, requires_grad=True)
    opt = torch.optim.LBFGS([w], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy((x - mean) / std @ w, y) + 1e-3 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lambda z: (z - mean) / std @ w.detach()


encoder = build_backbone(p.backbone, seed=0)
featurisers = {"pixels": lambda x: F.avg_pool2d(x.float() / 255, 4).flatten(1),
               "random-init ConvNet": lambda x: extract_features(encoder, x).cpu()}
train_images = load_dataset("shapes", "train").images[:500]
test_images = load_dataset("shapes", "test").images[:500]
s = torch.randint(0, 4, (500,), generator=torch.Generator().manual_seed(1))  # the unknown orientations
turned = torch.stack([torch.rot90(x, int(k), dims=(1, 2)) for x, k in zip(test_images, s)])
views, view_labels = rotate_batch(turned)
views = views[view_labels.argsort(stable=True)]  # grouped by the further turn r, images in order: (4·500, ...)
accuracy = {}
for name, features in featurisers.items():
    rotated, labels = rotate_batch(train_images)
    classifier = fit_linear(features(rotated), labels)
    logits = classifier(features(views)).view(4, 500, 4)
    one = (logits[0].argmax(1) == s).float().mean().item()
    four = (orientation_log_probs(logits).argmax(1) == s).float().mean().item()
    accuracy[name] = (one, four)
    print(f"{name:>20}: one view {one:.1%}, four views {four:.1%}")
claim("the vote changes next to nothing on pixels",
      abs(accuracy["pixels"][1] - accuracy["pixels"][0]) < 0.005, where="always")
claim("the vote helps the ConvNet",
      accuracy["random-init ConvNet"][1] > accuracy["random-init ConvNet"][0], where="always")

# %% [markdown]
# On pixels the four views change next to nothing (under half a point: ties broken by rounding); on the ConvNet's
# features they help. The written answer asks why.
#
# ## 4. Look at it

# %% tags=["raises-exception"]
from sslcourse.plots import show_images

images, labels = rotate_batch(load_dataset("shapes", "test").images[:4])
show_images(images, titles=[f"{90 * int(r)}°" for r in labels], ncols=8)
plt.show()

# %% [markdown]
# ## Written answer (graded by hand): Is four views' vote worth it?
# (a) Why does the four-view vote change nothing for the linear classifier on pixels? Think about what turning an
# image does to its pooled pixels, and what training on all four rotations of every image does to the best linear
# weights. (b) Why can it help for the ConvNet's features? (c) The vote assumes the four views' errors are
# independent: when is that assumption wrong? (A few sentences.)

# %% [markdown]
# <!-- BEGIN SOLUTION -->
# *A model answer.* (a) A quarter turn only permutes the pooled pixels. The training set holds every image in all
# four rotations, so the (regularised, convex) logistic loss is unchanged if the weights are turned along with the
# labels; its unique minimum — and every L-BFGS step from zero weights — is therefore *equivariant*: the logits of a
# view turned by $r$ are those of the unturned view, shifted by $r$ labels. The four views then carry the same
# evidence four times, and the vote equals the single view (up to rounding). (b) The random ConvNet's features are not equivariant
# (its filters and its pooling do not turn with the image), so the linear classifier on top sees four genuinely
# different inputs, whose errors partly cancel. (c) The errors are far from independent when they come from the
# image, not from the view: a scene with no up-direction (a wallpaper of objects) is ambiguous in every view, and a
# fully equivariant model, as in (a), makes the same mistake four times.
# <!-- END SOLUTION -->
