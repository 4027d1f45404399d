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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/notebooks/05_gan.ipynb)
#
# # 05 — GANs: the minimax game, DCGAN, and the discriminator as a feature learner
#
# A generator $G$ turns random noise into images; a discriminator $D$ tells real images from generated ones. Each
# trains against the other (Goodfellow et al. 2014). To spot fakes, $D$ must learn what real images look like —
# Radford, Metz & Chintala (2016) showed that its features are good for classification, with no labels at all.
#
# You will: derive the objective and its optimal discriminator, see why generators use the non-saturating loss,
# train a DCGAN sized for 32×32 with `fit` (two optimisers, one loop), watch samples improve, diagnose the classic
# failures, walk through the latent space, and evaluate the discriminator's features.

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
import math

import matplotlib.pyplot as plt
import torch

from sslcourse import show_source
from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data
from sslcourse.plots import show_images, show_rows

p = lesson_setup(PROFILE, seed=SEED)
train, test = load_profile_data(p)

# %% [markdown]
# ## 1. The minimax game
# $$\min_G \max_D \; V(D, G) = \mathbb E_{x\sim p_\text{data}}[\log D(x)] + \mathbb E_{z\sim p_z}[\log(1 - D(G(z)))]$$
# For a fixed $G$ with sample density $p_g$, $V$ is, point by point, $p_\text{data}(x)\log D(x) + p_g(x)\log(1-D(x))$;
# setting its derivative in $D(x)$ to zero gives the **optimal discriminator**
# $$D^*(x) = \frac{p_\text{data}(x)}{p_\text{data}(x) + p_g(x)} .$$
# Put back into $V$: $V(D^*, G) = -\log 4 + 2\,\mathrm{JSD}(p_\text{data}\,\|\,p_g)$ — against a perfect discriminator
# the generator minimises the Jensen–Shannon divergence, whose minimum ($p_g = p_\text{data}$, $D^* = \tfrac12$)
# is $-\log 4$. A one-dimensional check, with two Gaussians:

# %%
xs = torch.linspace(-6, 6, 4001, device="cpu")  # a one-dimensional check, no data involved
dx = xs[1] - xs[0]
for shift in (4.0, 1.0, 0.0):
    p_data = torch.exp(-0.5 * xs**2) / (2 * torch.pi) ** 0.5
    p_g = torch.exp(-0.5 * (xs - shift) ** 2) / (2 * torch.pi) ** 0.5
    d_star = p_data / (p_data + p_g)
    v = ((p_data * torch.log(d_star) + p_g * torch.log(1 - d_star)) * dx).sum()
    m = (p_data + p_g) / 2
    jsd = 0.5 * ((p_data * torch.log(p_data / m) + p_g * torch.log(p_g / m)) * dx).sum()
    print(f"generator off by {shift}: V(D*, G) = {v:+.4f},  -log 4 + 2 JSD = {-math.log(4.0) + 2 * jsd:+.4f}")

# %% [markdown]
# ### Why the generator uses the non-saturating loss
# Early in training $D$ easily rejects the fakes: $D(G(z)) \approx 0$. There, the minimax generator loss
# $\log(1 - D(G(z)))$ is flat — its gradient vanishes exactly when $G$ most needs it. Goodfellow et al. had $G$
# maximise $\log D(G(z))$ instead (minimise $-\log D(G(z))$): same fixed point, strong gradient when $G$ is bad.

# %%
d = torch.linspace(0.001, 0.999, 500, device="cpu")  # for a plot
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
axes[0].plot(d, torch.log(1 - d), label="saturating: log(1 − D(G(z)))")
axes[0].plot(d, -torch.log(d), label="non-saturating: −log D(G(z))")
axes[0].set_xlabel("D(G(z))")
axes[0].set_title("generator losses")
axes[0].legend(fontsize=8)
logit = torch.logit(d)  # gradients with respect to D's logit, what back-propagates into G
axes[1].plot(d, torch.sigmoid(logit).neg(), label="saturating: −σ(ℓ)")
axes[1].plot(d, torch.sigmoid(logit) - 1, label="non-saturating: σ(ℓ) − 1")
axes[1].set_xlabel("D(G(z))")
axes[1].set_title("gradient w.r.t. D's logit")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Both losses are computed **from logits** with `softplus`, never as `log(sigmoid(ℓ))`, which is $-\infty$ once
# $\sigma(\ell)$ rounds to 0:

