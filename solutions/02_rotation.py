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
# # Exercise 02 — a batch in all four rotations
#
# RotNet shows every image in four rotations, each with its label $r$ (rotated by $r\cdot 90°$
# counter-clockwise). Write `rotate_batch`: it takes images `(N, C, H, W)` and returns `(4N, C, H, W)` images and
# `(4N,)` int64 labels that line up with them. Use `torch.rot90` (exact: pixels move, nothing is interpolated).
# `sslcourse grade exercises/02_rotation.ipynb` grades it from a terminal.

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
from sslcourse.grading import check_rotate_batch

p = lesson_setup()

# %% [markdown]
# `torch.rot90(x, k, dims=(2, 3))` turns every image of a batch by `k`·90° counter-clockwise (from the first of
# `dims` towards the second). Stack the four turned copies with `torch.cat`, and build labels in the *same* order.

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
# ## Look at it
# (This cell raises `NotImplementedError` until `rotate_batch` is written.)

# %% tags=["raises-exception"]
from sslcourse.data import load_dataset
from sslcourse.plots import show_images

images, labels = rotate_batch(load_dataset("shapes", "test").images[:4])
show_images(images, titles=[f"{90 * int(r)}°" for r in labels], ncols=8)
plt.show()

# %% [markdown]
# ## Think about it
# * Your labels and the ones from `torch.arange(4).repeat(N)` have the same counts. Why does training with the
#   latter stay at 25 % rotation accuracy?
# * Why is a 90° rotation by `rot90` exact for square images, while rotating by 45° is not?
