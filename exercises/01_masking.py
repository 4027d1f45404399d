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
# > **Exercise notebook** generated from `solutions/01_masking.py` by `make exercises` — edit the solution, not this file. Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/01_masking.ipynb)
#
# # Exercise 01 — masks and the masked reconstruction loss
#
# Three functions from lesson 01, written by you: two masking strategies and the loss on the hidden part.
# Conventions: a mask is a float tensor `(n, 1, size, size)` with **1 = visible** and **0 = hidden**; use the
# `generator` for every random draw, so that a seed gives the same masks. No Python loops over images.
# Each function is followed by a check cell; `sslcourse grade exercises/01_masking.ipynb` grades them all.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import matplotlib.pyplot as plt
import torch

from sslcourse.config import lesson_setup
from sslcourse.grading import check_masked_mse, check_random_block_mask, check_random_patch_mask

p = lesson_setup()

# %% [markdown]
# ## 1. One random square per image
# Hide one `block`×`block` square in each image, at a position drawn independently per image, always fully inside
# the image: the top-left corner ranges over `0 .. size - block`. Build index grids with `torch.arange` and compare
# them with per-image corners of shape `(n, 1, 1)` — broadcasting does the rest.

# %%
def random_block_mask(n, size=32, block=12, generator=None):
    """(n, 1, size, size) float mask, 1 = visible, one block×block hidden square per image."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_random_block_mask(random_block_mask)

# %% [markdown]
# ## 2. MAE-style random patches
# Cut the image into a `g`×`g` grid of `patch`×`patch` patches (`g = size // patch`) and hide **exactly**
# `k = round(mask_ratio · g²)` of them in every image, chosen independently per image. The trick of the MAE code:
# draw one random score per patch, rank the scores within each image (`argsort` twice gives each patch its rank),
# and hide the patches ranked below `k`. Then blow the `(n, g, g)` grid up to pixels with `repeat_interleave`.

# %%
def random_patch_mask(n, size=32, patch=4, mask_ratio=0.75, generator=None):
    """(n, 1, size, size) float mask hiding exactly round(mask_ratio * (size // patch)**2) patches per image."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_random_patch_mask(random_patch_mask)

# %% [markdown]
# ## 3. The loss on the hidden part
# $$L = \frac{\sum (1-m)\odot(x-\hat x)^2}{C\,\sum (1-m)}$$
# for predictions and targets `(N, C, H, W)` and a mask `(N, 1, H, W)` — the mean squared error over hidden
# pixels and channels. When nothing is hidden, return 0 rather than 0/0.

# %%
def masked_mse(pred, target, mask):
    """Mean squared error over the hidden pixels (mask == 0) and all channels; a scalar tensor."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_masked_mse(masked_mse)

# %% [markdown]
# ## 4. Look at your masks
# (This cell raises `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.data import load_dataset
from sslcourse.plots import show_rows

images = load_dataset("shapes", "test").images[:8].float() / 255
g = torch.Generator().manual_seed(0)
show_rows({"image": images, "block": random_block_mask(8, 32, 14, g) * images,
           "patches": random_patch_mask(8, 32, 4, 0.75, g) * images}, ncols=8)
plt.show()

# %% [markdown]
# ## 5. Think about it
# * With `mask_ratio = 0.75`, why does MAE hide *patches* rather than 75 % of random pixels?
# * Your `masked_mse` divides by the number of hidden values. What would go wrong in training if it divided by
#   the number of *all* pixels instead, with masks of different sizes in one batch?
