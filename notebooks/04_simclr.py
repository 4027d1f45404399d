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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/notebooks/04_simclr.ipynb)
#
# # 04 — Contrastive learning: SimCLR and the NT-Xent loss
#
# Take two random views of every image — different crops, different colours. Train the network so that the two
# views of one image land close together in feature space and far from the views of every other image
# (Chen, Kornblith, Norouzi & Hinton 2020). Nothing is hidden and nothing is predicted: the views *are* the labels.
#
# You will: build views with batched augmentations, derive the NT-Xent loss and its gradient step by step, see
# what the temperature and the batch size do, train SimCLR with a kNN monitor, look at the embeddings, and provoke
# its failure modes. (Exercise 04 asks you to write the loss yourself, so the lesson shows its maths and its
# behaviour, not its code.)

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

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data
from sslcourse.plots import plot_view_similarities, show_rows

p = lesson_setup(PROFILE, seed=SEED)
train, test = load_profile_data(p)

# %% [markdown]
# ## 1. Views
# A view is a random crop (resized back to 32×32), maybe mirrored, with jittered brightness, contrast,
# saturation and hue, sometimes in grayscale. `SimCLRAugment` draws all of that per image, for a whole batch
# at once. Two calls, two views:

# %%
from sslcourse.runs import plan_run

run = plan_run("simclr", p, train, seed=SEED)
recipe = run.recipe
print(run)
method = run.build()
print(method.augment)
x = test.images[:8]
show_rows({"image": x, "view 1": method.augment(x), "view 2": method.augment(x)}, ncols=8)
plt.show()

# %% [markdown]
# The sliders change the crop scale and the colour strength (JupyterLab or Colab); the network will have to see
# that the two views are the same image *despite* these changes — which is exactly what makes the features
# ignore them.

# %%
from sslcourse.widgets import augmentation_explorer

augmentation_explorer(test.images[8:16])

# %% [markdown]
# ## 2. The NT-Xent loss, step by step
# A batch of $N$ images gives $2N$ views; the encoder $f$ and a small projection head $g$ map each to an embedding,
# normalised to unit length: $z_k = g(f(v_k)) / \lVert g(f(v_k)) \rVert$. Cosine similarity is then a dot product,
# $\mathrm{sim}(z_i, z_k) = z_i^\top z_k$. For an anchor $i$ whose other view is $j$:
# $$\ell(i, j) = -\log \frac{\exp(\mathrm{sim}(z_i, z_j)/\tau)}{\sum_{k \ne i} \exp(\mathrm{sim}(z_i, z_k)/\tau)}$$
# — a softmax classification: *which of the other $2N-1$ views is my partner?* The loss averages $\ell$ over all
# $2N$ anchors. Stack the views as $[v_1..v_N, v'_1..v'_N]$: the partner of view $i$ is view $i + N \bmod 2N$.
# Computing it for the whole batch at once, with no Python loop over anchors and without overflowing, is
# **exercise 04**; until then the lesson uses the course's version, `sslcourse.methods.simclr.nt_xent_loss`.
#
# Here is that matrix for the eight images above, through the *untrained* network, with the positives outlined
# (the diagonal, an anchor against itself, is drawn grey — it is masked out of the loss):

# %%
from sslcourse.methods.simclr import nt_xent_loss


def embed(images, method):
    """Both views of every image, through f and g, normalised: (2N, D), views of image i at rows i and i + N."""
    views = torch.cat([method.augment(images), method.augment(images)])  # on the images' device
    with torch.no_grad():
        return F.normalize(method.projector(method.encoder(views)).float(), dim=1).cpu()


method.eval()
z = embed(x, method)
n = len(x)
plot_view_similarities(z, "cosine similarities, untrained")  # partners outlined; one scale, -1 to 1, for both
plt.show()
untrained_loss = nt_xent_loss(z[:n], z[n:], recipe["temperature"]).item()
print(f"loss of the untrained network: {untrained_loss:.3f}; chance level log(2N−1) = {math.log(2 * n - 1):.3f}")

