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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/notebooks/03_jigsaw.ipynb)
#
# # 03 — Jigsaw puzzles
#
# Cut an image into a 3×3 grid, shuffle the tiles, and ask the network which shuffle was used
# (Noroozi & Favaro 2016). To put a roof above its walls or wheels below a car, it must recognise parts of objects
# and know how they fit together.
#
# You will: cut tiles with gaps and jitter, choose a permutation set by greedy Hamming distance, build a
# *context-free* network that sees each tile alone, block the shortcuts a network would rather take, watch it
# solve puzzles, and measure its encoder.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course and enable widgets
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])
    from google.colab import output
    output.enable_custom_widget_manager()

# %% tags=["parameters"]
import os

PROFILE = os.environ.get("SSLCOURSE_PROFILE")  # None: "quick" on a CPU, "gpu" with CUDA; "full" on request
SEED = 0

# %%
import matplotlib.pyplot as plt
import torch

from sslcourse import show_source
from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data
from sslcourse.plots import show_images, show_rows

p = lesson_setup(PROFILE, seed=SEED)
train, test = load_profile_data(p)

# %% [markdown]
# ## 1. Tiles, with a gap and jitter
# A 32×32 image gives a 3×3 grid of 10×10 cells. From each cell we take a 9×9 tile at a random offset: the tiles
# never touch, and their borders do not line up pixel for pixel. Without that, a network solves the puzzle by
# matching the last row of one tile with the first row of the next — low-level edge continuity, which teaches
# nothing about objects.

# %%
from sslcourse.pretext import assemble_tiles, extract_tiles

images = test.images[:6]
tiles = extract_tiles(images, grid=3, tile=9, generator=torch.Generator("cpu").manual_seed(0))
print("tiles:", tuple(tiles.shape), "= (images, 9 tiles, channels, 9, 9)")
show_rows({"image": images, "tiles": assemble_tiles(tiles)}, ncols=6, scale=1.4)
plt.show()

# %% [markdown]
# ## 2. Which permutations? The greedy Hamming set
# There are $9! = 362{,}880$ ways to shuffle nine tiles — too many classes. The task uses a fixed set of $n$, chosen
# so that any two differ in as many positions as possible (their **Hamming distance**): greedily, each new
# permutation is the candidate farthest from its nearest chosen one. Compare with $n$ permutations drawn at random:

# %%
from sslcourse.pretext import hamming, make_permutation_set

perms = make_permutation_set(64, seed=SEED)
at_random = torch.stack([torch.randperm(9, generator=torch.Generator("cpu").manual_seed(s)) for s in range(64)])
for name, ps in [("greedy", perms), ("random", at_random)]:
    d = hamming(ps, ps) + 100 * torch.eye(64, dtype=torch.long, device=ps.device)
    print(f"{name:>6}: closest pair {int(d.min())} tiles apart, mean nearest distance {d.min(1).values.float().mean():.2f}")

# %% [markdown]
# The size $n$ of the set is the difficulty knob: more permutations, finer distinctions. The loss is the
# cross-entropy over the set, $L = -\log p_\theta(\pi \mid \text{tiles shuffled by } \pi)$.

# %%
from sslcourse.pretext import shuffle_tiles

show_source(shuffle_tiles)
shuffled = shuffle_tiles(tiles, perms[1:7])  # the permutation table lives on the CPU; shuffle_tiles moves it
show_rows({"shuffled by π #1..6": assemble_tiles(shuffled), "solved": assemble_tiles(tiles)}, ncols=6, scale=1.4)
plt.show()

# %% [markdown]
# ## 3. A context-free network
# If the network saw all nine tiles at once it could compare their borders. Instead, the **same encoder** (the
# course's backbone, shared weights) looks at **each tile alone**; only the nine feature vectors are concatenated
# and passed to a small classifier over the permutation set. Tiles are upsampled to 16×16 so the backbone's four
# stages have room.
#
# **Shortcuts that remain, and how to block them:**
# * *Colour statistics* — tiles from the sky are brighter and bluer than tiles from the ground. Each tile gets its
#   own random colour jitter and, sometimes, grayscale, so absolute colour stops saying where a tile belongs.
# * *Chromatic aberration* — in real photos, lenses shift colour channels towards the image border; a network can
#   read a tile's position off that (Noroozi & Favaro saw it). The remedy is the same: grayscale or colour-jittered
#   tiles. (`shapes` is rendered without lens effects.)
# * *Per-tile normalisation* — standardise each tile's brightness and contrast. It blocks more, and on `shapes` it
#   also removes information the encoder could use (`benchmarks/ablations.py jigsaw`); it is off by default.

