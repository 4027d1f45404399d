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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/07_mae.ipynb)
#
# # Exercise 07 — images as patches, MAE's random masking, and the loss on the hidden patches
#
# Write the three pieces of a masked autoencoder that lesson 07 uses without showing them:
#
# 1. **`patchify`**: an image as a sequence of patches;
# 2. **`random_masking`**: a fresh random subset of every sequence's tokens, and the indices that put them back;
# 3. **`mae_loss`**: the squared error on the hidden patches only, on raw or per-patch normalised targets.
#
# Vectorised — no Python loop over images, patches or pixels. `sslcourse grade exercises/07_mae.ipynb` grades all
# three.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.grading import check_mae_loss, check_patchify, check_random_masking

p = lesson_setup()

# %% [markdown]
# ## 1. Images as patches
# A ViT reads an image $(C, H, W)$ as a sequence of $L = \frac{H}{p}\cdot\frac{W}{p}$ patches of $p \times p$ pixels,
# each flattened into a vector of $P = p^2 C$ numbers. The layout, MAE's:
# * the patches come **row by row over the grid**, like words on a page: patch $(i, j)$ of the grid is number
#   $i \cdot \frac{W}{p} + j$;
# * inside a patch, the pixels come **row by row**, and each pixel's $C$ values **stay together**: value
#   $(r p + c)\,C + k$ of patch $(i, j)$ is channel $k$ of pixel $(i p + r,\; j p + c)$.
#
# Only values move — no arithmetic, so a `uint8` image gives `uint8` patches. If $p$ does not divide $H$ and $W$,
# raise a `ValueError` that says so. (Hint: a `reshape` can split an axis of length $H$ into (grid row, row inside
# the patch); then put the axes in the order the layout asks for.)

