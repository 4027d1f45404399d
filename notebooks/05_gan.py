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
# # 05 — GANs: the minimax game, DCGAN, measuring samples, and the discriminator as a feature learner
#
# A generator $G$ turns random noise into images; a discriminator $D$ tells real images from generated ones. Each
# trains against the other (Goodfellow et al. 2014). To spot fakes, $D$ must learn what real images look like —
# Radford, Metz & Chintala (2016) showed that its features are good for classification, with no labels at all.
#
# You will: derive the objective and its optimal discriminator, see why generators use the non-saturating loss,
# fix the checkerboard that DCGAN's upsampling paints, **measure** samples the way the field does (a Fréchet
# distance, precision and recall, in the features of the course's own supervised network), train a DCGAN with
# `fit` (two optimisers, one loop), provoke the classic failures and watch the measures catch them, meet the
# stabilisers practitioners reach for first, walk through the latent space, and evaluate the discriminator's
# features.

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
SEED = int(os.environ.get("SSLCOURSE_SEED", 0))  # the lesson's claims hold for seeds 0, 1, 2 (BENCHMARKS.md)

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from matplotlib.ticker import MaxNLocator

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data
from sslcourse.plots import encoder_colour, show_images, show_rows

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
# is $-\log 4$. A one-dimensional check, with two Gaussians on a grid: the integral becomes a sum over the grid
# points times their spacing. First the formula exactly as written, in float32 and in float64:

# %%
xs = torch.linspace(-12, 12, 12001, dtype=torch.float64, device="cpu")  # a one-dimensional check, no data involved
dx = xs[1] - xs[0]


def gaussian(mean, dtype):
    return (torch.exp(-0.5 * (xs - mean) ** 2) / math.sqrt(2 * math.pi)).to(dtype)


def value_as_written(p_data, p_g):
    """V(D*, G) on the grid, the formula as written: D* = p_data / (p_data + p_g), then log D* and log(1 − D*)."""
    d_star = p_data / (p_data + p_g)
    return ((p_data * torch.log(d_star) + p_g * torch.log(1 - d_star)) * dx).sum().item()


naive = {dtype: value_as_written(gaussian(0.0, dtype), gaussian(4.0, dtype)) for dtype in (torch.float32, torch.float64)}
for dtype, v in naive.items():
    print(f"{str(dtype):<14} generator off by 4: V(D*, G) = {v}")
claim("the formula as written is not finite, in float32 or float64", not any(math.isfinite(v) for v in naive.values()),
      got=str(list(naive.values())), where="always")

# %% [markdown]
# Neither is a number. Where $p_g \ll p_\text{data}$ (the left edge: at $x = -12$, $p_g / p_\text{data} = e^{-56}
# \approx 5\cdot10^{-25}$), $D^*$ rounds to exactly 1, so $1 - D^*$ is 0 and its log $-\infty$ — float64 only moves the
# edge, since its precision stops near $10^{-16}$. The cure is algebra, not bits: $1 - D^* = p_g / (p_\text{data} +
# p_g)$, a ratio that never subtracts. In float32 $p_g$ itself still rounds to 0 there ($e^{-128}$ is below float32's
# smallest number, $\approx 10^{-45}$), so the check below uses the ratio form in float64, which holds every density on
# this grid, and compares it with $-\log 4 + 2\,\mathrm{JSD}$, the JSD computed on its own. (Where even float64
# densities underflow — a wider grid, sharper densities — one works with log-densities throughout: that is part of
# **exercise 05**.)

# %%
p_data = gaussian(0.0, torch.float64)
check = {}
for shift in (4.0, 1.0, 0.0):
    p_g = gaussian(shift, torch.float64)
    total = p_data + p_g
    v = ((p_data * torch.log(p_data / total) + p_g * torch.log(p_g / total)) * dx).sum().item()  # D*, 1 − D* as ratios
    m = total / 2  # the mixture
    jsd = 0.5 * ((p_data * torch.log(p_data / m) + p_g * torch.log(p_g / m)) * dx).sum().item()
    check[shift] = (v, -math.log(4) + 2 * jsd)
    print(f"generator off by {shift}: V(D*, G) = {v:+.6f},  -log 4 + 2 JSD = {check[shift][1]:+.6f}")

# %%
claim("V(D*, G) = -log 4 + 2 JSD, numerically (to 1e-6, every value finite)",
      max(abs(v - rhs) if math.isfinite(v) else math.inf for v, rhs in check.values()), "<", 1e-6, fmt="{:.1e}",
      where="always")
claim("the minimum, at p_g = p_data, is -log 4", abs(check[0.0][0] + math.log(4)) < 1e-6
      and check[4.0][0] > check[1.0][0] > check[0.0][0], got=f"V = {check[0.0][0]:+.6f} at p_g = p_data",
      where="always")

# %% [markdown]
# ### Why the generator uses the non-saturating loss
# Early in training $D$ easily rejects the fakes: $D(G(z)) \approx 0$. There, the minimax generator loss
# $\log(1 - D(G(z)))$ is flat — its gradient vanishes exactly when $G$ most needs it. Goodfellow et al. had $G$
# maximise $\log D(G(z))$ instead (minimise $-\log D(G(z))$): same fixed point, strong gradient when $G$ is bad.