# %%
from sslcourse.runs import plan_run
from sslcourse.train import fit

run = plan_run("jigsaw", p, train, seed=SEED)
recipe = run.recipe
print(run)
method = run.build()
puzzles, targets = method.make_puzzles(test.images[:6])
show_images(assemble_tiles(puzzles), titles=[f"π #{int(t)}" for t in targets], ncols=6, scale=1.4)
plt.show()
show_source(type(method).forward)

# %% [markdown]
# ## 4. Training through `fit`

# %%
history = fit(method, train, **run.fit_kwargs())  # a rerun loads it (lesson 06 too)
history.plot()
plt.show()

# %% [markdown]
# ## 5. Watch it solve puzzles
# The network predicts a permutation $\hat\pi$; applying its inverse, $\mathrm{argsort}(\hat\pi)$, puts the tiles
# back. Puzzles it solved show the original picture; wrong ones are visibly scrambled.

# %%
torch.manual_seed(1)
method.eval()
with torch.no_grad():
    puzzles, targets = method.make_puzzles(test.images[:8].to(p.device))
    guess = method(puzzles).argmax(1)
solved = shuffle_tiles(puzzles, method.permutations[guess].argsort(1))
show_rows({"shuffled": assemble_tiles(puzzles).cpu(), "put back": assemble_tiles(solved).cpu()}, ncols=8, scale=1.3)
plt.show()
print("solved:", " ".join("✔" if g == t else "✘" for g, t in zip(guess, targets)))
with torch.no_grad():
    acc = sum((method(pz).argmax(1) == t).float().sum().item()
              for pz, t in (method.make_puzzles(test.images[i:i + 500].to(p.device)) for i in range(0, 2000, 500)))
print(f"puzzle accuracy on the test set: {acc / 2000:.1%} (chance: {1 / len(method.permutations):.1%})")

# %% [markdown]
# ## 6. Accuracy against the size of the permutation set
# Short runs (`recipe["ablation_epochs"]` epoch(s) on half the data) with sets of different sizes: more permutations
# make a harder task.

# %%
half = train.subset(len(train) // 2, seed=SEED)
sizes, puzzle_acc = [8, 32, 128], []
for size in sizes:
    run_s = plan_run("jigsaw", p, half, seed=SEED, num_permutations=size, epochs=recipe["ablation_epochs"])
    h_s = run_s.fit(run_s.build(), half, progress=False)
    puzzle_acc.append(h_s.last("puzzle_accuracy"))
    print(f"{size:>4} permutations: training puzzle accuracy {puzzle_acc[-1]:.1%} (chance {1 / size:.1%})")
plt.plot(sizes, [100 * a for a in puzzle_acc], "o-", label=f"after {recipe['ablation_epochs']} epoch(s)")
plt.plot(sizes, [100 / s for s in sizes], "--", label="chance")
plt.xscale("log")
plt.xlabel("permutations in the set")
plt.ylabel("puzzle accuracy (%)")
plt.legend()
plt.show()

# %% [markdown]
# ## 7. What did the encoder learn?

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.plots import plot_bars, results_table
from sslcourse.runs import baseline

results = {
    "random init": baseline("random", p, train, test, seed=SEED),
    "jigsaw": evaluate_encoder(method.encoder, train, test),
    "supervised": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["jigsaw"]["linear_probe_accuracy"] - results["random init"]["linear_probe_accuracy"]
print(f"\njigsaw vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
plot_bars(results, title="jigsaw vs the baselines")
plt.show()

# %% [markdown]
# The encoder was trained on 9×9 tiles and is evaluated on whole 32×32 images — a change of scale that costs
# jigsaw features some accuracy (the full profile uses larger tiles).
#
# ## What to try next
# * `tile_jitter=False`: the tiles' borders line up again. Does the puzzle get easier? Do the features get better?
# * `per_tile_norm=True`, or remove the per-tile colour jitter in `Jigsaw.make_puzzles`, and compare.
# * `plan_run("jigsaw", p, train, num_permutations=16)` (or 100): a harder puzzle is not always a better teacher —
#   on `shapes` at this budget 16 permutations gave a *better* linear probe than 64 (BENCHMARKS.md, ablations).
# * **Exercise 03** (`exercises/03_jigsaw.ipynb`): write `make_permutation_set` and `shuffle_tiles`.
#
# **What failure looks like:** puzzle accuracy near 100 % within one epoch with a weak probe (a shortcut: matching
# edges or colours); accuracy stuck at chance (tiles shuffled with one permutation and labelled with another —
# check that `shuffle_tiles` and the labels use the same index).

# %%
from sslcourse.course import record_results

record_results("03_jigsaw", results, profile=p.name, dataset=train.name)
