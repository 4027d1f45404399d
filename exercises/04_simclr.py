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
# > **Exercise notebook** generated from `solutions/04_simclr.py` by `make exercises` — edit the solution, not this file. Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/04_simclr.ipynb)
#
# # Exercise 04 — the NT-Xent loss and SimCLR's views
#
# Write the heart of SimCLR (lesson 04): the two views of a batch, and the NT-Xent loss
# $$\ell(i, j) = -\log \frac{\exp(\mathrm{sim}(z_i, z_j)/\tau)}{\sum_{k \ne i} \exp(\mathrm{sim}(z_i, z_k)/\tau)},
# \qquad L = \frac{1}{2N}\sum_{\text{all } 2N \text{ anchors}} \ell,$$
# with $\mathrm{sim}$ the cosine similarity and $j$ the other view of $i$. Vectorised — no Python loop over samples —
# and numerically stable for small $\tau$. `sslcourse grade exercises/04_simclr.ipynb` grades both functions.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import torch
import torch.nn.functional as F

from sslcourse.config import lesson_setup
from sslcourse.grading import check_nt_xent_loss, check_simclr_views

p = lesson_setup()

# %% [markdown]
# ## 1. Two views
# `augment` is any batched augmentation (such as `sslcourse.augment.SimCLRAugment()`): each call draws new random
# parameters. Return the pair `(view1, view2)`, both of the batch's shape, in the batch's order.

# %%
def simclr_views(images, augment):
    """Two independent augmentations of the same batch: (view1, view2)."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_simclr_views(simclr_views)

# %% [markdown]
# ## 2. NT-Xent
# Recipe: check the shapes (raise a `ValueError` naming both if they differ); concatenate `z1` and `z2` into
# `(2N, D)` and L2-normalise the rows; the similarity matrix divided by τ; set its diagonal to $-\infty$ (an anchor
# is not its own candidate); the partner of row $i$ is column $(i + N) \bmod 2N$. Each row is then a softmax
# classification with a known answer: `F.cross_entropy` computes $-\log\text{softmax}$ in log-space (stable) and
# averages over the rows.

# %%
def nt_xent_loss(z1, z2, temperature=0.5):
    """NT-Xent: mean over the 2N anchors of -log softmax(sim / τ)[partner], the anchor itself excluded."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_nt_xent_loss(nt_xent_loss)

# %% [markdown]
# ## 3. Compare with the course's loss
# (This cell raises `NotImplementedError` until your function is written.)

# %% tags=["raises-exception"]
from sslcourse.methods.simclr import nt_xent_loss as course_loss

z1, z2 = torch.randn(256, 128), torch.randn(256, 128)
for tau in (0.05, 0.2, 0.5, 1.0):
    print(f"τ = {tau}: yours {float(nt_xent_loss(z1, z2, tau)):.5f}, the course's {float(course_loss(z1, z2, tau)):.5f}")

# %% [markdown]
# ## Think about it
# * Your loss for random embeddings is close to $\log(2N-1)$. Why? What is it for perfectly aligned views of
#   orthogonal images, as $\tau \to 0$?
# * Why would `torch.exp(sim / τ)` followed by `torch.log(...)` overflow for τ = 0.01, while `cross_entropy` does not?