# %% [markdown]
# The untrained network's views all look alike (similarities near 1 everywhere), so its loss sits near the
# **chance level** $\log(2N-1)$: the loss of a classifier that spreads its vote evenly over the $2N-1$ candidates.

# %%
claim("the untrained loss sits within 0.5 of the chance level log(2N-1)", abs(untrained_loss - math.log(2 * n - 1)),
      "<", 0.5, got=f"{untrained_loss:.3f} against {math.log(2 * n - 1):.3f}", where="any")

# %% [markdown]
# **The temperature $\tau$** scales the similarities before the softmax: small $\tau$ sharpens it, large $\tau$
# flattens it towards a uniform vote. On near-identical untrained embeddings any usual $\tau$ gives a nearly flat
# picture (only a very small one, like 0.02, turns their tiny differences into a preference); we come back to it
# with the trained network in section 4.
#
# **The batch size** is the number of negatives: $2N-2$ per anchor. More negatives make the classification harder
# and the gradient more informative — SimCLR's original runs used 4,096 images per batch. With few negatives the
# loss is easy to drive down without learning much.
#
# ### The gradient, written out
# With $P_{ik}$ the softmax above and $Y_{ik} = 1$ where $k$ is $i$'s partner, one line of calculus per anchor gives
# $\partial \ell_i / \partial z_i = \frac{1}{\tau}\big(\sum_k P_{ik} z_k - z_j\big)$ — pulled towards the partner,
# pushed from every negative *in proportion to how similar it looks*. Each $z_a$ also appears in the other anchors'
# sums; together:
# $$\frac{\partial L}{\partial z} = \frac{1}{2N\tau}\big((P - Y) + (P - Y)^\top\big)\, z .$$
# Check it against autograd, on random unit vectors:

# %%
from sslcourse.methods.simclr import nt_xent_grad

zz = F.normalize(torch.randn(2 * n, 16, dtype=torch.float64, device="cpu"), dim=1).requires_grad_()  # float64 check
(auto,) = torch.autograd.grad(nt_xent_loss(zz[:n], zz[n:], 0.2), zz)  # the course's loss, differentiated by autograd
# nt_xent_loss normalises its inputs: on unit vectors autograd also removes the radial part of the gradient
radial = (nt_xent_grad(zz.detach(), 0.2) * zz.detach()).sum(1, keepdim=True) * zz.detach()
gap = (nt_xent_grad(zz.detach(), 0.2) - radial - auto).abs().max().item()
print(f"max |hand-written − autograd| = {gap:.2e}")
claim("the hand-written gradient equals autograd's on the sphere (to 1e-5: the loss computes in float32)", gap,
      "<", 1e-5, fmt="{:.1e}", where="always")

# %% [markdown]
# ## 3. Collapse, and why negatives prevent it
# A network that maps every image to the same point makes every pair of views "agree". Without negatives that
# would be a perfect score; with them, all $2N-1$ candidates look alike and the loss is the chance level
# $\log(2N-1)$ — no better than guessing, and far above what a trained network reaches. (It is not the worst the
# loss can be: an embedding that puts each view *far* from its partner and close to the negatives scores far above
# chance — computed below.)

# %%
collapsed = torch.ones(2 * n, 16, device="cpu")  # every view mapped to the same point
collapsed_loss = nt_xent_loss(collapsed[:n], collapsed[n:], 0.2).item()
print(f"NT-Xent of a collapsed embedding: {collapsed_loss:.3f} = log(2N−1) = {math.log(2 * n - 1):.3f}")
print(f"what a pull-only loss (1 − cos) would say: {1 - F.cosine_similarity(collapsed[:n], collapsed[n:]).mean():.3f}")
a = F.normalize(torch.randn(n, 16, generator=torch.Generator("cpu").manual_seed(0)), dim=1)
anti = nt_xent_loss(a, -a, 0.2).item()  # every partner pointing the opposite way
print(f"NT-Xent when every partner is the *least* similar view: {anti:.3f} — far above the chance level")
claim("collapse sits exactly at log(2N-1)", abs(collapsed_loss - math.log(2 * n - 1)), "<", 1e-4,
      got=f"{collapsed_loss:.5f}", where="always")