# %%
d = torch.linspace(0.001, 0.999, 500, device="cpu")  # for a plot
fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
# black and grey: no method's colour (the course's colours name encoders)
axes[0].plot(d, torch.log(1 - d), color="0.55", linestyle="--", label="saturating: log(1 − D(G(z)))")
axes[0].plot(d, -torch.log(d), color="black", label="non-saturating: −log D(G(z))")
axes[0].set_xlabel("D(G(z))")
axes[0].set_ylabel("generator loss")
axes[0].set_title("generator losses")
axes[0].legend(fontsize=8)
logit = torch.logit(d)  # gradients with respect to D's logit, what back-propagates into G
axes[1].plot(d, torch.sigmoid(logit).neg(), color="0.55", linestyle="--", label="saturating: −σ(ℓ)")
axes[1].plot(d, torch.sigmoid(logit) - 1, color="black", label="non-saturating: σ(ℓ) − 1")
axes[1].set_xlabel("D(G(z))")
axes[1].set_ylabel("∂ loss / ∂ logit")
axes[1].set_title("gradient w.r.t. D's logit")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# $D$ outputs a **logit** $\ell$, with $D = \sigma(\ell)$. Both losses are computed from logits, in a form that never
# computes $\sigma(\ell)$ first — never as `log(sigmoid(ℓ))`, which is $-\infty$ once $\sigma(\ell)$ rounds to 0.
# Finding that form and writing `discriminator_loss` and `generator_loss` with it is **exercise 05**; here is how
# the course's versions behave at an extreme logit:

# %%
from sslcourse.methods.gan import discriminator_loss, generator_loss

extreme = torch.tensor([-200.0], device="cpu")  # D is certain the sample is fake
naive = -torch.log(torch.sigmoid(extreme)).item()
print(f"naive −log σ(−200): {naive}   generator_loss: {generator_loss(extreme).item()}   "
      f"discriminator_loss(200, −200): {discriminator_loss(-extreme, extreme).item()}")
claim("log(sigmoid(ℓ)) is -inf once σ(ℓ) rounds to 0, the logit form is finite",
      not math.isfinite(naive) and math.isfinite(generator_loss(extreme).item()), where="always")

# %% [markdown]
# ## 2. A DCGAN for 32×32
# Radford et al.'s rules: strided convolutions instead of pooling, batch norm in both networks (not on D's input
# nor G's output), ReLU in $G$ and LeakyReLU in $D$, **tanh** at $G$'s output — so real images must be scaled to
# $[-1, 1]$ as well, or $D$ tells real from fake by their range alone. $G$ doubles the resolution three times:
# 4 → 8 → 16 → 32.

# %%
from sslcourse.runs import plan_run

run = plan_run("gan", p, train, seed=SEED)
recipe = run.recipe
method = run.build()
print(run)
z = torch.randn(4, method.z_dim, device=p.device)
h = z.view(4, -1, 1, 1)
for layer in method.generator.net:
    h = layer(h)
    if isinstance(layer, (torch.nn.ReLU, torch.nn.Tanh)):
        print(f"G block: {tuple(h.shape)}")
for stage in method.discriminator.stages:
    h = stage(h)
    print(f"D stage: {tuple(h.shape)}")
print("D logit:", tuple(method.discriminator.head(h).view(-1).shape), "| G output range:",
      f"[{method.generator(z).min():.2f}, {method.generator(z).max():.2f}]")

# %% [markdown]
# ### Upsampling: a checkerboard, and its fix
# **The code as written** (DCGAN): each doubling is a transposed convolution,
# `nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)`.
#
# **What happens.** Even an *untrained* generator paints a fine checkerboard over everything it draws, which
# training then has to unlearn. Measure it as the power of the images at the checkerboard
# frequency — a pattern that flips sign at every pixel, $(-1)^{i+j}$ — divided by the power at the frequencies
# next to it: about 1 for real images, far above 1 for a checkerboard.
#
# **Why.** A stride-2 transposed convolution computes the four pixels of each 2×2 output block with four different
# 2×2 slices of its 4×4 kernel. Nothing ties the four slices together, so neighbouring pixels differ
# systematically, block after block (Odena, Dumoulin & Olah 2016, "Deconvolution and checkerboard artifacts").
#
# **The fix.** Resize, then convolve: nearest-neighbour ×2 makes the four pixels of a block equal — no checkerboard
# at all — and a 3×3 convolution then treats every pixel alike. The course's generator does that
# (`upsample="resize"`). Both, untrained, on the same noise:

# %%
from sslcourse.generative import checkerboard
from sslcourse.models import Generator

z16 = torch.randn(256, method.z_dim, generator=torch.Generator("cpu").manual_seed(1)).to(p.device)
untrained = {}
for upsample in ("transposed", "resize"):
    torch.manual_seed(SEED)
    with torch.no_grad():
        untrained[upsample] = Generator(method.z_dim, recipe["width"], upsample).to(p.device)(z16).cpu()


def stretch(x):  # each image to the full [0, 1] range: untrained outputs are nearly flat
    low, high = x.amin((1, 2, 3), keepdim=True), x.amax((1, 2, 3), keepdim=True)
    return (x - low) / (high - low)


show_rows({f"{k}\n(untrained)": stretch(v[:8]) for k, v in untrained.items()}, ncols=8, scale=1.0)
plt.show()
board = {k: checkerboard(v) for k, v in untrained.items()} | {"real": checkerboard(test.images[:256])}
print("power at the checkerboard frequency / next to it:", {k: round(v, 2) for k, v in board.items()})

# %%
claim("an untrained transposed-conv generator paints a checkerboard (power over 5 times real images')",
      board["transposed"] / board["real"], ">", 5, fmt="{:.1f}×", where="any")
claim("an untrained resize + conv generator does not (power below real images')", board["resize"], "<",
      board["real"], fmt="{:.2f}", where="any")