# %%
from sslcourse.methods.gan import discriminator_loss, generator_loss

show_source(discriminator_loss)
extreme = torch.tensor([-200.0], device="cpu")
print("naive −log σ(−200):", -torch.log(torch.sigmoid(extreme)).item(),
      "  via softplus:", generator_loss(extreme).item())

# %% [markdown]
# ## 2. A DCGAN for 32×32
# Radford et al.'s rules: strided (transposed) convolutions instead of pooling, batch norm in both networks
# (not on D's input nor G's output), ReLU in $G$ and LeakyReLU in $D$, **tanh** at $G$'s output — so real images
# must be scaled to $[-1, 1]$ as well, or $D$ tells real from fake by their range alone.

# %%
from sslcourse.runs import plan_run

run = plan_run("gan", p, train, seed=SEED)
recipe = run.recipe
method = run.build()
print(recipe)
z = torch.randn(4, method.z_dim, device=p.device)
h = z.view(4, -1, 1, 1)
for layer in method.generator.net:
    h = layer(h)
    if isinstance(layer, torch.nn.ConvTranspose2d):
        print(f"G {type(layer).__name__}: {tuple(h.shape)}")
for stage in method.discriminator.stages:
    h = stage(h)
    print(f"D stage: {tuple(h.shape)}")
print("D logit:", tuple(method.discriminator.head(h).view(-1).shape), "| G output range:",
      f"[{method.generator(z).min():.2f}, {method.generator(z).max():.2f}]")

# %% [markdown]
# ## 3. Training: two optimisers, one loop
# The method declares two optimisers (Adam, lr 2·10⁻⁴, β₁ = 0.5, as in DCGAN); `fit` steps them in turn on every
# batch — first $D$ on real images and detached fakes, then $G$ through $D$. A fixed batch of noise, sampled after
# every epoch, shows the generator's progress.

# %%
show_source(type(method).training_step)

# %%
from sslcourse.train import fit

fixed_z = torch.randn(16, method.z_dim, generator=torch.Generator("cpu").manual_seed(0)).to(p.device)
samples_per_epoch = []


def sample_fixed(method):
    method.eval()
    with torch.no_grad():
        samples_per_epoch.append(method.sample(16, fixed_z).float().cpu())
    return {}


history = fit(method, train, **run.fit_kwargs(), eval_fn=sample_fixed)  # a rerun loads it (lesson 06 too)
if not samples_per_epoch:  # loaded from the checkpoint: only the final generator to show
    sample_fixed(method)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
history.plot(["loss_d", "loss_g"], ax=axes[0])
history.plot(["d_real", "d_fake"], ax=axes[1])
axes[1].axhline(0.5, ls="--", color="gray")
axes[1].set_title("D(x) on real and D(G(z)) on fake")
plt.show()
show_rows({f"epoch {i + 1}" if len(samples_per_epoch) > 1 else "final": s[:10]
           for i, s in enumerate(samples_per_epoch)}, ncols=10, scale=1.0)
plt.show()

# %% [markdown]
# Under a minute of CPU training gives scenes, not photographs: a horizon or a wallpaper pattern, ground below, blobs
# standing on it. Look at the first row too: after one epoch all samples look alike — an early, passing mode
# collapse. On a GPU, the `gpu` profile trains on CIFAR-10, and the `full` profile far longer.
#
# Next to real images:

# %%
show_rows({"generated": method.sample(10).cpu(), "real": test.images[:10]}, ncols=10, scale=1.0)
plt.show()

# %% [markdown]
# ## 4. How GANs fail
# **Mode collapse** — the generator finds a few images that fool $D$ and produces only those. It shows as samples
# that look alike. Measure it: the mean distance between pairs of samples, next to the same for real images.

