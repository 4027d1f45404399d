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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/01_masking.ipynb)
#
# # Exercise 01 — masks, the masked reconstruction loss and the structure target
#
# Four functions: two masking strategies, the loss on the hidden part, and the **structure target** that lesson 01
# trains with but only describes — then an experiment that shows why it is needed, and a written answer (marked by
# hand).
# Conventions: a mask is a float tensor `(n, 1, size, size)` with **1 = visible** and **0 = hidden**; use the
# `generator` for every random draw, so that a seed gives the same masks. No Python loops over images.
# Each function is followed by a check cell; `sslcourse grade exercises/01_masking.ipynb` grades them all and lists
# your written answer for your teacher.

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
from sslcourse.grading import check_masked_mse, check_random_block_mask, check_random_patch_mask, check_structure_mse

p = lesson_setup()

# %% [markdown]
# ## 1. One random square per image
# Hide one `block`×`block` square in each image, at a position drawn independently per image, always fully inside
# the image: the top-left corner ranges over `0 .. size - block`. Build index grids with `torch.arange` and compare
# them with per-image corners of shape `(n, 1, 1)` — broadcasting does the rest.

# %%
def random_block_mask(n, size=32, block=12, generator=None):
    """(n, 1, size, size) float mask, 1 = visible, one block×block hidden square per image."""
    ### BEGIN SOLUTION
    top = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    left = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    r = torch.arange(size).view(1, size, 1)
    c = torch.arange(size).view(1, 1, size)
    hidden = (r >= top) & (r < top + block) & (c >= left) & (c < left + block)
    return (~hidden).float().unsqueeze(1)
    ### END SOLUTION


# %%
check_random_block_mask(random_block_mask)

# %% [markdown]
# ## 2. MAE-style random patches
# Cut the image into a `g`×`g` grid of `patch`×`patch` patches (`g = size // patch`) and hide **exactly**
# `k = round(mask_ratio · g²)` of them in every image, chosen independently per image. The trick of the MAE code:
# draw one random score per patch, rank the scores within each image (a patch's rank is the place its score
# takes when the row is sorted), and hide the patches ranked below `k`. Then blow the `(n, g, g)` grid up to pixels with `repeat_interleave`.

# %%
def random_patch_mask(n, size=32, patch=4, mask_ratio=0.75, generator=None):
    """(n, 1, size, size) float mask hiding exactly round(mask_ratio * (size // patch)**2) patches per image."""
    ### BEGIN SOLUTION
    g = size // patch
    k = round(mask_ratio * g * g)
    rank = torch.rand(n, g * g, generator=generator).argsort(1).argsort(1)
    visible = (rank >= k).float().view(n, 1, g, g)
    return visible.repeat_interleave(patch, 2).repeat_interleave(patch, 3)
    ### END SOLUTION


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
    ### BEGIN SOLUTION
    hidden = 1.0 - mask
    squared = (pred - target).pow(2) * hidden
    return squared.sum() / (hidden.sum() * pred.shape[1]).clamp(min=1.0)
    ### END SOLUTION


# %%
check_masked_mse(masked_mse)

# %% [markdown]
# ## 4. Structure, not colour
# In `shapes` (and in photos) the colour of a hidden part is often unpredictable from the rest: a car may be red or
# blue. Averaged over the possibilities, the squared error is smallest for a grey, blurred guess — so a network
# trained with `masked_mse` learns to paint grey. Lesson 01 therefore compares **structure**: before the masked MSE,
# subtract from the prediction and from the target their own mean colour over the hidden part, per image and per
# channel ($h = 1 - m$, sums over pixels):
# $$\bar{\hat x}_{ic} = \frac{\sum h_i \hat x_{ic}}{\sum h_i}, \qquad \bar x_{ic} = \frac{\sum h_i x_{ic}}{\sum h_i},
# \qquad L_\text{structure} = \text{masked\_mse}\big(\hat x - \bar{\hat x},\; x - \bar x,\; m\big).$$
# An image with nothing hidden has no hidden mean and adds nothing (no 0/0). You may call your `masked_mse`.

# %%
def structure_mse(pred, target, mask):
    """masked_mse after removing each image's and channel's mean over its hidden part from pred and from target."""
    ### BEGIN SOLUTION
    hidden = 1.0 - mask
    area = hidden.sum((2, 3), keepdim=True).clamp(min=1.0)  # (N, 1, 1, 1)
    pred = pred - (pred * hidden).sum((2, 3), keepdim=True) / area
    target = target - (target * hidden).sum((2, 3), keepdim=True) / area
    return masked_mse(pred, target, mask)
    ### END SOLUTION


