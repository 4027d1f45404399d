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
# > **Exercise notebook** generated from `solutions/03_jigsaw.py` by `make exercises` — edit the solution, not this file. Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/03_jigsaw.ipynb)
#
# # Exercise 03 — the permutation set, shuffling tiles, and where each tile belongs
#
# A jigsaw network classifies *which* permutation shuffled the nine tiles, out of a fixed set. If two
# permutations of the set differ in only two tiles, the task hinges on one tile pair; so the set is chosen to keep
# permutations **far apart** in Hamming distance (the number of positions where they differ).
# You write Noroozi & Favaro's rule for the set (exactly, so that a seed gives one set), the shuffle, and then
# something the lesson does not do: turn the network's belief over *permutations* into a belief over *where each
# tile belongs*. A short experiment compares two rules for the set, and a written answer asks you to choose.
# `sslcourse grade exercises/03_jigsaw.ipynb` grades the functions; the written answer is marked by hand.

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

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.grading import check_make_permutation_set, check_shuffle_tiles, check_tile_position_probs

p = lesson_setup()

# %% [markdown]
# ## 1. The permutation set: Algorithm 1 of Noroozi & Favaro (2016)
# The Hamming distance of two permutations is $d(p, q) = \#\{j : p_j \ne q_j\}$. The set $P$ grows one
# permutation at a time, each time by the candidate **farthest from the whole set so far**: the one with the
# largest *summed* distance $S_c = \sum_{p \in P} d(c, p)$. (The paper writes it as the column sums
# $\bar D = \mathbf 1^\top D$ of the distance matrix between $P$ and the candidates, "maximal average Hamming
# distance" — the same choice, since every candidate is compared with the same $|P|$ permutations.)
#
# To make one seed give exactly one set, the details are fixed:
# * **Candidates**: all $T!$ permutations of $0..T-1$, listed in lexicographic order (the order of
#   `itertools.permutations(range(T))`), then reordered once by
#   `torch.randperm(T!, generator=torch.Generator().manual_seed(seed))` — candidate $c$ is the `order[c]`-th
#   permutation of the lexicographic list.
# * **Start**: $P$ = [the first candidate of that order] (the paper starts from a random permutation).
# * **Each step**: among the candidates not yet in $P$, take the one with the largest $S_c$; on a tie, the one
#   that comes **first** in the seeded order. A chosen permutation is never chosen again.
#
# Keep one running score per candidate (362,880 for nine tiles, a tensor of 3.3 million small integers): adding a
# permutation $q$ to the set adds $d(c, q)$ to every candidate's score.

# %%
def make_permutation_set(n, num_tiles=9, seed=0):
    """(n, num_tiles) int64: Algorithm 1 — each new permutation has the largest summed Hamming distance to the set."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


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
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_shuffle_tiles(shuffle_tiles)

# %% [markdown]
# ## 3. Where does each tile belong?
# The network does not answer "which tile goes where"; it gives logits $\ell$ over the $n$ permutations of the set,
# and $\mathrm{softmax}(\ell)_p$ is its belief that the puzzle was shuffled by $\pi_p$. Shuffling by $\pi$ put tile
# $\pi(j)$ at position $j$, so the belief that **position $j$ holds tile $k$** is
# $$P_{jk} = \sum_{p=1}^{n} \mathrm{softmax}(\ell)_p\,[\pi_p(j) = k].$$
# One $T\times T$ table per puzzle, rows = positions, columns = tiles. `logits` is `(N, n)`, `permutations` is
# `(n, T)`; return `(N, T, T)` floating-point probabilities. No Python loop over puzzles or permutations, and
# stable for very confident logits.

# %%
def tile_position_probs(logits, permutations):
    """(N, n) logits over the set, (n, T) permutations -> (N, T, T): P[i, j, k] = belief that position j holds tile k."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_tile_position_probs(tile_position_probs)

# %% [markdown]
# ## 4. Experiment: two rules for the set
# The lesson's comparison is the **max–min** rule: add the candidate farthest from its *nearest* chosen permutation
# (same candidates, same start: the course's `make_permutation_set(..., rule="maxmin")`). Both rules pick 64
# permutations of nine tiles below — yours is exactly the set lesson 03 trains with, the course's default. Which set
# is "farther apart" depends on what you measure. (These cells raise `NotImplementedError` until your functions are
# written.)

# %% tags=["raises-exception"]
from sslcourse.pretext import make_permutation_set as course_permutation_set

