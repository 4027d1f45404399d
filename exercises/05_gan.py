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
# > **Exercise notebook** generated from `solutions/05_gan.py` by `make exercises` — edit the solution, not this file. Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/05_gan.ipynb)
#
# # Exercise 05 — GAN losses from logits, and the value of the optimal discriminator
#
# The discriminator outputs a **logit** $\ell$; its probability that the input is real is $D = \sigma(\ell)$.
# Write the two GAN losses of lesson 05 in terms of logits, so that they stay finite however confident $D$ is;
# then compute the value of the game against the *optimal* discriminator, $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}$,
# on a grid — finite even where the densities underflow — and use it in a short experiment on what the generator
# can learn from a perfect discriminator. A written answer (marked by hand) asks what that means for training.
# `sslcourse grade exercises/05_gan.ipynb` grades the functions and lists your written answer for your teacher.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.grading import check_discriminator_loss, check_generator_loss, check_optimal_value

p = lesson_setup()

# %% [markdown]
# First, see the problem: in float32, $\sigma(-200)$ rounds to 0 and its log is $-\infty$.

# %%
x = torch.tensor([-200.0, -50.0, 0.0, 50.0, 200.0])
print("log(sigmoid(x)):", torch.log(torch.sigmoid(x)).tolist())

# %% [markdown]
# ## 1. The discriminator's loss
# $$L_D = -\,\mathbb E_x[\log D(x)] - \mathbb E_z[\log(1 - D(G(z)))]$$
# over a batch of real logits and a batch of fake logits. Two facts keep it finite: $1 - \sigma(\ell) =
# \sigma(-\ell)$, and the log of a sigmoid has a stable form in the library that never computes $\sigma$ first.

# %%
def discriminator_loss(real_logits, fake_logits):
    """−mean log D(x) − mean log(1 − D(G(z))), from logits, finite for any logit."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_discriminator_loss(discriminator_loss)

# %% [markdown]
# ## 2. The generator's loss
# Non-saturating (the default): $-\,\mathbb E_z[\log D(G(z))]$; saturating (the minimax one):
# $\mathbb E_z[\log(1 - D(G(z)))]$ — the same game, but a different gradient when $D$ wins.

# %%
def generator_loss(fake_logits, non_saturating=True):
    """Non-saturating: −mean log D(G(z)); saturating: mean log(1 − D(G(z))). From logits."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_generator_loss(generator_loss)

# %% [markdown]
# ## 3. The value against the optimal discriminator
# For a fixed generator, the best discriminator is $D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)}$
# (Goodfellow et al. 2014), and the game's value is then
# $$V(D^*, G) = \int p_\text{data}\log D^* + p_g \log(1 - D^*)\,dx = -\log 4 + 2\,\mathrm{JSD}(p_\text{data}\,\|\,p_g).$$
# On a 1-D grid of spacing `dx` the integral is a sum times `dx`. You get the **log**-densities on the grid, not the
# densities: far from its mean a Gaussian density rounds to 0 in float32, and $0 \cdot \log(0/0)$ is `nan`. Write
# $\log D^*$ and $\log(1 - D^*)$ from the log-densities alone (the log of a sum of two exponentials has a stable
# form); only the weights $p_\text{data}$ and $p_g$ themselves may underflow to 0 — they then rightly contribute 0.
# Return a 0-dim tensor, differentiable with respect to the inputs (the experiment below needs its gradient).

# %%
def optimal_value(log_p_data, log_p_g, dx):
    """V(D*, G) = Σ dx [p_data log D* + p_g log(1 − D*)] on a grid, from log-densities; finite where they underflow."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_optimal_value(optimal_value)

# %% [markdown]
# ## 4. Experiment: what does the generator learn from a perfect discriminator?
# $p_\text{data} = \mathcal N(0, 1)$ and a generator whose samples follow $p_g = \mathcal N(\mu, 1)$: its one
# parameter is $\mu$. Against the optimal discriminator the generator minimises $V(D^*, G)$, so its gradient is
# $\partial V / \partial \mu$, which autograd computes through your `optimal_value`. How large is that gradient as
# the generator starts farther from the data? (This cell raises `NotImplementedError` until your function is written.)

# %% tags=["raises-exception"]
grid = torch.linspace(-20.0, 60.0, 4001)
dx = float(grid[1] - grid[0])


def log_normal(x, mean):
    return -0.5 * (x - mean) ** 2 - 0.5 * math.log(2 * math.pi)


mus = [0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 12.0, 20.0, 30.0]
values, grads = [], []
for m in mus:
    mu = torch.tensor(m, requires_grad=True)
    v = optimal_value(log_normal(grid, 0.0), log_normal(grid, mu), dx)
    v.backward()
    v = v.detach()
    values.append(v.item())
    grads.append(float(mu.grad))
    print(f"μ = {m:>4}: V(D*, G) = {values[-1]:+.4f}   JSD = {(values[-1] + math.log(4)) / 2:.4f}   ∂V/∂μ = {grads[-1]:+.2e}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3))
axes[0].plot(mus, values, "o-")
axes[0].axhline(0.0, color="grey", lw=0.8)
axes[0].set(xlabel="μ (the generator's mean)", ylabel="V(D*, G)", title="value against the optimal D")
axes[1].semilogy(mus[1:], [abs(g) for g in grads[1:]], "o-")
axes[1].set(xlabel="μ", ylabel="|∂V/∂μ|", title="the generator's gradient")
plt.tight_layout()
plt.show()
claim("the value is finite for every μ", all(math.isfinite(v) for v in values), where="always")
claim("V = −log 4 when p_g = p_data", abs(values[0] + math.log(4)) < 1e-3, where="always")
claim("V grows as the generator moves away", all(a < b for a, b in zip(values, values[1:5])), where="always")
claim("far away V reaches 0 (JSD = log 2) and its gradient vanishes",
      abs(values[-1]) < 1e-4 and abs(grads[-1]) < 1e-6 < abs(grads[2]), where="always")

# %% [markdown]
# At $\mu = 0$ the generator matches the data and $V = -\log 4$. As $\mu$ grows, $V$ rises towards 0 (the JSD towards
# its maximum, $\log 2$) — and then stays there: once the two densities barely overlap, moving the generator changes
# nothing the value can see, and the gradient shrinks by orders of magnitude.

# %% [markdown]
# ## Written answer (graded by hand): What does the generator learn from a perfect discriminator?
# (a) Using the plot: what happens to the generator's gradient when its samples are far from the data and the
# discriminator is (near) optimal, and why? (b) Lesson 05 plots the log losses' derivatives with respect to the
# logit; its section 6 gives the hinge loss's formulas without them. Take one fake sample with logit
# $\ell = \ell(G(z))$: write $\partial L_G / \partial \ell$ for the non-saturating loss and for the hinge game, and
# $D$'s $\partial L_D / \partial \ell$ for that fake under the hinge loss, at $\ell = -10$ ($D$ rejects it
# confidently) and at $\ell = +3$ ($D$ is fooled). Which generator loss keeps pushing $G$ once $D$ is fooled, and
# what does $D$'s hinge do with a fake it already rejects beyond the margin? (c) In high dimensions, real images and
# early samples lie on thin, almost disjoint sets: what does that mean for the minimax game? (A few sentences.)

# %% [markdown]
# *Your answer here: double-click this cell and replace this line.*