# %%
check_structure_mse(structure_mse)

# %% [markdown]
# ## 5. Experiment: which guess does each loss prefer?
# No network needed: two hand-made guesses for a 16×16 hole in 512 test images.
# * **grey**: the hole filled with the mean colour of the image's visible part — the blurry answer;
# * **shifted**: the true image, every colour shifted by ±0.25 (a quarter of the range, a random sign per image and
#   channel) — the right shapes in the wrong colour.
#
# (These cells raise `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.data import load_dataset
from sslcourse.plots import show_rows

images = load_dataset("shapes", "test").images[:512].float() / 255
g = torch.Generator().manual_seed(0)
mask = random_block_mask(512, 32, 16, g)
visible_colour = (images * mask).sum((2, 3), keepdim=True) / mask.sum((2, 3), keepdim=True)
guesses = {"grey": mask * images + (1 - mask) * visible_colour,
           "shifted": images + 0.25 * (torch.randint(0, 2, (512, 3, 1, 1), generator=g) * 2 - 1)}
scores = {name: (float(masked_mse(x, images, mask)), float(structure_mse(x, images, mask))) for name, x in guesses.items()}
for name, (plain, structure) in scores.items():
    print(f"{name:>8}: masked_mse {plain:.4f}   structure_mse {structure:.4f}")
claim("masked_mse prefers the grey guess", scores["grey"][0] < scores["shifted"][0], where="always")
claim("structure_mse scores the shifted guess 0", scores["shifted"][1] < 1e-6 < scores["grey"][1], where="always")

# %% tags=["raises-exception"]
show_rows({"image": images[:8], "hidden": (mask * images)[:8], "grey": guesses["grey"][:8],
           "shifted": guesses["shifted"][:8].clamp(0, 1)}, ncols=8)
plt.show()

# %% [markdown]
# `masked_mse` prefers the grey guess, though the shifted one has every edge and every shape right;
# `structure_mse` scores the shifted guess a perfect 0 and the grey one by how much structure it misses.
#
# ## 6. Look at your masks

# %% tags=["raises-exception"]
images = load_dataset("shapes", "test").images[:8].float() / 255
g = torch.Generator().manual_seed(0)
show_rows({"image": images, "block": random_block_mask(8, 32, 14, g) * images,
           "patches": random_patch_mask(8, 32, 4, 0.75, g) * images}, ncols=8)
plt.show()

# %% [markdown]
# ## Written answer (graded by hand): Which target rewards a good inpainter?
# Lesson 01 explains why `structure_mse` teaches more than `masked_mse` on `shapes`; this question goes one step
# further. (a) For each guess above, the difference between its two scores is an error of one number per image and
# channel: which? (Check it on the shifted guess, whose colours are all off by 0.25.) So `masked_mse` = `structure_mse`
# + what? (b) On real photos a hole's colour can often be predicted from its surroundings — a sky continues, a lawn
# continues. What would a network trained with `structure_mse` alone never learn there, and what loss between the two
# would you train with? (A few sentences.)

# %% [markdown]
# <!-- BEGIN SOLUTION -->
# *A model answer.* (a) The difference is the squared error of the hole's *mean colour*: per image and channel,
# $\sum_{hidden}(\hat x - x)^2 = \sum_{hidden}\big((\hat x - \hat\mu) - (x - \mu)\big)^2 + n\,(\hat\mu - \mu)^2$, the
# cross term vanishing because both centred parts sum to 0 over the hole. The shifted guess has no structure error
# and a mean-colour error of $0.25^2 = 0.0625$: its `masked_mse` is exactly that. So `masked_mse` = `structure_mse` +
# the error of each hole's mean colour. (b) `structure_mse` is blind to that second term: a network trained with it
# never learns which colour a hole has (a red sky with the right clouds scores perfectly) — on `shapes`, where the
# colour is random, nothing is lost; on photos, where context predicts it, something is. A weighted sum,
# `structure_mse + λ · colour error` with λ below 1, keeps the structure as the main signal and still asks for the
# colour where it can be known (λ = 1 is `masked_mse` again).
# <!-- END SOLUTION -->