# %% [markdown]
# ## 3. Measuring samples: a Fréchet distance, precision and recall
# Looking at samples is necessary and not enough: a picture of 16 samples cannot tell variety from noise, nor
# show a collapse onto a few kinds of image. The field measures how close the samples are to real images, and
# so do we — in the features of the course's **supervised** network of lesson 00 (its checkpoint is reused;
# nothing is downloaded):
#
# * **Fréchet distance** (Heusel et al. 2017; "FID" with Inception-v3's features). Fit a Gaussian to the encoder's
#   features of real images, $(\mu_r, \Sigma_r)$, and one to those of generated images, $(\mu_g, \Sigma_g)$:
#   $$d^2 = \lVert\mu_r - \mu_g\rVert^2 + \operatorname{Tr}\big(\Sigma_r + \Sigma_g - 2\,(\Sigma_r^{1/2}\Sigma_g\Sigma_r^{1/2})^{1/2}\big).$$
#   It is the squared distance between the means plus how differently the two clouds spread: low only when samples
#   look like real images *and* vary like them. With finitely many samples it is biased upwards — two sets of
#   real images give the floor. Lower is better; values compare within the course only (other features than FID's).
# * **Precision and recall** (Kynkäänniemi et al. 2019) split that one number in two. Around each real image's
#   features draw a ball reaching to its 3rd-nearest real neighbour: their union is an estimate of where real
#   images live. **Precision** is the share of samples that fall inside it (do they look real?); **recall** the
#   share of real images that fall inside the same kind of union built around the samples (can the generator make
#   every kind of real image?). Both lie between 0 and 1; a collapsed generator keeps its precision and loses its
#   recall.
#
# A measure is only as good as its scores on images we know the answer for: real images other than the reference
# set (1,000 training images, against the test split) must score well, noise and an untrained generator badly. Why not simply ask the supervised classifier whether it recognises a
# sample? Because a classifier can be confident about images unlike any it was trained on — the last column shows
# how often it is sure (top probability at least 0.5) about each set.

# %%
from sslcourse.runs import gan_judge, gan_scored_samples

# lesson 00's supervised run (loaded when it ran before), read out by the linear probe; real reference: the test split
judge = gan_judge(p, train, test, seed=SEED)
N_SCORED = gan_scored_samples(train, test)  # 1,000
score = judge.monitor(N_SCORED, seed=SEED)  # scores method.sample(N_SCORED, z), the same z every time
random_gan = plan_run("gan", p, train, seed=SEED + 1).build()  # built, never trained (its D serves in section 8)
noise = torch.rand(N_SCORED, *train.images.shape[1:], generator=torch.Generator("cpu").manual_seed(SEED))
references = {"real images": judge.score(train.images[:N_SCORED]), "uniform noise": judge.score(noise),
              "random-init G": score(random_gan)}
real_scores = references["real images"]
for name, s in references.items():
    print(f"{name:<14} Fréchet distance {s['fd']:7.2f}   precision {s['precision']:.2f}   recall {s['recall']:.2f}"
          f"   (the classifier is sure about {s['recognised']:.0%})")

# %%
claim("real images score high precision and recall (both above 0.7)", min(real_scores["precision"],
      real_scores["recall"]), ">", 0.7, fmt="{:.2f}")
claim("noise and the random-init generator score a recall below 0.1",
      max(references[o]["recall"] for o in ("uniform noise", "random-init G")), "<", 0.1, fmt="{:.2f}")
claim("real images' Fréchet distance (the floor) is under a tenth of noise's and the random-init generator's",
      real_scores["fd"] / min(references[o]["fd"] for o in ("uniform noise", "random-init G")), "<", 0.1,
      fmt="{:.3f}×")

# %% [markdown]
# Real images lie on their own manifold and cover it (precision and recall near 0.9 in the table; not 1, since
# 1,000 images only sketch it); noise and an untrained generator cover almost none of it (recall near 0), and
# their Fréchet distance is many times the floor. Precision alone can be fooled: an untrained generator paints
# nearly the same image a thousand times, and wherever that one image lands, all its samples land with it — in
# some runs inside the ball of a real image, for a precision near 1 beside a recall near 0 (read the random-init
# G's row above; if this run is not one of them, try another `SSLCOURSE_SEED`). That is mode collapse at its most
# extreme; read precision with recall. Compare the last column across seeds
# too: how sure the classifier is about noise and the untrained generator's blobs swings from run to run, at times
# above its confidence about real images. Confidence is not realism, so the course measures with the three numbers
# above.

# ## 4. Training: two optimisers, one loop
# The method declares two optimisers (Adam, β₁ = 0.5, as in DCGAN); `fit` steps them in turn on every batch —
# first $D$ on real images and detached fakes, then $G$ through $D$. After every epoch we sample a fixed batch of
# noise for the pictures, and score 1,000 samples: Fréchet distance, precision and recall.

# %%
fixed_z = torch.randn(16, method.z_dim, generator=torch.Generator("cpu").manual_seed(0)).to(p.device)
samples_per_epoch = []


def each_epoch(method):
    method.eval()
    with torch.no_grad():
        samples_per_epoch.append(method.sample(16, fixed_z).float().cpu())
    return score(method)


history = run.fit(method, train, eval_fn=each_epoch)  # a rerun loads it (lesson 08 too)
if not samples_per_epoch:  # loaded from its checkpoint, which holds every epoch's scores (`lesson_monitor`)
    scored = sum("fd" in row for row in history.epochs)  # (one trained before the monitor existed holds none)
    history.epochs[-1].update(each_epoch(method))  # but no pictures: the final generator's, scored again
    print(f"loaded from its checkpoint, with the scores of {scored} of its {len(history.epochs)} epochs"
          + ("" if scored == len(history.epochs) else " (delete it to train again and watch every epoch)")
          + "; the pictures below are the final generator's only")