claim("a loss far (3 nats) above the chance level exists", anti - math.log(2 * n - 1), ">", 3, fmt="{:+.2f} nats",
      where="always")

# %% [markdown]
# Does the gradient push a collapsed network out? **Not from exactly collapsed.** At $z_1 = \dots = z_{2N}$ every
# softmax is uniform and the pull to the partner cancels the push from the negatives term by term: the gradient is
# zero — collapse is a *stationary point* of NT-Xent, just a bad one. What the negatives change is its
# neighbourhood: nudge the embeddings a little apart and the gradient no longer vanishes. Follow it downhill and
# the views spread out — each image's two views stay together while the images move apart — and the loss falls
# below the chance level. Measured on the collapsed embeddings above, nudged by noise of size 0.05, then 20 small
# steps of gradient descent:

# %%
from sslcourse.collapse import view_cosines


def loss_and_gradient(z):
    z = z.clone().requires_grad_()
    loss = nt_xent_loss(z[:n], z[n:], 0.2)
    (g,) = torch.autograd.grad(loss, z)
    return loss.item(), g


def cosines(z):
    """(mean cosine between an image's two views, mean cosine between views of different images): the first n
    rows of z are the first views, the last n the second."""
    return view_cosines(z[:n], z[n:])


nudge = 0.05 * torch.randn(2 * n, 16, generator=torch.Generator("cpu").manual_seed(1))
at_collapse, g_collapse = loss_and_gradient(collapsed)
zs = collapsed + nudge
near, g_near = loss_and_gradient(zs)
start = cosines(zs)
for _ in range(20):  # small steps downhill, each of length 0.5
    _, g = loss_and_gradient(zs)
    zs = zs - 0.5 * g / g.norm()
after, end = loss_and_gradient(zs)[0], cosines(zs)
print(f"collapsed:          loss {at_collapse:.4f}, gradient norm {g_collapse.norm():.1e}")
print(f"nudged apart:       loss {near:.4f}, gradient norm {g_near.norm():.3f}, "
      f"cosine to its partner {start[0]:.3f}, to other images {start[1]:.3f}")
print(f"after 20 steps:     loss {after:.4f}, cosine to its partner {end[0]:.3f}, to other images {end[1]:.3f}")
claim("at the collapsed point the gradient is zero (norm below 1e-6)", g_collapse.norm().item(), "<", 1e-6, fmt="{:.1e}",
      where="always")
claim("downhill from the nudged point, the images spread: their mean cosine falls by more than 0.1",
      start[1] - end[1], ">", 0.1, fmt="{:.3f}", where="always")
claim("while each image's two views stay together (mean cosine above 0.99)", end[0], ">", 0.99, fmt="{:.4f}",
      where="always")
claim("and the loss falls below the chance level", after, "<", math.log(2 * n - 1), fmt="{:.4f}", where="always")

# %% [markdown]
# Where does a real network start? Closer to collapse than you might think: at random initialisation the
# projections $z$ of any two images point almost the same way — a random ConvNet with ReLUs maps every image into
# the same narrow cone. *Almost* is what matters: their small differences are the nudge above, and the negatives'
# gradient pushes them apart, as it did there. The untrained method of this lesson, on 256 test images:

# %%
from sslcourse.evaluate import extract_features

z_init = F.normalize(extract_features(torch.nn.Sequential(method.encoder, method.projector), test.images[:256]), dim=1)
cos_init = (z_init @ z_init.T)[~torch.eye(len(z_init), dtype=torch.bool, device=z_init.device)]  # pairs i != j
print(f"random init: mean cosine between two images' projections {cos_init.mean():.4f}, lowest {cos_init.min():.4f}")
claim("at random init two images' projections nearly coincide (mean cosine above 0.9)", cos_init.mean().item(), ">",
      0.9, fmt="{:.3f}")
claim("but not exactly: the least similar pair's cosine is below 0.999", cos_init.min().item(), "<", 0.999,
      fmt="{:.4f}", where="any")

