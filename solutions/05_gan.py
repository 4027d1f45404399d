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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/05_gan.ipynb)
#
# # Exercise 05 — GAN losses from logits
#
# The discriminator outputs a **logit** $\ell$; its probability that the input is real is $D = \sigma(\ell)$.
# Write the two GAN losses of lesson 05 in terms of logits, so that they stay finite however confident $D$ is:
#
# * discriminator: $-\,\mathbb E[\log D(x)] - \mathbb E[\log(1 - D(G(z)))]$
# * generator, non-saturating (the default): $-\,\mathbb E[\log D(G(z))]$; saturating (the minimax one):
#   $\mathbb E[\log(1 - D(G(z)))]$
#
# The identities you need: $\log\sigma(\ell) = -\mathrm{softplus}(-\ell)$ and $\log(1-\sigma(\ell)) = \log\sigma(-\ell)$
# = `F.logsigmoid(-ℓ)`. `sslcourse grade exercises/05_gan.ipynb` grades both functions.

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
from sslcourse.grading import check_discriminator_loss, check_generator_loss

p = lesson_setup()

# %% [markdown]
# First, see the problem: in float32, $\sigma(-200)$ rounds to 0 and its log is $-\infty$.

# %%
x = torch.tensor([-200.0, -50.0, 0.0, 50.0, 200.0])
print("log(sigmoid(x)):", torch.log(torch.sigmoid(x)).tolist())
print("F.logsigmoid(x):", F.logsigmoid(x).tolist())

# %% [markdown]
# ## 1. The discriminator's loss

# %%
def discriminator_loss(real_logits, fake_logits):
    """−mean log D(x) − mean log(1 − D(G(z))), from logits, finite for any logit."""
    ### BEGIN SOLUTION
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()
    ### END SOLUTION


# %%
check_discriminator_loss(discriminator_loss)

# %% [markdown]
# ## 2. The generator's loss

# %%
def generator_loss(fake_logits, non_saturating=True):
    """Non-saturating: −mean log D(G(z)); saturating: mean log(1 − D(G(z))). From logits."""
    ### BEGIN SOLUTION
    if non_saturating:
        return -F.logsigmoid(fake_logits).mean()
    return F.logsigmoid(-fake_logits).mean()
    ### END SOLUTION


# %%
check_generator_loss(generator_loss)

# %% [markdown]
# ## 3. Compare with the course's losses
# (This cell raises `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.methods import gan

real, fake = torch.randn(1000) * 10, torch.randn(1000) * 10
print(f"D loss: yours {float(discriminator_loss(real, fake)):.5f}, the course's {float(gan.discriminator_loss(real, fake)):.5f}")
print(f"G loss: yours {float(generator_loss(fake)):.5f}, the course's {float(gan.generator_loss(fake)):.5f}")

# %% [markdown]
# ## Think about it
# * At $\ell = -10$ (D is sure the image is fake), what are the gradients of the two generator losses with
#   respect to $\ell$? Which one lets the generator learn?
# * Why is the optimal discriminator's output $\tfrac12$ everywhere once $p_g = p_\text{data}$?