final = {k: history.last(k) for k in ("fd", "precision", "recall")}

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 3.2))
history.plot(["loss_d", "loss_g"], ax=axes[0], colour=encoder_colour("gan"))  # the GAN's colour, as in section 8
history.plot(["d_real", "d_fake"], ax=axes[1], colour=encoder_colour("gan"))
axes[1].axhline(0.5, ls="--", color="gray")
axes[1].set_title("D(x) on real and D(G(z)) on fake")
epochs, fd = history.series("fd", per="epochs")
lines = axes[2].plot(epochs, fd, "o-", color=encoder_colour("gan"), label="Fréchet distance (left)")
lines.append(axes[2].axhline(real_scores["fd"], ls=":", color="gray", label="real images (floor)"))
axes[2].set_xlabel("epoch")
axes[2].xaxis.set_major_locator(MaxNLocator(integer=True))  # one point per epoch
right = axes[2].twinx()
axes[2].set_ylabel("Fréchet distance")
for key, style, colour in (("precision", "s--", "0.25"), ("recall", "^--", "0.6")):
    lines += right.plot(*history.series(key, per="epochs"), style, color=colour, label=f"{key} (right)")
right.set_ylim(0, 1.05)
right.set_ylabel("precision, recall")
axes[2].legend(handles=lines, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
axes[2].set_title("sample quality per epoch")
plt.tight_layout()
plt.show()
show_rows({f"epoch {i + 1}" if len(samples_per_epoch) > 1 else "final": s[:10]
           for i, s in enumerate(samples_per_epoch)}, ncols=10, scale=1.0)
plt.show()

# %% [markdown]
# **Reading the curves.** $D(x) = D(G(z)) = \tfrac12$ is where the game ends only if $G$ matched the data exactly,
# and at a lesson's budget it does not. In the quick profile's runs $D$ wins a little more every epoch: $D(x)$
# climbs, $D(G(z))$ sinks (its epoch mean ends lower than it started, but well above 0) and $G$'s loss
# $-\log D(G(z))$ grows with it. That is not failure by itself: with the non-saturating loss (section 1) $G$'s
# gradient is largest exactly when $D(G(z))$ is small, and in the quick profile the samples keep improving — the
# Fréchet distance falls, below. Failure is $D(G(z))$ pinned near 0 while the distance stops falling (section 5's
# fast $D$ shows the first half of it: $D$ pulling ahead). On CIFAR-10 (one gpu-profile run) the distance fell for about ten epochs and then levelled off,
# with spikes in $D$'s loss: the sign to stop, or to reach for the stabilisers of section 6.

# %%
d_fake = history.series("d_fake", per="epochs")[1]
print(f"D(G(z)) per epoch: {', '.join(f'{v:.2f}' for v in d_fake)}; D(x) in the last epoch {history.last('d_real'):.2f}")
claim("D(G(z))'s epoch mean ends lower than it started", d_fake[-1], "<", d_fake[0], fmt="{:.2f}")
claim("D(G(z)) stays well above 0 (its last epoch's mean above 0.05)", d_fake[-1], ">", 0.05, fmt="{:.2f}")
claim("D ends ahead: D(x) above D(G(z)) in the last epoch", history.last("d_real"), ">", d_fake[-1], fmt="{:.2f}")

# %%
print(f"Fréchet distance per epoch: {', '.join(f'{v:.1f}' for v in fd)}; precision {final['precision']:.2f}, "
      f"recall {final['recall']:.2f} (real images {real_scores['precision']:.2f}, {real_scores['recall']:.2f})")
if len(fd) > 1:  # scored after every epoch (a checkpoint trained without the monitor holds the last one only)
    claim("the Fréchet distance falls by more than a quarter during training", fd[-1] / fd[0], "<", 0.75,
          fmt="{:.2f}×")  # to 0.30-0.45× of its first epoch with seeds 0-1, 0.63× with seed 2 (fp32)
claim("the distance stays more than 5 times the floor of real images", final["fd"] / real_scores["fd"], ">", 5,
      fmt="{:.0f}×")
claim("most samples land on the real images' manifold (precision above 0.5)", final["precision"], ">", 0.5,
      fmt="{:.2f}")
claim("recall stays below real images'", final["recall"], "<", real_scores["recall"], fmt="{:.2f}")

# %% [markdown]
# What does training buy? The same network at a random initialisation (section 3's untrained generator; another
# draw of the weights than the one training started from), scored on the same noise — the baseline every number
# above should be read against:

# %%
untrained_scores = references["random-init G"]
with torch.no_grad():
    trained_board = checkerboard(method.sample(256, z16).cpu())
for name, s in {"random-init G": untrained_scores, "trained G": final, "real images": real_scores}.items():
    print(f"{name:<14} Fréchet distance {s['fd']:7.2f}   precision {s['precision']:.2f}   recall {s['recall']:.2f}")
print(f"checkerboard power of the trained generator's samples {trained_board:.2f} (real images {board['real']:.2f})")

# %%
claim("training more than halves the Fréchet distance of the random-init generator", final["fd"] / untrained_scores["fd"],
      "<", 0.5, fmt="{:.2f}×")
claim("training lifts recall above the random-init generator's", final["recall"], ">", untrained_scores["recall"],
      fmt="{:.2f}")
claim("the trained resize-conv generator paints no checkerboard (power within 2× of real images')",
      trained_board / board["real"], "<", 2, fmt="{:.2f}×")

# %% [markdown]
# Look at the last row: on `shapes`, mostly blobs of colour, in a few a horizon between ground and sky — no learner
# would mistake them for the real scenes yet. The numbers say the same and say more. Over training the Fréchet distance fell to
# between 0.3 and 0.65 of its first epoch's in our runs (seeds 0–2, bf16 and fp32), and far below the random-init
# generator's (the table above: less than half of it); most samples now land on the real images' manifold (precision above 0.5). Recall stays below real
# images': the generator makes some kinds of image and misses others. The distance stays some 45 to 65 times the
# floor of real images (this run's factor is printed above): these are not yet real-looking images. No checkerboard either: the trained generator's power at the checkerboard frequency stays
# within twice that of real images. BENCHMARKS.md has the figures of other recipes and of DCGAN as published
# (transposed convolutions).
#
# Are they copies? Each sample next to its nearest training image (in pixels):

# %%
from sslcourse.generative import nearest_real

with torch.no_grad():
    shown = method.sample(10, torch.randn(10, method.z_dim, generator=torch.Generator("cpu").manual_seed(2))).cpu()
nearest = train.images[nearest_real(shown, train.images)].cpu()  # shown is on the CPU: compare there
show_rows({"generated": shown, "nearest\ntraining image": nearest}, ncols=10, scale=1.0)
plt.show()
gap = (shown - nearest.float() / 255).flatten(1).norm(dim=1)
real10 = test.images[:10]
test_gap = (real10.float() - train.images[nearest_real(real10, train.images)].float()).flatten(1).norm(dim=1).cpu() / 255
print(f"pixel distance to the nearest training image: samples {gap.min():.1f}–{gap.max():.1f}, "
      f"real test images {test_gap.min():.1f}–{test_gap.max():.1f}")
claim("no sample is a copy of a training image (each is farther from it than half a real image's distance)",
      gap.min().item(), ">", 0.5 * test_gap.median().item(), fmt="{:.1f}", where="any")

# %% [markdown]
# ## 5. How GANs fail — and how the measures see it
# ### Mode collapse
# **The code as written**: a training loop in which $D$ stops learning — here its learning rate is 0 — while $G$
# goes on, starting from the trained pair above, for `recipe["ablation_epochs"]` epoch(s) on a quarter of the data.
# The control is the same run with $D$ still learning: the two differ in nothing else.
#
# **What happens**: against the frozen $D$ the samples drift towards the kinds of image that this $D$ likes best,
# and recall — how much of the real data the samples cover — ends below the control's, a game still played (which
# in our runs even gained recall). In so short a run precision can fall too,
# and the Fréchet distance moves less clearly: read the three numbers printed below. Give the frozen-$D$ run more
# epochs and watch its samples narrow further.

# %%
import copy

from sslcourse.train import fit

quarter = train.subset(len(train) // 4, seed=SEED)
more = {}
for name, lr_d in (("D frozen", 0.0), ("D learning (control)", recipe["lr_d"])):
    pair = copy.deepcopy(method)
    pair.lr_d = lr_d  # 0: the bug, D no longer learns
    fit(pair, quarter, recipe["ablation_epochs"], batch_size=recipe["batch_size"], device=p.device, amp=p.amp,
        seed=SEED, progress=False)
    more[name] = pair
collapsed, control = score(more["D frozen"]), score(more["D learning (control)"])
with torch.no_grad():
    show_rows({"trained pair": method.sample(10, fixed_z[:10]).cpu(),
               **{name: pair.sample(10, fixed_z[:10]).cpu() for name, pair in more.items()}}, ncols=10, scale=1.0)
plt.show()
for name, s_ in {"trained pair": final, "D frozen": collapsed, "D learning (control)": control}.items():
    print(f"{name:<21} recall {s_['recall']:.2f}   precision {s_['precision']:.2f}   Fréchet distance {s_['fd']:.1f}")
claim("with D frozen, recall ends below the control's, which trained as long with D learning", collapsed["recall"],
      "<", control["recall"], fmt="{:.2f}")

# %% [markdown]
# **Why**: against a fixed $D$, the generator's loss $-\log D(G(z))$ is smallest when *every* $z$ maps to the one
# image $x^* = \arg\max_x D(x)$ that $D$ likes best. Nothing in $G$'s loss rewards variety; only $D$'s reply —
# learning to reject $x^*$ — pushes $G$ elsewhere. In a real run the same happens, more slowly, whenever $D$ reacts
# too late: $G$ hops from mode to mode.
#
# **The fix**: keep the game a game — $D$ learning as fast as $G$, as in the recipe. Remedies for stubborn cases
# let $D$ see many samples at once (minibatch discrimination, Salimans et al. 2016) or penalise a sharp $D$.
#
# ### A discriminator that wins too fast
# **The code as written**: give $D$ a learning rate ten times $G$'s.
#
# **What happens**: $D(G(z))$ sinks lower and the generator's loss grows; trained from scratch on an eighth of the
# data for a short run, next to the same run with the recipe's balanced rates — and a third run, too fast a $D$
# again but spectrally normalised (section 6). The runs are too short for their samples to tell apart: here the
# two players' numbers are what to read.

# %%
runs = {"lr_D = 10 × lr_G": dict(lr_d=10 * recipe["lr_g"]), "balanced (recipe)": {},
        "lr_D = 10 × lr_G, SN": dict(lr_d=10 * recipe["lr_g"], spectral_norm=True)}
short = {}
eighth = train.subset(len(train) // 8, seed=SEED)
for name, change in runs.items():
    r = plan_run("gan", p, eighth, seed=SEED, epochs=recipe["ablation_epochs"], **change)
    h = r.fit(r.build(), eighth, progress=False)
    short[name] = {"D(G(z))": h.last("d_fake"), "D(x)": h.last("d_real"), "G loss": h.last("loss_g")}
    print(f"{name:<18} " + "   ".join(f"{k} = {v:.3f}" for k, v in short[name].items()))
fig, ax = plt.subplots(figsize=(7, 3))
for offset, key, colour in ((-0.2, "D(x)", "0.35"), (0.2, "D(G(z))", "0.75")):
    ax.bar([i + offset for i in range(len(short))], [r[key] for r in short.values()], 0.4, color=colour, label=key)
ax.axhline(0.5, ls="--", color="gray", label="½: D cannot tell")
ax.set_xticks(range(len(short)), list(short))
ax.set(ylabel="D's mean output, last epoch", ylim=(0, 1), title="three short runs: how far D pulls ahead")
ax.legend(fontsize=8, loc="upper right")
plt.show()
strong, fair, normalised = short["lr_D = 10 × lr_G"], short["balanced (recipe)"], short["lr_D = 10 × lr_G, SN"]
claim("with lr_D = 10 × lr_G, D(G(z)) sinks", strong["D(G(z))"], "<", fair["D(G(z))"], fmt="{:.3f}")
claim("with lr_D = 10 × lr_G, G's loss grows", strong["G loss"], ">", fair["G loss"], fmt="{:.3f}")
claim("spectral normalisation holds the fast D back: D(G(z)) stays above the plain fast D's",
      normalised["D(G(z))"], ">", strong["D(G(z))"], fmt="{:.3f}")

# %% [markdown]
# **Why**: $D$ adapts faster than $G$ can follow; its decision boundary moves before $G$ has used the last one, and
# with $D(G(z))$ small the gradient $G$ receives points at whatever $D$ happens to dislike most right now.
# **The fix**: balance the two players — equal rates here. Spectral normalisation of $D$'s weights (Miyato et al.
# 2018) limits how sharp $D$ can become whatever its rate: with it, the same fast $D$ leaves $D(G(z))$ higher. It
# slows $D$ down; whether $G$ gains from that is another question: section 6's table measures spectral
# normalisation at the recipe's balanced rates.
#
# ## 6. Stabilisers: what each one buys
# Three changes are what practitioners reach for first when a GAN trains badly; the course's `GAN` has each as an
# option of `plan_run("gan", ...)`:
#
# * **Spectral normalisation** of $D$ (`spectral_norm=True`; Miyato et al. 2018): every weight matrix $W$ is divided
#   by its largest singular value $\sigma(W)$ (of a convolution's kernel reshaped to a matrix), estimated by one
#   step of power iteration per training step. No layer can then stretch a change of its input by much, and $D$
#   cannot grow arbitrarily sharp however fast it learns. Batch norm leaves $D$ (it would undo the bound).
# * **The hinge loss** (`loss="hinge"`; Lim & Ye 2017, used by SN-GAN and BigGAN):
#   $L_D = \mathbb E[\max(0, 1 - \ell(x))] + \mathbb E[\max(0, 1 + \ell(G(z)))]$, $L_G = -\mathbb E[\ell(G(z))]$.
#   (What its gradients do that the log loss's do not is exercise 05's written question.)
# * **A moving average of $G$'s weights** (`ema=0.999`; Karras et al. 2018, Yazıcı et al. 2019): after every step
#   $\theta_\text{ema} \leftarrow d\,\theta_\text{ema} + (1 - d)\,\theta$, and samples come from
#   $\theta_\text{ema}$. $G$'s weights circle around a good point as the game goes back and forth; their average
#   sits nearer its centre.
#
# The spectral norm first, measured: after the power iterations of a few forward passes, each layer's largest
# singular value, computed exactly by `torch.linalg`:

# %%
sn_gan = plan_run("gan", p, train, seed=SEED, spectral_norm=True).build()
with torch.no_grad():
    for _ in range(30):  # each forward pass in training mode refines the estimate of σ(W) by one power iteration
        sn_gan.discriminator(train.images[:64].to(p.device).float() / 255 * 2 - 1)
sn_gan.eval()
sigmas = [torch.linalg.matrix_norm(m.weight.detach().flatten(1).float(), ord=2).item()
          for m in sn_gan.discriminator.modules() if isinstance(m, torch.nn.Conv2d)]
print("largest singular value of each of D's layers:", [round(v, 3) for v in sigmas])
claim("every layer of the spectrally normalised D has a largest singular value within 5 % of 1",
      max(abs(v - 1) for v in sigmas), "<", 0.05, fmt="{:.3f}", where="always")

# %% [markdown]
# What does each buy at this lesson's budget? `benchmarks/gan_quality.py` trained the recipe and each variant for
# the same 1,248 steps (4 epochs, seed 0, bf16, on a 2-core CPU) and scored them with this lesson's judge and
# measures — numbers measured there, not in this run (BENCHMARKS.md, "The stabilisers, measured": the table "on the
# lesson's own scale"; the one above it used an earlier, shorter-trained judge):
#
# | variant | Fréchet distance | precision | recall | D's linear probe |
# | --- | --- | --- | --- | --- |
# | recipe (log loss) | 31.3 | 0.71 | 0.12 | 50.2 % |
# | `ema=0.999` (samples from the average) | 33.3 | 0.83 | 0.09 | 50.2 % |
# | `loss="hinge"` | 30.6 | 0.71 | 0.12 | 50.3 % |
# | `spectral_norm=True` | 49.9 | 0.69 | 0.02 | 54.9 % |
# | `ema=0.999, loss="hinge"` | 34.5 | 0.85 | 0.05 | 50.3 % |
#
# Read it against the noise first: the recipe's own distance at seed 0 in bf16 has been 30.7 to 32.9 in our runs
# (31.3 in this table; compare this lesson's run above) — the same seed on another build of torch or another
# number of threads rounds its sums differently, and a GAN amplifies that. The hinge loss lands at its low end,
# the average and the average with the hinge loss a little above it, spectral normalisation far above: at this
# budget none of the three lowers the distance. The average lags behind a generator that is still improving
# fast at the last step, and trades recall for precision: fewer kinds of image, each more real. The hinge loss
# changes little. Spectral normalisation holds $D$ back — $D(x)$ and
# $D(G(z))$ stay near 0.54 and 0.46 through that run — so $G$ learns more slowly, while $D$'s own features gain
# the most (section 8 reads them). They are remedies for long runs, where $G$ circles and $D$ grows sharp; here
# the recipe has not reached that point. Try one: `plan_run("gan", p, train, seed=SEED, ema=0.999)` and the
# training cell of section 4 — `method.sample(n, z, ema=False)` samples $G$ as trained, beside its average.
#
# ## 7. Walking through the latent space
# Interpolate between two noise vectors: a smooth change of the image means $G$ has organised its latent space,
# rather than memorising separate pictures. *How* to interpolate matters. $z \sim \mathcal N(0, I_d)$ lives near
# the sphere of radius $\sqrt d$: the straight line between two such vectors cuts inside it, and its midpoint
# $(z_0 + z_1)/2$ has a norm about $1/\sqrt 2$ of theirs — a $z$ that $G$ never met in training. The spherical
# interpolation (slerp, White 2016) walks along the great circle instead and keeps the norm:
# $$\operatorname{slerp}(z_0, z_1; t) = \frac{\sin((1-t)\,\omega)}{\sin\omega}\,z_0 + \frac{\sin(t\,\omega)}{\sin\omega}\,z_1,
#   \qquad \cos\omega = \frac{z_0^\top z_1}{\lVert z_0\rVert\,\lVert z_1\rVert}.$$
# Three walks, one per row; at this budget $G$'s samples are blurry, so read the layout and the colours: they
# should drift from one end to the other, not jump. A number for it: the largest of the ten steps between
# neighbouring frames (the pixel distance from one frame to the next) over their mean. An evenly paced walk has
# every step equal to the mean, a ratio of 1; a walk that jumps makes one step most of its path, a ratio near 10.
# In three quick-profile runs (seeds 0–2, three walks each) the ratio was 1.2 to 1.6 — uneven, far from a jump;
# this run's is printed below the walks.

# %%
def slerp(z0, z1, t):
    """Spherical interpolation of rows z0, z1 (N, d) at t (N, 1) in [0, 1], on their device."""
    cos = F.cosine_similarity(z0, z1, dim=1).clamp(-1 + 1e-6, 1 - 1e-6).unsqueeze(1)  # (N, 1)
    omega = torch.acos(cos)
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


ends = torch.randn(3, 2, method.z_dim, generator=torch.Generator("cpu").manual_seed(3)).to(p.device)
ts = torch.linspace(0, 1, 11, device=p.device).view(-1, 1)  # steps of 0.1: t = 0.5, the midpoint, is the 6th frame
walks = {}
with torch.no_grad():
    for i, (z0, z1) in enumerate(ends):
        walks[f"walk {i + 1}"] = method.sample(11, slerp(z0.expand(11, -1), z1.expand(11, -1), ts)).float().cpu()
titles = [f"t={t:.1f}" for t in ts.view(-1).tolist()]
show_rows(walks, ncols=11, scale=1.0, titles=titles)
plt.show()
steps = [(w[1:] - w[:-1]).flatten(1).norm(dim=1) for w in walks.values()]  # the 10 steps of each walk, in pixels
ratios = [(s.max() / s.mean()).item() for s in steps]
print("largest step between neighbouring frames over the mean step: " + ", ".join(f"{r:.2f}" for r in ratios))
claim("every walk changes smoothly: no step is 3 times the mean step (a jump: near 10)", max(ratios), "<", 3,
      fmt="{:.2f}", where="any")

# %% [markdown]
# Is the sphere worth it? Score the midpoints of 1,000 pairs of noise vectors like the samples of section 4: by the
# straight line and by the sphere, beside the generator's ordinary samples $G(z)$.

# %%
pairs = torch.randn(2, N_SCORED, method.z_dim, generator=torch.Generator("cpu").manual_seed(SEED + 7)).to(p.device)
half = torch.full((N_SCORED, 1), 0.5, device=p.device)
middles = {"G(z)": pairs[0], "straight-line midpoints": pairs.mean(0), "slerp midpoints": slerp(*pairs, half)}
mid_scores = {}
for name, z in middles.items():
    with torch.no_grad():
        mid_scores[name] = judge.score(method.sample(N_SCORED, z).float())
    print(f"{name:<24} |z| {z.norm(dim=1).mean():5.2f}   Fréchet distance {mid_scores[name]['fd']:6.2f}   "
          f"precision {mid_scores[name]['precision']:.2f}   recall {mid_scores[name]['recall']:.2f}")
fd_g, fd_line, fd_slerp = (mid_scores[k]["fd"] for k in middles)
norm_ratio = (middles["straight-line midpoints"].norm(dim=1).mean() / pairs[0].norm(dim=1).mean()).item()
claim("the straight line's midpoints have about 1/√2 of the norm of the ends (below 0.8 of it)", norm_ratio, "<",
      0.8, fmt="{:.2f}×", where="always")
claim("slerp's midpoints score like G's own samples (Fréchet distance within 10 % of G(z)'s)",
      abs(fd_slerp / fd_g - 1), "<", 0.1, fmt="{:.1%}")
claim("the straight line's midpoints score worse than slerp's (a higher Fréchet distance)", fd_line, ">", fd_slerp,
      fmt="{:.2f}")
claim("the straight line's midpoints score worse than G's own samples", fd_line, ">", fd_g, fmt="{:.2f}")

# %% [markdown]
# The sphere's midpoints score like $G$'s ordinary samples — as they must: the slerp midpoint of two independent
# Gaussian vectors is itself distributed almost like a fresh draw (same norm, a random direction), so the 10 %
# check is a sanity check, not a discovery. The straight line's midpoints score worse — in the quick profile a
# Fréchet distance 14 to 34 % above $G(z)$'s in our runs with seeds 0–2 (`BENCHMARKS.md`). Read their precision
# and recall too: shorter $z$ tend to give more typical, less varied images (precision up, recall down: compare the
# printed rows), the trade that "truncating" the noise makes on purpose in large GANs. $G$ only
# learnt to draw from the shell where its training noise lived: walk on it.

# %% [markdown]
# ## 8. The discriminator as a feature extractor
# Following Radford et al., each of $D$'s stages is max-pooled to a 2×2 grid and the three are concatenated. We
# compare it with the *same* architecture at random init, and — for scale — with the course's backbone baselines.

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.plots import plot_bars, results_table
from sslcourse.runs import baseline

results = {
    "random-init D": evaluate_encoder(random_gan.encoder, train, test),  # the random-init pair of section 3
    "GAN discriminator": evaluate_encoder(method.encoder, train, test),
    "random-init backbone": baseline("random", p, train, test, seed=SEED),
    "supervised backbone": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["GAN discriminator"]["linear_probe_accuracy"] - results["random-init D"]["linear_probe_accuracy"]
print(f"\ndiscriminator vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
plot_bars(results, title="the discriminator's features")
plt.show()

# %%
claim("the discriminator's features beat the same network at random init by at least 3 points (linear probe)", gain,
      ">=", 0.03, fmt="{:+.1%}")
claim("the supervised backbone stays ahead", results["supervised backbone"]["linear_probe_accuracy"], ">",
      results["GAN discriminator"]["linear_probe_accuracy"], fmt="{:.1%}")
knn_gain = results["GAN discriminator"]["knn_accuracy"] - results["random-init D"]["knn_accuracy"]
print(f"kNN: discriminator vs random init {100 * knn_gain:+.1f} points, on {method.encoder.feature_dim} features")
claim("the linear probe gains more than kNN from D's training", gain, ">", knn_gain, fmt="{:+.1%}")

# %% [markdown]
# A discriminator trained only to tell real from fake has learnt features that beat a random initialisation of the
# same network by several points of linear-probe accuracy (the gain printed above; 5 to 10 points in our runs over
# three seeds and two precisions, `BENCHMARKS.md`) — without a single label — while the supervised backbone stays
# ahead. In
# the quick profile the kNN column moves less (between −2 and +9 points in those runs and this one's):
# kNN weighs all of $D$'s features alike (printed above: every stage pooled to 2×2 and concatenated), and most of
# them are still close to what random init computed; the probe learns which few directions carry the class. What
# real-vs-fake training taught $D$ on `shapes` is there, but not in the overall geometry of its features — unlike
# the contrastive methods of lesson 04, whose loss shapes exactly that geometry. On CIFAR-10 it does reach the
# geometry: in one gpu-profile run kNN gained 9 points and the probe 5.
#
# ## What to try next
# * `upsample="transposed"` in `plan_run("gan", p, train, ...)`: DCGAN as published; compare the checkerboard and
#   the Fréchet distance per epoch.
# * `non_saturating=False`: watch `loss_g` and the samples stall.
# * Change `lr_d` and `lr_g`, or the batch size; which setting keeps D(x) and D(G(z)) apart but not at 1 and 0?
# * `spectral_norm=True`, `loss="hinge"`, `ema=0.999` (section 6), alone and together, for more epochs than the
#   recipe's: which one lowers the Fréchet distance, and after how many?
# * **Exercise 05** (`exercises/05_gan.ipynb`): write `discriminator_loss` and `generator_loss` from logits, and V(D*, G) from log-densities (`optimal_value`), finite where densities underflow.
#
# **What failure looks like:** D(x) → 1 and D(G(z)) → 0 with a growing G loss (D wins; G gets no signal); recall
# falling while precision holds and the samples look alike (mode collapse); a Fréchet distance that stops falling;
# samples with the right layout but wrong colour range (real images left in [0, 1] while G's tanh outputs
# [−1, 1]); a fine checkerboard over every sample (transposed convolutions); `nan` losses (a `log(sigmoid)` somewhere).

# %%
from sslcourse.course import record_results

record_results("05_gan", {k: results[k] for k in ("random-init D", "GAN discriminator")},
               profile=p.name, dataset=train.name,
               samples={"frechet_distance": final["fd"], "precision": final["precision"], "recall": final["recall"],
                        "real_frechet_floor": real_scores["fd"], "real_precision": real_scores["precision"],
                        "real_recall": real_scores["recall"]})
