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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/06_momentum.ipynb)
#
# # Exercise 06 — the momentum update, BYOL's loss and MoCo's queue
#
# Write the three pieces that lesson 06 adds to contrastive learning:
#
# 1. the **momentum update** of a target network, $\theta' \leftarrow m\,\theta' + (1 - m)\,\theta$;
# 2. **BYOL's loss** on two views, $\ell(p, z') = 2 - 2\cos(p, z')$ with the gradient stopped at the targets,
#    symmetrised;
# 3. **MoCo's queue**: the newest keys in, the oldest out.
#
# Vectorised where there is a batch — no Python loop over samples. `sslcourse grade exercises/06_momentum.ipynb`
# grades all three.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import copy

import torch
import torch.nn as nn
import torch.nn.functional as F

from sslcourse.config import lesson_setup
from sslcourse.grading import check_byol_loss, check_ema_update, check_enqueue

p = lesson_setup()

# %% [markdown]
# ## 1. The momentum update
# A target network is a copy of the online network (same architecture, so their `named_parameters()` and
# `named_buffers()` pair up by name). After every optimiser step each of its tensors moves towards the online
# network's tensor of the same name:
# $$\theta' \leftarrow m\,\theta' + (1 - m)\,\theta .$$
# Write the update of **one** such pair of tensors; section 2 applies it to a whole network. Three rules:
# * in place — the method, its optimiser and its checkpoints hold the target's own tensor: update it, then return it;
# * no autograd — this is bookkeeping: the result must not depend on the online tensor through a graph;
# * batch norm keeps *buffers* beside its parameters: the running mean and variance (floating point) move the same
#   way, but its integer step counter cannot be averaged: copy it.