# %% [markdown]
# ## 4. Training through `fit`, with a kNN monitor
# The method's `training_step` makes two views of the batch, passes all $2N$ through the encoder and the projector
# *in one batch* (so batch norm sees both views together) and returns the NT-Xent loss. `knn_monitor` measures the
# encoder's kNN accuracy after every epoch (on 5,000 training images), so the curve shows what the loss does *for
# the features*. With 5,000 training images as neighbours, fewer than the protocol's kNN of section 5 uses (all
# of them), the monitor can read a few points below it. Compare the curve's epochs with each other and with the
# dotted level — the untrained network on the same 5,000 neighbours, the level training rises from — and section
# 5's table with the other tables of the course.

# %%
from sslcourse.evaluate import knn_monitor
from sslcourse.models import build_backbone
from sslcourse.plots import encoder_colour
from sslcourse.train import fit

monitor = knn_monitor(train, test, n_train=5000)
history = fit(method, train, **run.fit_kwargs(), eval_fn=monitor)  # a rerun loads it (lesson 08 too)
untrained = monitor(build_backbone(p.backbone, seed=SEED).to(p.device))  # before training: the same neighbours
history.plot(colour=encoder_colour("simclr"), reference={"untrained": untrained})  # SimCLR's colour, every figure
plt.show()
knn_epochs = history.series("knn", per="epochs")[1]
print(f"kNN on the monitor's 5,000 neighbours: untrained {untrained['knn']:.1%}; after each epoch "
      + ", ".join(f"{v:.1%}" for v in knn_epochs))
if knn_epochs:  # a checkpoint trained without the monitor holds no curve to check
    claim("after every epoch SimCLR's kNN is above the untrained network's on the same neighbours",
          min(knn_epochs), ">", untrained["knn"], fmt="{:.1%}")

# %% [markdown]
# After training, the similarity matrix has a bright off-diagonal: a view's partner now stands out. How often is
# the partner the *most* similar of all the other views? On the eight images above, and on 512 test images (1,023
# candidates each, chance 0.1 %):

# %%
from sslcourse.methods.simclr import partner_found  # its similarity matrix is exercise 04's: read it after

method.eval()
z = embed(x, method)
plot_view_similarities(z, "cosine similarities, trained")
plt.show()
many = test.images[:512]  # 512 test images (or all, if fewer): 2 × 512 views, 1,023 candidates each
found = partner_found(embed(many, method))
print(f"partner is the most similar view: {partner_found(z):.0%} of {2 * n} views; {found:.0%} of {2 * len(many)} views")
claim(f"the partner is the most similar of {2 * len(many) - 1} candidates for over 30 % of the views", found, ">", 0.3,
      fmt="{:.0%}")

# %% [markdown]
# **The temperature, on the trained embeddings.** Drag the slider: the softmax of anchor 0 over its 15 candidates
# (the black bar is its partner). A small $\tau$ puts nearly all the weight on the most similar candidates — the
# loss then works on the *hardest* negatives; a large $\tau$ spreads it evenly, every negative counting alike.

# %%
from sslcourse.widgets import explore


def draw_softmax(temperature=0.2):
    s = (z[0] @ z.T)[1:] / temperature  # anchor 0 against the 15 others
    probs = s.softmax(0)
    colours = ["black" if k + 1 == n else "0.7" for k in range(2 * n - 1)]  # red is SimCLR's in this course
    plt.figure(figsize=(6, 2.4))
    plt.bar(range(1, 2 * n), probs, color=colours)
    plt.title(f"τ = {temperature}: p(partner) = {probs[n - 1]:.2f}")
    plt.xlabel("candidate view k (black: the partner)")
    plt.ylabel("softmax probability")
    plt.show()


explore(draw_softmax, dict(temperature=0.1), temperature=(0.02, 2.0, 0.02))

# %%
from sslcourse.methods.simclr import softmax_entropy  # the mean entropy of every view's softmax, in nats

sharp, flat = softmax_entropy(z, 0.05), softmax_entropy(z, 2.0)
print(f"entropy of the softmax: τ = 0.05 → {sharp:.2f} nats, τ = 2 → {flat:.2f} nats "
      f"(uniform over 15: {math.log(2 * n - 1):.2f})")
