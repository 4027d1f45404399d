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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/03_jigsaw.ipynb)
#
# # Exercise 03 — the permutation set and shuffling tiles
#
# A jigsaw network classifies *which* permutation shuffled the nine tiles, out of a fixed set. If two
# permutations of the set differ in only two tiles, the task hinges on one tile pair; so the set is chosen to keep
# permutations **far apart** in Hamming distance (the number of positions where they differ).
# Write the greedy selection of Noroozi & Favaro (2016), then the shuffle itself.
# `sslcourse grade exercises/03_jigsaw.ipynb` grades both.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import itertools

import matplotlib.pyplot as plt
import torch

from sslcourse.config import lesson_setup
from sslcourse.grading import check_make_permutation_set, check_shuffle_tiles

p = lesson_setup()

# %% [markdown]
# ## 1. Greedy max–min Hamming distance
# Candidates: all `num_tiles!` permutations (362,880 for nine tiles — one tensor of 3.3 million small integers),
# in an order shuffled by a generator seeded with `seed`. Start the set with the first candidate, then repeat
# `n − 1` times: add the candidate whose distance **to its nearest chosen permutation** is largest.
#
# Keep a vector `nearest` (one entry per candidate): its distance to the nearest chosen permutation. Adding a
# permutation `q` updates it with one element-wise minimum: `nearest = min(nearest, hamming(candidates, q))`.

# %%
def make_permutation_set(n, num_tiles=9, seed=0):
    """(n, num_tiles) int64: n permutations chosen greedily to be far apart in Hamming distance."""
    ### BEGIN SOLUTION
    g = torch.Generator().manual_seed(seed)
    candidates = torch.tensor(list(itertools.permutations(range(num_tiles))), dtype=torch.int8)
    candidates = candidates[torch.randperm(len(candidates), generator=g)]
    chosen = [0]
    nearest = (candidates != candidates[0]).sum(1)
    for _ in range(n - 1):
        best = int(nearest.argmax())
        chosen.append(best)
        nearest = torch.minimum(nearest, (candidates != candidates[best]).sum(1))
    return candidates[chosen].long()
    ### END SOLUTION


# %%
check_make_permutation_set(make_permutation_set)

# %% [markdown]
# ## 2. Shuffling tiles
# `tiles` holds puzzles `(N, T, C, h, w)`, tiles in row-major order. Shuffling by a permutation π puts tile π[j] at
# position j: `out[:, j] = tiles[:, π[j]]`. Accept one permutation for all puzzles, shape `(T,)`, or one per
# puzzle, `(N, T)`.

# %%
def shuffle_tiles(tiles, permutation):
    """Reorder tiles: out[i, j] = tiles[i, permutation[i, j]] (or permutation[j] for a single (T,) permutation)."""
    ### BEGIN SOLUTION
    if permutation.dim() == 1:
        return tiles[:, permutation]
    rows = torch.arange(len(tiles), device=tiles.device).unsqueeze(1)
    return tiles[rows, permutation]
    ### END SOLUTION


# %%
check_shuffle_tiles(shuffle_tiles)

# %% [markdown]
# ## 3. Look at it
# How far apart are your permutations, and what does a shuffled puzzle look like?
# (This cell raises `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.data import load_dataset
from sslcourse.plots import show_images
from sslcourse.pretext import assemble_tiles, extract_tiles

perms = make_permutation_set(30)
d = (perms[:, None] != perms[None]).sum(-1) + 100 * torch.eye(30, dtype=torch.long)
print(f"closest pair of your 30 permutations: {int(d.min())} tiles apart")
tiles = extract_tiles(load_dataset("shapes", "test").images[:4], 3, 9)
show_images(torch.cat([assemble_tiles(tiles), assemble_tiles(shuffle_tiles(tiles, perms[5]))]), ncols=4)  # 29×29 each
plt.show()

# %% [markdown]
# ## Think about it
# * What is the largest possible minimum distance between two permutations of 9? How many permutations can
#   share it?
# * If the set had 1,000 permutations instead of 64, what would happen to the puzzle accuracy — and to the
#   features?