# %%
def ema_update(target, online, momentum):
    """θ' ← m·θ' + (1 − m)·θ in place for a floating-point target, a copy of online for an integer one; returns target."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        if target.is_floating_point():
            target.mul_(momentum).add_(online, alpha=1 - momentum)
        else:
            target.copy_(online)
    return target
    ### END SOLUTION


# %%
check_ema_update(ema_update)

# %% [markdown]
# A whole network: pair the tensors by name. How slowly does the target follow? Start a copy, move the online
# network once, and apply your update repeatedly: after $k$ updates the target has closed $1 - m^k$ of the gap —
# about 63 % after $1/(1 - m)$ updates.

# %% tags=["raises-exception"]
def ema_update_network(target_net, online_net, momentum):
    online_tensors = {**dict(online_net.named_parameters()), **dict(online_net.named_buffers())}
    for name, t in [*target_net.named_parameters(), *target_net.named_buffers()]:
        ema_update(t, online_tensors[name], momentum)


online = nn.Sequential(nn.Linear(1, 1, bias=False), nn.BatchNorm1d(1))
target = copy.deepcopy(online).requires_grad_(False)
nn.init.constant_(online[0].weight, float(target[0].weight) + 1.0)  # the online network jumps by 1
gap = []
for k in range(300):
    ema_update_network(target, online, 0.99)
    gap.append(float(online[0].weight - target[0].weight))
print(f"gap after 1, 100, 300 updates: {gap[0]:.3f}, {gap[99]:.3f}, {gap[299]:.3f} (0.99^k: "
      f"{0.99:.3f}, {0.99 ** 100:.3f}, {0.99 ** 300:.3f})")

# %% tags=["raises-exception"]
from sslcourse.methods.momentum import ema_update as course_ema_update

theirs = copy.deepcopy(target)
ema_update_network(target, online, 0.9)
course_ema_update(theirs, online, 0.9)
print("your network update equals the course's:",
      all(torch.allclose(a, b) for a, b in zip(target.state_dict().values(), theirs.state_dict().values())))

# %% [markdown]
# ## 2. BYOL's loss
# The online network predicts, for each view, the target network's projection of the *other* view:
# $$L = \frac{1}{N}\sum_{i=1}^{N} \Big[\big(2 - 2\cos(p_{1,i}, \mathrm{sg}(z_{2,i}))\big)
#       + \big(2 - 2\cos(p_{2,i}, \mathrm{sg}(z_{1,i}))\big)\Big],$$
# where $2 - 2\cos(p, z) = \lVert p/\lVert p\rVert - z/\lVert z\rVert \rVert^2$ and sg means *stop-gradient*: the
# targets are treated as constants. `p1, p2, z1, z2` all have shape `(N, D)`; if they do not, raise a `ValueError`
# that names the shapes.

# %%
def byol_loss(p1, p2, z1, z2):
    """Mean over the batch of (2 − 2·cos(p1, sg(z2))) + (2 − 2·cos(p2, sg(z1)))."""
    ### BEGIN SOLUTION
    if not (p1.shape == p2.shape == z1.shape == z2.shape) or p1.dim() != 2:
        raise ValueError(f"p1, p2, z1, z2 must have the same shape (N, D), got {tuple(p1.shape)}, "
                         f"{tuple(p2.shape)}, {tuple(z1.shape)}, {tuple(z2.shape)}")
    loss_12 = 2 - 2 * F.cosine_similarity(p1, z2.detach(), dim=1)
    loss_21 = 2 - 2 * F.cosine_similarity(p2, z1.detach(), dim=1)
    return (loss_12 + loss_21).mean()
    ### END SOLUTION


# %%
check_byol_loss(byol_loss)

# %% [markdown]
# ## 3. MoCo's queue
# The queue is a `(K, D)` buffer of keys and a pointer `ptr` (a 0-dimensional `int64` tensor) to its oldest row.
# Enqueuing `N` keys writes them over rows `ptr, ptr + 1, …, ptr + N − 1` — wrapping around past row `K − 1` — and
# moves the pointer to $(\mathrm{ptr} + N) \bmod K$. Both change **in place** (they are buffers of the method,
# saved in its checkpoints); return both. Store the keys' values, not their autograd graph, and raise a
# `ValueError` when the keys do not fit: another `D`, or more keys than the queue holds.

# %%
def enqueue(queue, ptr, keys):
    """Write keys (N, D) over the N oldest rows of queue (K, D), from row ptr on; advance ptr by N (mod K);
    return (queue, ptr)."""
    ### BEGIN SOLUTION
    if keys.dim() != 2 or keys.shape[1] != queue.shape[1] or len(keys) > len(queue):
        raise ValueError(f"keys of shape {tuple(keys.shape)} do not fit a queue of shape {tuple(queue.shape)}")
    rows = (ptr + torch.arange(len(keys), device=queue.device)) % len(queue)
    queue[rows] = keys.detach()
    ptr.copy_((ptr + len(keys)) % len(queue))
    return queue, ptr
    ### END SOLUTION


# %%
check_enqueue(enqueue)

# %% [markdown]
# ## 4. Compare with the course
# (This cell raises `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.methods.byol import byol_loss as course_byol_loss
from sslcourse.methods.moco import enqueue as course_enqueue

g = torch.Generator().manual_seed(0)
p1, p2, z1, z2 = (torch.randn(256, 128, generator=g) for _ in range(4))
print(f"BYOL loss: yours {float(byol_loss(p1, p2, z1, z2)):.5f}, the course's "
      f"{float(course_byol_loss(p1, p2, z1, z2)):.5f}")
mine, theirs = torch.zeros(10, 4), torch.zeros(10, 4)
ptr_mine, ptr_theirs = torch.tensor(7), torch.tensor(7)
enqueue(mine, ptr_mine, z1[:6, :4])
course_enqueue(theirs, ptr_theirs, z1[:6, :4])
print(f"queues equal: {torch.equal(mine, theirs)}; pointers {int(ptr_mine)} and {int(ptr_theirs)}")

# %% [markdown]
# ## Written answer (graded by hand): Why does BYOL not collapse?
# BYOL's loss is 0 for *any* network that maps every image to the same vector. (a) Lesson 06 removes the
# stop-gradient, the predictor and the momentum one at a time: which runs collapse there, and what does each piece
# change about the gradient the online network receives? (b) `fit` warns when the per-dimension std of the
# normalised embeddings falls below a tenth of $1/\sqrt{D}$. Suppose a run's embeddings end spread evenly round one
# circle — a 2-d plane of the $D = 128$ dimensions. What std does the check see, does it warn, and what would you
# check instead so that it does? (A few sentences.)

# %% [markdown]
# <!-- BEGIN SOLUTION -->
# *A model answer.* (a) Without the stop-gradient the loss is minimised by moving *both* branches, and the
# quickest way to make two outputs agree is to make them constant: that run's std falls to near 0, its effective
# rank to a few directions, and `fit` warns. With the stop-gradient the target is a fixed regression target at each
# step; the online network can only chase it, and the predictor — which must map the online projection onto the
# target's — keeps the two branches different functions, so agreeing is not free: without it the std falls to
# less than half (a partial collapse). The momentum only slows the target down: with the predictor and the
# stop-gradient kept, m = 0 still does not collapse in the quick profile (SimSiam's finding). (b) On the circle
# the two in-plane coordinates are $\cos\theta$ and $\sin\theta$ with $\theta$ uniform: std $1/\sqrt 2 \approx 0.71$
# each; the other 126 coordinates are 0. Averaged over the 128 dimensions that is $2 \cdot 0.71 / 128 \approx 0.011$
# — above the threshold $0.1/\sqrt{128} \approx 0.0088$, so `fit` does not warn, though the embeddings use 2 of 128
# directions. The std check catches complete collapse (every image on one point), not dimensional collapse. Check
# the effective rank of a batch's embeddings instead, or as well (here about 2: warn below, say, a tenth of $D$),
# or the share of the variance in the top few singular values — what the lesson's spectra show.
# <!-- END SOLUTION -->

# %% [markdown]
# ## Think about it
# * A queue of 4,096 keys filled by 2 × 64 keys per step (the quick recipe) holds the keys of the last 32 steps.
#   With $m = 0.99$, how far has the key encoder moved since the oldest of them was written (use the gap above)?
#   And with $m = 0$?
# * Why may `enqueue` not use `ptr.item()` on a GPU without cost? (Hint: what does the CPU have to wait for?)