claim("a small τ concentrates the softmax and a large τ spreads it", sharp, "<", flat, fmt="{:.2f} nats",
      where="any")  # on trained embeddings; a smoke run's near-identical ones give a uniform softmax at every τ

# %% [markdown]
# ## 5. Evaluate before the head
# The projection head $g$ is trained to *ignore* everything the augmentations change (colour, exact position) —
# information that can still be useful downstream. So we evaluate the encoder's output $f(x)$, not $g(f(x))$:

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.plots import epochs_said, plot_bars, plot_embedding, results_table
from sslcourse.runs import baseline

head = torch.nn.Sequential(method.encoder, method.projector).eval()
results = {
    "random init": baseline("random", p, train, test, seed=SEED),
    "SimCLR g(f(x))": evaluate_encoder(head, train, test),
    "SimCLR f(x)": evaluate_encoder(method.encoder, train, test),
    "supervised": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gain = results["SimCLR f(x)"]["linear_probe_accuracy"] - results["random init"]["linear_probe_accuracy"]
print(f"\nSimCLR vs random init: {100 * gain:+.1f} points of linear-probe accuracy")
plot_bars(results, title="SimCLR vs the baselines", colours={"SimCLR g(f(x))": "#f2a3a3"})  # the head: a paler red
plt.show()

# %% [markdown]
# Two facts of this run: the encoder $f(x)$ beats random init by a wide margin (22 to 27 points of linear probe
# in the quick profile's runs, seeds 0–2, bf16 and fp32; this run's gain is printed above), and a linear probe
# reads more from it than from the head's output $g(f(x))$, which was trained to forget what the augmentations
# change. kNN need not agree: it only asks which training images are nearest, and the head can keep neighbourhoods
# of the same shapes together while it throws away colour and position. Which of the two kNN wins changes from one
# run of this lesson to another (seed, precision): read this run's difference below, and don't generalise it.

# %%
lin = {k: r["linear_probe_accuracy"] for k, r in results.items()}
knn = {k: r["knn_accuracy"] for k, r in results.items()}
claim("SimCLR beats random init by at least 10 points (linear probe)", lin["SimCLR f(x)"] - lin["random init"], ">=",
      0.10, fmt="{:+.1%}")
claim("f(x) probes better than the head's output g(f(x)) (linear probe)", lin["SimCLR f(x)"] - lin["SimCLR g(f(x))"],
      ">", 0, fmt="{:+.1%}")
print(f"kNN: f(x) {knn['SimCLR f(x)']:.1%}, g(f(x)) {knn['SimCLR g(f(x))']:.1%} "
      f"({100 * (knn['SimCLR f(x)'] - knn['SimCLR g(f(x))']):+.1f} points)")

# %%
from sslcourse.evaluate import extract_features

fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (name, enc) in zip(axes, [("random init", build_backbone(p.backbone, seed=SEED).to(p.device)),
                                  ("SimCLR", method.encoder)]):
    plot_embedding(extract_features(enc, test.images), test.labels, test.classes, method="tsne", ax=ax,
                   title=f"{name} (t-SNE of test features)", max_points=1000, legend=ax is axes[0])  # one legend
plt.show()

# %% [markdown]
# How to read these maps: t-SNE places each test image near the images that are near it in feature space. Its axes
# have no units, and the distances between groups or a group's size mean little; what it keeps is whether an
# image's neighbours share its class. That is what the kNN accuracy above measures in numbers — the map is the
# picture, the kNN accuracy the measurement.

# %% [markdown]
# ## 6. Why crop *and* colour?
# Chen et al. found that no single augmentation is enough; the pair that matters is random crop + colour
# distortion. In the quick profile the pair beats crop alone by far (by 27 to 31 points in the runs measured);
# colour alone comes close to the pair at this short budget — the pair's lead over it ranged from about −1 to +4
# points in the runs measured (seeds 0–2, bf16 and fp32, `BENCHMARKS.md`): read this run's difference below, not a
# winner. On CIFAR-10 the order changes: in one gpu-profile run of this cell (linear probe; `BENCHMARKS.md`, the
# gpu profile's notes) crop alone gained 6 points over random init, colour alone lost 2, and the pair led crop alone
# by 5 points and colour alone by 13. Each variant
# below trains for `recipe["ablation_epochs"]` epochs on half the data; the full-budget table is in `BENCHMARKS.md`,
# from `benchmarks/ablations.py simclr`. Its "crop only" keeps the recipe's 20 % of grey-scale views, which the
# crop-only run below does not; with those views and the full budget on all the data, crop alone ended 11 points
# above random init (which of the two lifted it, that table does not say). Random init is measured on the
# ablation's half of the data too (its kNN neighbours and its probe's training images), so its bars differ a little
# from section 5's, which use every training image:

# %%
half = train.subset(len(train) // 2, seed=SEED)
variants = {"crop only": dict(strength=0.0, gray_p=0.0), "colour only": dict(min_scale=1.0), "crop + colour": dict()}
ablation = {"random init": evaluate_encoder(build_backbone(p.backbone, seed=SEED).to(p.device), half, test)}
print(f"{'random init':<14} kNN {ablation['random init']['knn_accuracy']:.1%}  "
      f"linear {ablation['random init']['linear_probe_accuracy']:.1%}")
for name, changes in variants.items():
    run_v = plan_run("simclr", p, half, seed=SEED, epochs=recipe["ablation_epochs"], **changes)
    m_v = run_v.build()
    run_v.fit(m_v, half, progress=False)
    ablation[name] = evaluate_encoder(m_v.encoder, half, test)
    print(f"{name:<14} kNN {ablation[name]['knn_accuracy']:.1%}  linear {ablation[name]['linear_probe_accuracy']:.1%}")
lin_v = {name: r["linear_probe_accuracy"] for name, r in ablation.items()}
print(f"crop + colour over colour only: {100 * (lin_v['crop + colour'] - lin_v['colour only']):+.1f} points")
claim("the pair (crop + colour) beats crop alone by at least 10 points (linear probe)",
      lin_v["crop + colour"] - lin_v["crop only"], ">=", 0.10, fmt="{:+.1%}")
claim("crop alone ends below the random-init encoder (linear probe)", lin_v["crop only"], "<", lin_v["random init"],
      fmt="{:.1%}")
plot_bars(ablation, title=f"augmentations, {epochs_said(recipe['ablation_epochs'])} on half the data",
          colours={"crop + colour": encoder_colour("simclr")})  # the recipe in SimCLR's colour
plt.show()

# %% [markdown]
# **Too-weak augmentation is a shortcut.** On `shapes`, crop alone — with no grey-scale views either, at this
# budget — does worse than no training at all: it ends below the random-init encoder on the same half of the data
# (checked above; on CIFAR-10, whose colours belong to
# the scene, it ended 6 points above it in one gpu run). Without colour jitter, two crops of one image
# share their colour histogram — and in `shapes` every image has its own random colours, so matching histograms
# solves the task without looking at shapes; training then turns the features towards colour statistics and away
# from what even random filters kept of the shapes. The colour statistics of an image identify it among the batch:

# %%
def colour_histogram(images):
    q = (images.float() / 256 * 4).long()  # 4 levels per channel: 64 colour bins
    codes = q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2]
    return F.normalize(torch.stack([torch.bincount(c.flatten(), minlength=64).float() for c in codes]), dim=1)


from sslcourse.augment import SimCLRAugment

crop_only = SimCLRAugment(scale=(0.5, 1.0), strength=0.0, gray_p=0.0)
crops = [(crop_only(test.images[:256]) * 255).to(torch.uint8) for _ in range(2)]  # 256 images, or all if fewer
h1, h2 = colour_histogram(crops[0]), colour_histogram(crops[1])
by_colour = ((h1 @ h2.T).argmax(1) == torch.arange(len(h1), device=h1.device)).float().mean().item()
print(f"partner found by colour histogram alone: {by_colour:.0%} of {len(h1)} images (chance {1 / len(h1):.1%})")
claim("colour statistics alone identify an image among the batch, for over half the images", by_colour, ">", 0.5,
      fmt="{:.0%}", where="any")

# %% [markdown]
# ## 7. On several GPUs: whose negatives?
# With `torchrun --nproc_per_node=N -m sslcourse train simclr`, every process (one per GPU) takes a slice of the
# global batch, and DistributedDataParallel averages the gradients. For most losses that is all it takes. Not for
# NT-Xent: it compares every view with every other view of the batch. Computed on each process's own slice, each
# anchor sees only $2N/P - 1$ candidates instead of $2N - 1$ — a different, easier loss that changes with the
# number of processes $P$. A common bug of public SimCLR code. The fix: gather every process's
# embeddings (with their gradients) before the loss, so each process computes the loss of the global batch.
#
# Below, real processes: one SimCLR step over the same 16 images, once in this process and once on two processes
# joined with PyTorch's gloo backend (a tiny network without batch norm, and views without random draws, so that
# the negatives are the only difference; `sslcourse/ddp_demo.py`).

# %%
from sslcourse.ddp_demo import simclr_step_comparisons

runs = simclr_step_comparisons(world_size=2, gathers=(False, True))  # the two processes take both steps
own, gathered = runs[False], runs[True]
print(f"one process, global batch of 16:         loss {own['one_process_loss']:.4f}")
print(f"the step moved no weight by more than {own['max_step']:.1e}")
for name, r in (("two processes, 8 images each, no gather", own), ("two processes, embeddings gathered", gathered)):
    print(f"{name + ':':<41}loss {r['ddp_loss']:.4f}   weights differ by up to {r['max_weight_difference']:.1e} "
          f"({r['max_weight_difference'] / r['max_step']:.2%} of the step)")

# %% [markdown]
# The demo's network is tiny and untrained, so its embeddings of the 16 images nearly coincide and each loss sits at
# its chance level: $\log(2 \cdot 16 - 1) = 3.434$ for the single process, $\log(2 \cdot 8 - 1) = 2.708$ on
# a process that sees 8 images. That difference in the loss is only the count of candidates. What matters is the
# step: without the gather the two processes optimise another loss and take another step — its weights differ from
# the single process's by a few percent of the step's own size; with the gather, loss and weights match the
# single process to rounding.
# Batch norm has the same trap: statistics computed per GPU let the network tell which views were normalised
# together; `fit` converts batch norm to `SyncBatchNorm` on GPUs.

# %%
print(f"without the gather the loss moves by {own['one_process_loss'] - own['ddp_loss']:.3f} = log(31/15) = "
      f"{math.log(31 / 15):.3f}: the count of candidates, as said above")
claim("and the step: its weights differ by more than 1 % of the step's size", own["max_weight_difference"]
      / own["max_step"], ">", 0.01, fmt="{:.2%}", where="always")
claim("gathering the embeddings reproduces the single-process step",
      max(abs(gathered["ddp_loss"] - gathered["one_process_loss"]), gathered["max_weight_difference"]), "<", 1e-5,
      fmt="{:.1e}", where="always")

# %% [markdown]
# ## What to try next
# * Temperature: `plan_run("simclr", p, train, temperature=0.05)` or `1.0`. Too low, and training chases a few hard
#   negatives (often false ones: two images of the same class); too high, and all negatives count alike.
# * Batch size: `batch_size=32` vs `256` for the same number of epochs.
# * **Exercise 04** (`exercises/04_simclr.ipynb`): write `simclr_views` and `nt_xent_loss` (vectorised, stable), then measure alignment and uniformity (Wang & Isola) for four augmentations.
# * On a machine with several GPUs: `torchrun --nproc_per_node=2 -m sslcourse train simclr` (README, "Several GPUs").
#
# **What failure looks like:** a loss that falls quickly while the kNN curve stays flat (a shortcut: check the
# augmentations); a loss stuck at $\log(2N-1)$ (collapse, or a learning rate too high); `nan` after a few steps
# with a tiny τ and a hand-rolled `exp` (use `cross_entropy`, which works in log-space).

# %%
from sslcourse.course import record_results

record_results("04_simclr", {k: results[k] for k in ("random init", "SimCLR f(x)", "supervised")},
               profile=p.name, dataset=train.name)