sets = {"summed (Algorithm 1)": make_permutation_set(64), "max–min": course_permutation_set(64, rule="maxmin")}
claim("your set is the one lesson 03 trains with (the course's default rule)",
      torch.equal(sets["summed (Algorithm 1)"], course_permutation_set(64)), where="always")
stats = {}
for name, ps in sets.items():
    d = (ps[:, None] != ps[None]).sum(-1)
    others = d[~torch.eye(64, dtype=torch.bool)]
    stats[name] = (others.float().mean().item(), int(others.min()), (d + 99 * torch.eye(64, dtype=torch.long)).min(1).values)
    print(f"{name:>20}: mean distance {stats[name][0]:.3f}, closest pair {stats[name][1]} tiles apart")
(mean_sum, min_sum, near_sum), (mean_mm, min_mm, near_mm) = stats.values()
claim("Algorithm 1 wins on the mean, max–min on the closest pair",
      mean_sum > mean_mm and min_sum < min_mm, where="always")

# %% tags=["raises-exception"]
bins = torch.arange(2, 11)
plt.bar(bins - 0.2, torch.bincount(near_sum, minlength=11)[2:], width=0.4, label="summed (Algorithm 1)")
plt.bar(bins + 0.2, torch.bincount(near_mm, minlength=11)[2:], width=0.4, label="max–min")
plt.xlabel("distance of a permutation to its nearest neighbour in the set")
plt.ylabel("permutations")
plt.legend()
plt.show()

# %% [markdown]
# **What a hesitation costs.** Suppose the network hesitates, 50/50, between the true permutation and its nearest
# neighbour in the set. Your `tile_position_probs` says how many tiles it still places right, on average:
# $\sum_j P_{j,\pi(j)}$ for the true $\pi$.

# %% tags=["raises-exception"]
for name, ps in sets.items():
    d = (ps[:, None] != ps[None]).sum(-1) + 99 * torch.eye(64, dtype=torch.long)
    logits = torch.full((64, 64), -1e4)
    logits[torch.arange(64), torch.arange(64)] = 0.0
    logits[torch.arange(64), d.argmin(1)] = 0.0  # 50/50 with the nearest neighbour
    right = tile_position_probs(logits, ps)[torch.arange(64)[:, None], torch.arange(9), ps].sum(1)
    print(f"{name:>20}: {right.mean():.2f} of 9 tiles placed right when hesitating")
    stats[name] += (right.mean().item(),)
claim("a hesitation costs fewer tiles with Algorithm 1's set",
      stats["summed (Algorithm 1)"][3] > stats["max–min"][3], where="always")

# %% [markdown]
# One real puzzle, shuffled by a permutation of Algorithm 1's set that has a close neighbour: the table shows the
# hesitating network's belief of which tile (column) sits at each position (row). Rows with a single bright cell are
# positions the two candidates agree on.

# %% tags=["raises-exception"]
from sslcourse.data import load_dataset
from sslcourse.plots import show_images
from sslcourse.pretext import assemble_tiles, extract_tiles

ps = sets["summed (Algorithm 1)"]
d = (ps[:, None] != ps[None]).sum(-1) + 99 * torch.eye(64, dtype=torch.long)
a = int(d.min(1).values.argmin())
b = int(d[a].argmin())
logits = torch.full((1, 64), -1e4)
logits[0, [a, b]] = 0.0
tiles = extract_tiles(load_dataset("shapes", "test").images[:1], 3, 9, generator=torch.Generator().manual_seed(0))
show_images(torch.cat([assemble_tiles(tiles), assemble_tiles(shuffle_tiles(tiles, ps[a]))]), titles=["image", "shuffled"])
plt.show()
plt.imshow(tile_position_probs(logits, ps)[0], cmap="viridis", vmin=0, vmax=1)
plt.title(f"P[j, k] between permutations {d[a, b].item()} tiles apart")
plt.xlabel("tile k")
plt.ylabel("position j")
plt.colorbar()
plt.show()

# %% [markdown]
# ## Written answer (graded by hand): Which rule for the permutation set?
# You are setting up a jigsaw task with 64 permutations. Would you choose the set by Algorithm 1 (summed distance)
# or by the max–min rule? Argue from the numbers above — the mean distance, the closest pair, the histogram, and
# what a hesitation costs — and say what each rule protects against. (A few sentences; no single right answer.)

# %% [markdown]
# *Your answer here: double-click this cell and replace this line.*