# %%
def diversity(images):
    flat = images.float().flatten(1)
    return torch.cdist(flat, flat).sum() / (len(flat) * (len(flat) - 1))


with torch.no_grad():
    fake = method.sample(256).float().cpu()
real = test.images[:256].float() / 255
print(f"mean pairwise distance: generated {diversity(fake):.2f}, real {diversity(real):.2f} "
      "(a collapsed generator scores near 0)")

# %% [markdown]
# **A discriminator that wins too fast** — give $D$ a learning rate ten times $G$'s and $D(G(z))$ drops to ~0 within
# a few hundred steps; with a weak generator signal, $G$ then learns little. A short run shows the imbalance:

# %%
quarter = train.subset(len(train) // 4, seed=SEED)
run_sd = plan_run("gan", p, quarter, seed=SEED, epochs=recipe["ablation_epochs"], lr_d=2e-3, lr_g=2e-4)
h_sd = run_sd.fit(run_sd.build(), quarter, progress=False)
run_b = plan_run("gan", p, quarter, seed=SEED, epochs=recipe["ablation_epochs"])
h_b = run_b.fit(run_b.build(), quarter, progress=False)
for name, hh in [("lr_D = 10 × lr_G", h_sd), ("balanced", h_b)]:
    print(f"{name:<18} D(G(z)) = {hh.last('d_fake'):.3f}   D(x) = {hh.last('d_real'):.3f}   "
          f"G loss = {hh.last('loss_g'):.2f}")

# %% [markdown]
# ## 5. Walking through the latent space
# Interpolate between two noise vectors: a smooth change of the image means $G$ has organised its latent space,
# rather than memorising separate pictures.

# %%
z0, z1 = torch.randn(2, method.z_dim, generator=torch.Generator("cpu").manual_seed(3)).to(p.device)
ts = torch.linspace(0, 1, 10, device=p.device).view(-1, 1)
with torch.no_grad():
    walk = method.sample(10, (1 - ts) * z0 + ts * z1).cpu()
show_images(walk, ncols=10, scale=1.0, titles=[f"t={t:.1f}" for t in ts.view(-1)])
plt.show()

# %% [markdown]
# ## 6. The discriminator as a feature extractor
# Following Radford et al., each of $D$'s stages is max-pooled to a 2×2 grid and the three are concatenated. We
# compare it with the *same* architecture at random init, and — for scale — with the course's backbone baselines.

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.plots import plot_bars, results_table
from sslcourse.runs import baseline

random_d = plan_run("gan", p, train, seed=SEED + 1).build()  # built, never trained
results = {
    "random-init D": evaluate_encoder(random_d.encoder.to(p.device), train, test),
    "GAN discriminator": evaluate_encoder(method.encoder, train, test),
    "random-init backbone": baseline("random", p, train, test, seed=SEED),
    "supervised backbone": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["GAN discriminator"]["linear_probe_accuracy"] - results["random-init D"]["linear_probe_accuracy"]
print(f"\ndiscriminator vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
plot_bars(results, title="the discriminator's features")
plt.show()

# %% [markdown]
# ## What to try next
# * `non_saturating=False` in `plan_run("gan", p, train, ...)`: watch `loss_g` and the samples stall.
# * Change `lr_d` and `lr_g`, or the batch size; which setting keeps D(x) and D(G(z)) apart but not at 1 and 0?
# * **Exercise 05** (`exercises/05_gan.ipynb`): write `discriminator_loss` and `generator_loss` from logits.
#
# **What failure looks like:** D(x) → 1 and D(G(z)) → 0 with a growing G loss (D wins; G gets no signal);
# every sample the same picture (mode collapse — check the diversity); samples with the right layout but wrong
# colour range (real images left in [0, 1] while G's tanh outputs [−1, 1]); `nan` losses (a `log(sigmoid)` somewhere).

# %%
from sslcourse.course import record_results

record_results("05_gan", {k: results[k] for k in ("random-init D", "GAN discriminator")},
               profile=p.name, dataset=train.name)