# %%
def patchify(images, patch):
    """images (N, C, H, W) -> patches (N, L, patch·patch·C), MAE's layout."""
    ### BEGIN SOLUTION
    n, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"patch={patch} must divide the image's height and width, got {h}×{w}")
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)
    x = x.permute(0, 2, 4, 3, 5, 1)  # (N, grid rows, grid columns, pixel rows, pixel columns, C)
    return x.reshape(n, (h // patch) * (w // patch), patch * patch * c)
    ### END SOLUTION


# %%
check_patchify(patchify)

# %% [markdown]
# Your patches, put back together by the course's `unpatchify` (the inverse layout): the same image, bit for bit.
# (This cell raises `NotImplementedError` until `patchify` is written.)

# %% tags=["raises-exception"]
from sslcourse.data import load_dataset
from sslcourse.pretext import unpatchify

images = load_dataset("shapes", "test").images[:512].float() / 255  # (512, 3, 32, 32) in [0, 1]
patches = patchify(images, 4)  # (512, 64, 48)
print(tuple(patches.shape), "— back together exactly:", torch.equal(unpatchify(patches, 4), images))
fig, axes = plt.subplots(8, 8, figsize=(4, 4))
for ax, piece in zip(axes.flat, patches[0]):
    ax.imshow(piece.view(4, 4, 3).numpy())  # one patch: 4 rows of 4 pixels of 3 values
    ax.axis("off")
plt.suptitle("image 0 as 64 patches of 4×4 pixels", fontsize=9)
plt.show()

# %% [markdown]
# ## 2. Random masking by sorting noise
# MAE hides most patches of every image, a different random set each time, and the encoder sees only the visible
# ones. For tokens $t$ of shape $(N, L, D)$ and a `mask_ratio` $r$, keep $K = L - \operatorname{round}(rL)$ tokens
# per sequence:
# 1. draw one uniform number per token, for **every sequence of the batch** (use `generator` for every draw);
# 2. sort each sequence's noise: the positions with the $K$ smallest numbers stay visible — `visible` $(N, K, D)$
#    holds those tokens, in the sorted order;
# 3. `mask` $(N, L)$, float, in the original order: 1 = visible, 0 = hidden (the course's convention);
# 4. `ids_restore` $(N, L)$, `int64`: for each original position, where its token went in the sorted order. The
#    decoder appends $L - K$ mask tokens to `visible` and gathers along the sequence with `ids_restore` to put
#    every token back in its place — so `ids_restore` is the **inverse** of the sorting permutation.
#
# Return `(visible, mask, ids_restore)`.

# %%
def random_masking(tokens, mask_ratio, generator=None):
    """tokens (N, L, D) -> (visible (N, K, D), mask (N, L) with 1 = visible, ids_restore (N, L))."""
    ### BEGIN SOLUTION
    n, length, dim = tokens.shape
    num_visible = length - round(mask_ratio * length)
    noise = torch.rand(n, length, generator=generator).to(tokens.device)
    ids_shuffle = noise.argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    ids_keep = ids_shuffle[:, :num_visible]
    visible = torch.gather(tokens, 1, ids_keep.unsqueeze(-1).expand(n, num_visible, dim))
    mask = (ids_restore < num_visible).float()
    return visible, mask, ids_restore
    ### END SOLUTION


# %%
check_random_masking(random_masking)

# %% [markdown]
# Your masks on patches as tokens — the patches *are* tokens before any embedding — at four ratios. Each row hides
# a fresh set in every image.

# %% tags=["raises-exception"]
from sslcourse.plots import show_rows

g = torch.Generator().manual_seed(0)
rows = {"image": images[:8]}
for ratio in (0.25, 0.5, 0.75, 0.9):
    visible, mask, ids_restore = random_masking(patches[:8], ratio, generator=g)
    rows[f"{ratio:.0%} hidden"] = unpatchify(patches[:8] * mask.unsqueeze(-1), 4)
show_rows(rows, ncols=8)
plt.show()

# %% [markdown]
# ## 3. The loss on the hidden patches
# The decoder predicts every patch, $\hat x$ $(N, L, P)$; the target $x$ is the image's patches. The loss is the
# mean squared error of a patch, averaged over the **hidden** patches only ($m_{nl} = 0$):
# $$L = \frac{\sum_{n,l} (1 - m_{nl})\, \frac{1}{P}\sum_{v=1}^{P} (\hat x_{nlv} - \tilde x_{nlv})^2}{\sum_{n,l}(1 - m_{nl})} .$$
# With `norm_pix=False`, $\tilde x = x$. With `norm_pix=True` (MAE's better target), each target patch is first
# normalised by its own statistics, $\tilde x_{nl} = (x_{nl} - \mu_{nl}) / \sqrt{\sigma^2_{nl} + 10^{-6}}$, with
# $\sigma^2_{nl}$ the **unbiased** variance of its $P$ values (dividing by $P - 1$, as MAE's code does). With nothing
# hidden, the loss is 0 — not 0/0.

# %%
def mae_loss(pred, target, mask, norm_pix=True):
    """Mean over the hidden patches (mask = 0) of each patch's mean squared error; targets normalised per patch."""
    ### BEGIN SOLUTION
    if norm_pix:
        mean = target.mean(dim=-1, keepdim=True)
        var = target.var(dim=-1, keepdim=True)
        target = (target - mean) / (var + 1e-6) ** 0.5
    per_patch = ((pred - target) ** 2).mean(dim=-1)  # (N, L)
    hidden = 1 - mask
    return (per_patch * hidden).sum() / hidden.sum().clamp(min=1)
    ### END SOLUTION


# %%
check_mae_loss(mae_loss)

# %% [markdown]
# ## 4. Experiment: why hide so much?
# Lesson 01 hid a quarter of the image; MAE hides three quarters. Without any network: fill each hidden patch with
# the **average of its visible neighbours** (up, down, left, right) — pure interpolation, which knows nothing about
# objects — and, where no neighbour is visible, with the image's average visible patch. Compare it with the
# **flat guess** (every hidden patch the image's average visible patch) by your `mae_loss` on raw pixels, on 512
# test images, at four mask ratios.
#
# (These cells raise `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
def neighbour_guess(patches, mask, grid=8):
    """Each patch replaced by the mean of its visible 4-neighbours; the image's mean visible patch where none is."""
    x = (patches * mask.unsqueeze(-1)).view(-1, grid, grid, patches.shape[-1]).permute(0, 3, 1, 2)  # (N, P, g, g)
    m = mask.view(-1, 1, grid, grid)
    kernel = torch.tensor([[0.0, 1, 0], [1, 0, 1], [0, 1, 0]]).view(1, 1, 3, 3)
    total = F.conv2d(x.reshape(-1, 1, grid, grid), kernel, padding=1).view_as(x)  # sum of visible neighbours
    count = F.conv2d(m, kernel, padding=1)  # how many are visible
    mean_patch = (patches * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)  # (N, P)
    guess = torch.where(count > 0, total / count.clamp(min=1), mean_patch.view(-1, patches.shape[-1], 1, 1))
    return guess.permute(0, 2, 3, 1).reshape(patches.shape), mean_patch


g = torch.Generator().manual_seed(1)
results = {}
for ratio in (0.25, 0.5, 0.75, 0.9):
    _, mask, _ = random_masking(patches, ratio, generator=g)
    neighbours, mean_patch = neighbour_guess(patches, mask)
    flat = mean_patch.unsqueeze(1).expand_as(patches)
    results[ratio] = (float(mae_loss(neighbours, patches, mask, norm_pix=False)),
                      float(mae_loss(flat, patches, mask, norm_pix=False)))
    print(f"{ratio:4.0%} hidden: interpolation {results[ratio][0]:.4f}, flat guess {results[ratio][1]:.4f}, "
          f"interpolation removes {1 - results[ratio][0] / results[ratio][1]:.0%} of the flat guess's error")
gain = {r: 1 - a / b for r, (a, b) in results.items()}
# the same 512 shapes test images and masks in every profile: these hold in every run
claim("interpolation removes over 40 % of the flat guess's error at 25 % hidden", gain[0.25], ">", 0.4,
      fmt="{:.0%}", where="always")
claim("interpolation removes under 10 % of the flat guess's error at 90 % hidden", gain[0.9], "<", 0.1,
      fmt="{:.0%}", where="always")

# %% [markdown]
# At a quarter hidden, most hidden patches have visible neighbours, and plain interpolation removes over 40 % of
# the flat guess's error: the task is half solved by a local rule, and a network need learn little more than that
# rule. At 90 % hidden, interpolation removes under a tenth: few hidden patches touch a visible one, and what
# remains can only be predicted by knowing what scenes and their objects look like.
#
# ## Written answer (graded by hand): What did MAE's pretraining give fine-tuning, and why is its frozen probe low?
# In lesson 07, MAE's frozen linear probe stayed far below the ConvNets' of lessons 01–06, and fine-tuning MAE's
# encoder on 10 % of the labels ended above the same ViT fine-tuned from random init on the same labels and steps.
# (a) What does MAE's loss ask of the encoder's last layer, and why need that not make the mean of its tokens
# linearly separable by class? (b) What does fine-tuning change that a linear probe cannot, and what of MAE's
# pretraining does it still use? Quote the lesson's numbers: MAE's gain over the random ViT frozen and fine-tuned.
# (A few sentences.)

# %% [markdown]
# <!-- BEGIN SOLUTION -->
# *A model answer.* (a) MAE's encoder is trained so that a decoder can redraw every hidden patch from the visible
# tokens: its last layer must keep *where* things are and what the local pixels look like — edges, textures,
# colours of parts — which is much more than the class and mostly unrelated to it. Averaged over the patches, those
# features mix position, texture and shape, and the class is not a linear direction in them: the lesson's linear
# probe on MAE's features stayed far below the ConvNets' (quote it). A contrastive method asks for the opposite,
# invariance to everything but the image's identity, which is what a linear probe rewards. (b) Fine-tuning trains
# every layer with the labels, so the network can turn its features towards the class — it lifts the random-init
# ViT above its probe too, so that gap alone does not measure pretraining. What it keeps from MAE is a head start:
# features a little better than random at every depth (the lesson's per-block probes), from which a few hundred
# steps on a few labels go further than from random weights — the fine-tuned MAE beat the from-scratch ViT at the
# same labels and steps (quote the gain). At this budget the frozen and the fine-tuned gains over the random ViT were
# about the same (about 8 points each at seed 0); MAE's paper finds fine-tuning far ahead of the probe after 1,600
# epochs — a finding of long runs, not of this one.
# <!-- END SOLUTION -->

# %% [markdown]
# ## Think about it
# * Your `random_masking` keeps $K$ of $L$ tokens. The encoder's cost grows with the number of tokens it sees
#   (and its attention with their square): at 75 % masking, roughly what fraction of the full encoder's compute is
#   left? Lesson 07 measures it.
# * Why does MAE add the position embeddings *before* masking, and the decoder its own after restoring the order?
# * With `norm_pix=True`, what does the model predict for a patch of sky that is nearly one colour?
