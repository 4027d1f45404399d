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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/notebooks/06_momentum_and_collapse.ipynb)
#
# # 06 — Beyond negatives: MoCo, BYOL, momentum encoders, and collapse made visible
#
# SimCLR (lesson 04) learns by telling each image's partner view apart from the other images of the batch — its
# negatives. Two questions follow. **Do I need thousands of negatives**, and so a batch of thousands of images?
# And **why doesn't a network that only pulls views together collapse** to a constant, which agrees with
# everything?
#
# You will: replace SimCLR's batch of negatives by a queue of keys from a slowly moving encoder (MoCo, He et al.
# 2020) and see what a fast-moving one does; train BYOL (Grill et al. 2020), which has no negatives at all;
# measure collapse while it trains; remove BYOL's predictor, its stop-gradient and its momentum one at a time and
# watch what each was for, then the predictor and the momentum together; compare SimCLR, MoCo and BYOL by
# alignment and uniformity; and measure all three with the shared protocol.

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
import torch.nn as nn
import torch.nn.functional as F

from sslcourse import show_source
from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data

p = lesson_setup(PROFILE, seed=SEED)
train, test = load_profile_data(p)

# %% [markdown]
# ## 1. From a batch of negatives to a queue (MoCo)
# In SimCLR, an anchor's negatives are the other $2N-2$ views of its batch: 254 for a batch of 128. More negatives
# make the classification harder and the features better, but cost a larger batch. MoCo keeps the last $K$
# **keys** in a queue (here both views' keys of each image, so $K/2$ images) and contrasts each **query** $q$ with its own key $k^+$ (the other view of the same
# image) and with all $K$ keys in the queue:
# $$\ell(q) = -\log\frac{\exp(q^\top k^+/\tau)}{\exp(q^\top k^+/\tau) + \sum_{j=1}^{K}\exp(q^\top \mathrm{queue}_j/\tau)}$$
# — InfoNCE, a softmax classification of the positive among $1 + K$ candidates, whatever the batch size. Both
# views take a turn as queries (the loss is symmetric), and after each step the batch's keys enter the queue and
# the oldest leave.
#
# The queue's keys were computed some steps ago. If the encoder that makes keys changes quickly, old keys and new
# queries live in different feature spaces and the comparison means little. So keys come from a **momentum
# encoder**, a copy of the query encoder (and projector) that receives no gradients and follows it slowly after
# every optimiser step:
# $$\theta_k \leftarrow m\,\theta_k + (1 - m)\,\theta_q, \qquad m = 0.99 .$$

# %%
from sslcourse.methods.moco import moco_loss
from sslcourse.runs import plan_run

run = plan_run("moco", p, train, seed=SEED)
recipe = run.recipe
print(run)
moco = run.build()
print(f"queue: {tuple(moco.queue.shape)} keys — the last {len(moco.queue) // (2 * recipe['batch_size'])} steps' "
      f"keys at batch {recipe['batch_size']} (two views per image)")
show_source(moco_loss)

# %% [markdown]
# One training step of MoCo, and the update `fit` calls after every optimiser step (`on_step_end`): the keys come
# from the momentum copy, the loss is computed, *then* the keys are enqueued.

# %%
show_source(type(moco).training_step)
show_source(type(moco).on_step_end)

# %% [markdown]
# Train it with the kNN monitor. Besides the loss, MoCo logs the mean similarity of a query to its positive key
# and to the queue's keys: the loss falls as the first rises above the second.

# %%
from sslcourse.evaluate import knn_monitor
from sslcourse.models import build_backbone
from sslcourse.plots import add_to_legend, encoder_colour

monitor = knn_monitor(train, test, n_train=5000)
h_moco = run.fit(moco, train, eval_fn=monitor)  # a rerun loads it, with the kNN of every epoch (lesson 08 too)
untrained = monitor(build_backbone(p.backbone, seed=SEED).to(p.device))  # the untrained network, same bank
knn_start = untrained["knn"]
fig, axes = plt.subplots(1, 3, figsize=(15, 3.2))
h_moco.plot(["loss"], ax=axes[0], colour=encoder_colour("MoCo"))  # MoCo in its colour, as in every figure
h_moco.plot(["positive_similarity", "negative_similarity"], ax=axes[1], colour=encoder_colour("MoCo"))
h_moco.plot(["knn"], ax=axes[2], per="epochs", colour=encoder_colour("MoCo"), reference={"untrained": untrained})
knn = h_moco.series("knn", per="epochs")[1]  # what the kNN monitor measured after each epoch
if len(knn) < len(h_moco.epochs):  # a checkpoint trained without the monitor: delete it to watch the curve
    print(f"this checkpoint holds the kNN of {len(knn)} of its {len(h_moco.epochs)} epochs: it was trained without "
          "the monitor (delete it to train again and watch every epoch)")
fill = len(moco.queue) // (2 * recipe["batch_size"])  # optimiser steps until every random start key is replaced
last = h_moco.steps[-1]
fill_epochs = fill * last["epoch"] / last["step"]
for ax in axes[:2]:  # the queue's moment, beside the entries History.plot wrote (thin and thick included)
    add_to_legend(ax, ax.axvline(fill_epochs, ls="--", color="gray", label="queue full of real keys"))
axes[0].set_title("MoCo's loss (per step)")
axes[1].set_title("a query's similarity to its key and to the queue")
axes[2].set_title("kNN accuracy after each epoch")
fig.tight_layout()
plt.show()

# %% [markdown]
# The right panel has a level to rise from: the dotted line is the untrained network's kNN accuracy on the same
# 5,000 neighbours. MoCo's curve is above it from its first point on: one epoch with the queue's negatives already
# taught the encoder something a kNN can use.

# %%
print(f"kNN on the monitor's 5,000 neighbours: untrained {knn_start:.1%}; after each epoch "
      + ", ".join(f"{v:.1%}" for v in knn))
if knn:  # a checkpoint trained without the monitor holds no curve to check
    claim("after every epoch MoCo's kNN is above the untrained network's on the same neighbours", min(knn), ">",
          knn_start, fmt="{:.1%}")

# %% [markdown]
# Why the loss **rises** before it falls: the queue starts as random unit vectors, which are nearly orthogonal to
# every query — easy negatives. Each step replaces 2 × batch of them with real keys, and an encoder that has barely
# trained maps all images to nearby points, so the real keys are close to every query: the negatives get harder
# (the dotted curve climbs) and the loss climbs with them while real keys replace the random ones (the vertical
# line marks the step when none of those is left). Later the loss falls, as training pulls each query towards its
# own key and away from the others.
# In the quick profile's runs the loss peaked at 0.19 epochs, just before the queue first held nothing but real
# keys (0.21 epochs), and at its peak a query was more similar to the queue's keys than at the start: this run's
# numbers are printed below. On CIFAR-10 the queue fills in a smaller share of an epoch: in one gpu-profile run
# (seed 0) the loss peaked only after the queue had been filled about two and a half times over.

# %%
steps_epoch, steps_loss = h_moco.series("loss")
_, steps_negative = h_moco.series("negative_similarity")
peak = max(range(len(steps_loss)), key=steps_loss.__getitem__)
print(f"queue full after {fill} steps = {fill_epochs:.2f} epochs; the loss peaks at epoch {steps_epoch[peak]:.2f} "
      f"({steps_loss[peak]:.2f}, from {steps_loss[0]:.2f}); q·queue {steps_negative[0]:.2f} at the start, "
      f"{steps_negative[peak]:.2f} at the peak")
claim("the loss rises before it falls: its highest point is above its first", steps_loss[peak], ">", steps_loss[0],
      fmt="{:.2f}")
claim("the loss's highest point comes before the queue has been filled 1.5 times over", steps_epoch[peak], "<",
      1.5 * fill_epochs, fmt="{:.2f} epochs")
claim("at the loss's peak the queue's keys are more similar to the queries than at the start",
      steps_negative[peak], ">", steps_negative[0], fmt="{:.2f}")

# %% [markdown]
# ### Why the key encoder must move slowly
# Two short runs on a quarter of the data, identical but for the momentum: the recipe's $m$, and $m = 0$ — the
# key encoder is then the query encoder of the previous step, and the queue holds keys from as many different,
# quickly changing encoders as it holds steps.

# %%
from sslcourse.evaluate import extract_features, knn_accuracy
from sslcourse.models import build_backbone


def knn_of(encoder):
    """The protocol's kNN accuracy (every training image a neighbour), for the short runs and random init alike."""
    ftr, fte = extract_features(encoder, train.images), extract_features(encoder, test.images)
    return knn_accuracy(ftr, train.labels, fte, test.labels)


random_init = build_backbone(p.backbone, seed=SEED).to(p.device)
knn_random = knn_of(random_init)
quarter = train.subset(len(train) // 4, seed=SEED)
short = {}
for name, m in [(f"m = {recipe['momentum']}", recipe["momentum"]), ("m = 0", 0.0)]:
    run_m = plan_run("moco", p, quarter, seed=SEED, epochs=recipe["ablation_epochs"], momentum=m)
    method_m = run_m.build()
    history_m = run_m.fit(method_m, quarter, desc=f"moco, {name}")
    short[name] = dict(history=history_m, encoder=method_m.encoder, **{k: history_m.last(k) for k in
                       ("loss", "positive_similarity", "negative_similarity")})
    short[name]["knn"] = knn_of(method_m.encoder)
    print(f"{name:<8} loss {short[name]['loss']:.3f}  q·k⁺ {short[name]['positive_similarity']:.3f}  "
          f"q·queue {short[name]['negative_similarity']:.3f}  kNN {short[name]['knn']:.1%}")
print(f"random-init encoder: kNN {knn_random:.1%}")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for (name, r), ls in zip(short.items(), ("-", "--")):  # MoCo's colour: the recipe's m solid, m = 0 dashed
    axes[0].plot(*r["history"].series("loss"), label=name, color=encoder_colour("MoCo"), ls=ls)
    axes[1].plot(*r["history"].series("negative_similarity"), label=name, color=encoder_colour("MoCo"), ls=ls)
axes[0].set(title="training loss", ylabel="InfoNCE loss")
axes[1].set(title="mean similarity of a query to the queue", ylabel="cosine similarity")
for ax in axes:
    ax.set_xlabel("epoch")
    ax.legend()
plt.show()

# %% [markdown]
# On a quarter of the data the queue takes a large part of the first epoch to fill (most of it in the quick
# profile), so both losses rise at first (as above). With $m = 0$ the queue is filled by a different encoder at
# every step. The keys then agree with everything: a query is **more similar to the queue's keys than with the slow
# encoder** — the negatives stop being informative, the loss ends **higher** (it climbs for most of the run), and
# the kNN accuracy of the features is **lower** than with the slow encoder. A slowly moving key encoder keeps old
# keys comparable with today's queries.
#
# The comparison is between the two momentum settings. A run this short may leave the encoder with $m = 0$ no
# better than the random-init encoder — compare the two kNN accuracies printed above (all on the protocol's full
# set of neighbours). How short these runs are shows on CIFAR-10: in one gpu-profile run (48 steps each) the same
# three differences showed, but both encoders ended below the random-init encoder's kNN accuracy (34.0 % and
# 29.2 % against 39.3 %, `BENCHMARKS.md`) — two encoders that had not learnt yet. Raise
# `recipe["ablation_epochs"]` to compare trained ones.

# %%
slow, fast = short[f"m = {recipe['momentum']}"], short["m = 0"]
claim("with m = 0 a query is more similar to the queue's keys than with the slow encoder",
      fast["negative_similarity"], ">", slow["negative_similarity"], fmt="{:.2f}")
claim("with m = 0 the loss ends higher (its last epoch's mean)", fast["loss"], ">", slow["loss"], fmt="{:.2f}")
claim("with m = 0 the kNN accuracy is lower than with the slow encoder", fast["knn"], "<", slow["knn"], fmt="{:.1%}")

# %% [markdown]
# ## 2. BYOL: no negatives at all
# BYOL drops the negatives. An **online** network — encoder $f$, projector $g$, and a small **predictor** $q$ —
# predicts, from one view, what a **target** network — the momentum copy $f', g'$ — makes of the other view:
# $$p = q(g(f(v))), \quad z' = g'(f'(v')), \qquad
#   \ell(p, z') = \Big\lVert \frac{p}{\lVert p\rVert} - \frac{z'}{\lVert z'\rVert}\Big\rVert^2 = 2 - 2\cos(p, z'),$$
# with no gradient through $z'$ (a *stop-gradient*), symmetrised over the two views: $L = \ell(p_1, z'_2) +
# \ell(p_2, z'_1)$, between 0 and 8. The target's momentum rises from $m_0$ to 1 on a cosine over the $K$ steps
# of training (BYOL, section 3.2): $m_k = 1 - (1 - m_0)\,(\cos(\pi k/K) + 1)/2$.
#
# Nothing in $L$ forbids the trivial solution: map every image to the same vector and $L = 0$.
#
# Writing $L$ — its pairing and its stop-gradient — is part of exercise 06; the course's `BYOL.training_step`
# (`sslcourse/methods/byol.py`) is there to read after it. Below: the target's momentum over this run's steps.

# %%
from sslcourse.methods.momentum import momentum_at

run_b = plan_run("byol", p, train, seed=SEED)
recipe_b = run_b.recipe
print(run_b)
byol = run_b.build()
steps = recipe_b["epochs"] * (len(train) // recipe_b["batch_size"])
plt.figure(figsize=(5, 2.6))
plt.plot([momentum_at(k, steps, recipe_b["momentum"]) for k in range(steps + 1)], color=encoder_colour("BYOL"))
plt.xlabel("optimiser step k")
plt.ylabel("target momentum $m_k$")
plt.show()

# %% [markdown]
# ### Collapse made visible
# Two numbers tell a healthy embedding from a collapsed one, both computed on the L2-normalised embeddings
# $z/\lVert z \rVert$ of a batch:
#
# * **the per-dimension standard deviation**, averaged over the $D$ dimensions (SimSiam, Chen & He 2021). Unit
#   vectors spread over the sphere have $\mathrm{std} \approx 1/\sqrt{D}$ in every coordinate; if every image is
#   mapped to the same point, it is 0. BYOL logs it at every step as `embedding_std`.
# * **the singular-value spectrum** of the $N \times D$ matrix of embeddings, and its **effective rank**
#   $\exp(-\sum_k p_k \log p_k)$, $p_k = \sigma_k / \sum_j \sigma_j$: 1 for a single point, $D$ when the
#   embeddings use every direction alike.
#
# Below, BYOL's loss, its std per step against $1/\sqrt{D}$, and its kNN after each epoch beside the untrained
# network's level (dotted, as for MoCo). Watch the std: it stays near $1/\sqrt{D}$, and the kNN rises above the
# untrained level from the first epoch on — no collapse.

# %%
from sslcourse.collapse import effective_rank, embedding_std, healthy_std, singular_values
from sslcourse.plots import encoder_colour

h_byol = run_b.fit(byol, train, eval_fn=monitor)  # a rerun loads it (lesson 08 too)
D = byol.projector[-1].out_features
fig, axes = plt.subplots(1, 3, figsize=(15, 3.2))
h_byol.plot(["loss"], ax=axes[0], colour=encoder_colour("BYOL"))  # BYOL in its colour, as in every figure
axes[1].plot(*h_byol.series("embedding_std"), label="BYOL", color=encoder_colour("BYOL"))
axes[1].axhline(healthy_std(D), ls="--", color="gray", label="1/√D")
axes[1].set_ylim(0, None)
axes[1].set(title="per-dimension std of z/‖z‖", xlabel="epoch", ylabel="std per dimension")
axes[1].legend(fontsize=8)
h_byol.plot(["knn"], ax=axes[2], per="epochs", colour=encoder_colour("BYOL"), reference={"untrained": untrained})
axes[2].set_title("kNN accuracy after each epoch")
knn = h_byol.series("knn", per="epochs")[1]  # the kNN monitor, after each epoch
axes[0].set_title("BYOL's loss (per step)")
fig.tight_layout()
plt.show()
print(f"BYOL's kNN after each epoch: {', '.join(f'{v:.1%}' for v in knn)} (untrained: {knn_start:.1%})")
if knn:
    claim("after every epoch BYOL's kNN is above the untrained network's on the same neighbours", min(knn), ">",
          knn_start, fmt="{:.1%}")

# %% [markdown]
# ### Remove one piece at a time
# Each run below is BYOL with something taken away, for `recipe_b["ablation_epochs"]` epochs on a quarter of the
# data:
#
# * **no predictor** — $p = z$: the online network regresses the target's projection with its own;
# * **no stop-gradient** — the targets are the online network's own projections, and the gradient flows through
#   both branches (SimSiam's "no stop-gradient" run);
# * **no momentum** — $m = 0$: the target is a copy of the online network from the previous step (a stop-gradient
#   still, but no averaging);
# * **no predictor, no momentum** — both asymmetries between the branches gone at once: the online network
#   regresses its own projection of the other view, as it was one step ago;
# * and, as the control, **BYOL at the same budget** — nothing taken away: what each ablation is compared with.
#
# `fit` checks the logged std of every method that sets a `collapse_threshold` (BYOL: a tenth of $1/\sqrt{D}$)
# and warns once, in a sentence, when it falls below it — the warnings of the runs that collapse are printed below
# (a run loaded from its checkpoint warns too: `fit` reads the std its training logged back from the checkpoint).

# %%
import warnings

variants = {"BYOL, same budget": {},  # the control: nothing taken away
            "no predictor": dict(predictor=False), "no stop-gradient": dict(stop_gradient=False),
            "no momentum": dict(momentum=0.0, schedule="constant"),
            "no predictor, no momentum": dict(predictor=False, momentum=0.0, schedule="constant")}
ablations = {}
for name, changes in variants.items():
    run_v = plan_run("byol", p, quarter, seed=SEED, epochs=recipe_b["ablation_epochs"], **changes)
    method_v = run_v.build()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history_v = run_v.fit(method_v, quarter, desc=f"byol, {name}")
    ablations[name] = dict(method=method_v, history=history_v)
    for w in caught:
        print(f"{w.category.__name__}: {w.message}")  # the message names the run

# %%
def projections(method, images):
    """The online projections z = g(f(x)) of images (the embeddings the loss sees), in eval mode."""
    return extract_features(nn.Sequential(method.encoder, method.projector), images)


collapse = {"BYOL": dict(method=byol, history=h_byol), **ablations}
for name, r in collapse.items():
    z = projections(r["method"], test.images[:1024])
    r.update(std=embedding_std(z).item(), rank=effective_rank(z).item(), spectrum=singular_values(z).cpu(),
             knn=knn_of(r["method"].encoder))
    print(f"{name:<17} std {r['std']:.4f} (1/√D = {healthy_std(D):.4f})  effective rank {r['rank']:5.1f} of {D}  "
          f"kNN {r['knn']:.1%}")
chance = 1 / len(train.classes)
print(f"chance {chance:.1%}; random-init encoder kNN {knn_random:.1%}")

# %%
import matplotlib.patches as mpatches

from sslcourse.plots import group_colours

# one colour per run for the rest of the lesson: BYOL and its same-budget control in BYOL's colour, each ablation
# in a colour no method of the course has (an ablation is no method)
colour = group_colours(collapse, {"BYOL": encoder_colour("BYOL"), "BYOL, same budget": encoder_colour("BYOL")})
fig, axes = plt.subplots(1, 3, figsize=(15, 3.6))
# full BYOL dashed (a longer run than the others); the two runs that collapse, both near 0, told apart by their lines
styles = {"BYOL": "--", "no predictor, no momentum": "-."}
for name, r in collapse.items():
    ls = styles.get(name, "-")
    if name != "BYOL":  # the ablations and their control, step for step (full BYOL's curve is above)
        rows = [row for row in r["history"].steps if "embedding_std" in row]
        axes[0].plot([row["step"] for row in rows], [row["embedding_std"] for row in rows], label=name,
                     color=colour[name], ls=ls)
    axes[1].semilogy(r["spectrum"] / r["spectrum"][0], ls=ls, label=f"{name} (rank {r['rank']:.0f})",
                     color=colour[name])
axes[0].axhline(healthy_std(D), ls="--", color="gray", label="1/√D")
axes[0].axhline(byol.collapse_threshold, ls=":", color="black", label="fit's warning below this")
axes[0].set(title="per-dimension std of z/‖z‖ during training", xlabel="optimiser step", ylim=(0, None))
axes[1].set(title="singular values of test embeddings", xlabel="k", ylabel="σ_k / σ_1", ylim=(1e-4, 1.5))
# full BYOL's bar outlined in black (in the course's bar charts a hatch means kNN beside a solid probe bar)
axes[2].bar(list(collapse), [100 * r["knn"] for r in collapse.values()], color=[colour[n] for n in collapse],
            edgecolor=["black" if n == "BYOL" else "0.25" for n in collapse],
            linewidth=[2.0 if n == "BYOL" else 0.5 for n in collapse])
axes[2].axhline(100 * chance, ls="--", color="black", label="chance")
axes[2].axhline(100 * knn_random, ls=":", color="gray", label="random init")
axes[0].set_ylabel("std per dimension")
axes[2].set(title="kNN accuracy of the encoder (%)")
plt.setp(axes[2].get_xticklabels(), rotation=25, ha="right", fontsize=8)
for ax in axes[:2]:  # below the panels, where no legend hides a curve
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
longer = mpatches.Patch(facecolor=colour["BYOL"], edgecolor="black", linewidth=2.0,
                        label="full BYOL (ten times the steps)")
axes[2].legend(handles=axes[2].get_legend_handles_labels()[0] + [longer], fontsize=7)
plt.show()

# %% [markdown]
# What the plots show in this run. Each ablation is compared with BYOL trained on the same quarter of the data for
# the same steps (the control); full BYOL, trained for ten times as many steps on all of it, appears only in the
# spectrum (dashed) and the kNN panel. At this budget even the control's kNN sits within a few points of random
# init's and kNN does not order these short runs, so the std and the rank are where the ablations show what they
# lost:
#
# * **No stop-gradient collapses**: its std falls below `fit`'s threshold during training (the warning), its
#   embeddings keep an effective rank of 2 to 4 of $D$ (the control keeps about 25), and its kNN accuracy ends below
#   the control's, near random init's or under it: training taught it nothing a kNN can use.
# * **No predictor *and* no momentum collapses** the same way: std below the threshold, effective rank 2 to 3,
#   kNN below the control's.
# * **Either asymmetry alone holds the collapse off in the quick profile** — neither sets off `fit`'s warning — but
#   each costs dimensions. Without the predictor the std ends at about half of the control's, and so does the
#   effective rank: a partial collapse the slow target keeps from going all the way in this budget (BYOL's paper
#   reports a near-total one in its 300-epoch ImageNet runs). Without the momentum the std stays with the
#   control's, above half of $1/\sqrt{D}$ — with the predictor and the stop-gradient in place, a target that is the
#   previous step's online network keeps the embeddings spread (SimSiam's finding, Chen & He 2021; BYOL's own
#   table reports a collapse at $m = 0$ with its settings) — yet its effective rank falls to between a half and
#   two thirds of the control's. In one gpu-profile run on CIFAR-10 (seed 0)
#   the run without the predictor did go all the way — its std fell below the threshold, `fit` warned, and its
#   effective rank ended at 4 of 128, the near-total collapse of BYOL's paper — while the run without the momentum
#   kept 16.7 (full BYOL 26.1; `BENCHMARKS.md`). Not collapsing is not the same as learning much, though: at this budget neither these runs nor the
#   control moved kNN far from random init; full BYOL's bar shows what the longer run adds.
# * Full BYOL keeps its std within a factor of 2 of $1/\sqrt{D}$, and its kNN accuracy is above random init.

# %%
def warned(r):
    """fit warns when a logged embedding_std falls below the method's collapse_threshold: did this run's?"""
    return min(r["history"].series("embedding_std")[1]) < r["method"].collapse_threshold


no_sg, no_pred, no_m = collapse["no stop-gradient"], collapse["no predictor"], collapse["no momentum"]
neither, same = collapse["no predictor, no momentum"], collapse["BYOL, same budget"]
for name, r in [("without the stop-gradient", no_sg), ("without predictor and momentum", neither)]:
    claim(f"{name} the std falls below fit's threshold (the warning)", warned(r))
    claim(f"{name} the effective rank ends below 5", r["rank"], "<", 5, fmt="{:.1f}")
    claim(f"{name} kNN ends below the control's (BYOL at the same budget)", r["knn"], "<", same["knn"],
          fmt="{:.1%}", got=f"{r['knn']:.1%} (control {same['knn']:.1%}, random init {knn_random:.1%})")
claim("without the predictor the std ends below 60 % of the control's", no_pred["std"] / same["std"], "<", 0.6,
      fmt="{:.2f}×")
claim("without the predictor the effective rank ends below two thirds of the control's", no_pred["rank"], "<",
      2 / 3 * same["rank"], fmt="{:.1f}")
claim("without the momentum the std stays within 20 % of the control's", abs(no_m["std"] / same["std"] - 1), "<",
      0.2, fmt="{:.1%}")
claim("without the momentum the effective rank still falls below 80 % of the control's", no_m["rank"], "<",
      0.8 * same["rank"], fmt="{:.1f}")
claim("without the momentum BYOL does not collapse here (std above half of 1/sqrt(D), no warning)",
      not warned(no_m) and no_m["std"] > healthy_std(D) / 2, got=f"std {no_m['std']:.3f}")
claim("neither asymmetry removed alone sets off fit's warning", not warned(no_pred) and not warned(no_m))
claim("full BYOL keeps its std within a factor of 2 of 1/sqrt(D), with no warning",
      not warned(collapse["BYOL"]) and collapse["BYOL"]["std"] > healthy_std(D) / 2,
      got=f"std {collapse['BYOL']['std']:.3f}, 1/sqrt(D) = {healthy_std(D):.3f}")
claim("full BYOL's kNN accuracy is above random init", collapse["BYOL"]["knn"], ">", knn_random, fmt="{:.1%}")

# %% [markdown]
# ## 3. Alignment and uniformity
# Wang & Isola (2020) split what a contrastive loss asks of normalised features $u = f(x)/\lVert f(x)\rVert$ into
# two numbers, both *lower is better*:
# $$\mathcal{L}_\text{align} = \mathbb{E}_{(x, x^+)}\,\lVert u(x) - u(x^+)\rVert^2, \qquad
#   \mathcal{L}_\text{uniform} = \log\,\mathbb{E}_{x, y}\, e^{-2\lVert u(x) - u(y)\rVert^2} .$$
# **Alignment**: how far apart two views of the same image land (0: the same point; 4: opposite ends of the
# sphere). **Uniformity**: how evenly all images spread over the sphere (0: all in one point; lower is more
# spread). A constant encoder would be perfectly aligned and not uniform at all; a good one is both aligned and
# uniform. We measure the encoders' features $f(x)$ (not the projections the losses see), on two views of 1,024
# test images. Mind the floor: $f(x)$ comes out of a ReLU, so its entries are $\ge 0$ and any two features have a
# cosine $\ge 0$ — they are at most $\sqrt 2$ apart, never at opposite ends of the sphere. Uniformity can then not
# go below $\log e^{-2 \cdot 2} = -4$, and reaching $-4$ would need every pair of images orthogonal, impossible for
# thousands of images in $D$ dimensions. Compare encoders with each other, not with $-4$.
#
# Two things to keep in mind when reading the numbers. Every encoder is measured on the same views, MoCo's
# quick-profile views (colour strength 0.5, grey half the time). SimCLR and BYOL trained on other views (SimCLR:
# grey a fifth of the time; BYOL: milder colour jitter, grey two thirds of the time), so their alignment here is
# measured on views unlike those they learnt from.
# And the run without the stop-gradient is one of section 2's short ablations: a tenth of full BYOL's steps.

# %%
from sslcourse.collapse import alignment, uniformity
from sslcourse.runs import train_method

simclr, _, _ = train_method("simclr", p, train, seed=SEED)  # lesson 04's run: loaded if it exists
encoders = {"random init": random_init, "SimCLR": simclr.encoder, "MoCo": moco.encoder, "BYOL": byol.encoder,
            "BYOL, no stop-gradient": ablations["no stop-gradient"]["method"].encoder}
x = test.images[:1024]
g = torch.Generator(x.device).manual_seed(SEED)
v1, v2 = moco.augment(x, g), moco.augment(x, g)  # the same views for every encoder
geometry = {}
for name, enc in encoders.items():
    f1, f2 = extract_features(enc, v1), extract_features(enc, v2)
    geometry[name] = dict(alignment=alignment(f1, f2).item(), uniformity=uniformity(torch.cat([f1, f2])).item())
    print(f"{name:<24} alignment {geometry[name]['alignment']:.3f}   uniformity {geometry[name]['uniformity']:.3f}")

# %%
plt.figure(figsize=(5, 3.8))
colour["BYOL, no stop-gradient"] = colour["no stop-gradient"]
for name, r in geometry.items():
    plt.scatter(r["alignment"], r["uniformity"], s=60, color=colour.get(name, encoder_colour(name)))
    plt.annotate(name, (r["alignment"], r["uniformity"]), fontsize=8, xytext=(4, 4), textcoords="offset points")
plt.xlabel("alignment (lower: views agree)")
plt.ylabel("uniformity (lower: spread out)")
plt.title("the geometry of the features")
plt.show()

# %% [markdown]
# In this run SimCLR, MoCo and BYOL are all **more uniform** than the random-init encoder: training spread the
# images over the sphere. The BYOL run without the stop-gradient has the **worst alignment** of all — and it is
# the **most uniform** of the five. Its *projections* collapsed to one point, but nothing constrains the
# encoder's features any more: they scatter, and two views of one image no longer land together. The most
# uniform features here belong to a run that collapsed and whose kNN ended below BYOL's at the same budget
# (section 2): uniformity alone does not make a good encoder; it takes both numbers.
#
# Alignment alone does not either: the random-init encoder is about as well aligned as the trained ones (0.004 to
# 0.035 from the best of them in three quick-profile runs, better than some; 0.02 against SimCLR's 0.13 in one gpu
# run on CIFAR-10) — it maps every image into one narrow cone (lesson 04: its projections nearly coincide), so two
# views of an image land close together by default. Read alignment beside uniformity, never alone.

# %%
for name in ("SimCLR", "MoCo", "BYOL", "BYOL, no stop-gradient"):
    claim(f"{name} is more uniform than the random-init encoder", geometry[name]["uniformity"], "<",
          geometry["random init"]["uniformity"], fmt="{:.2f}")
trained = min(geometry[k]["alignment"] for k in ("SimCLR", "MoCo", "BYOL"))
claim("the random-init encoder is about as aligned as SimCLR, MoCo and BYOL (within 0.05 of the best of them)",
      abs(geometry["random init"]["alignment"] - trained), "<", 0.05, fmt="{:.3f}")
next_most = min(r["uniformity"] for k, r in geometry.items() if k != "BYOL, no stop-gradient")
claim("BYOL without the stop-gradient is the most uniform of the five",
      geometry["BYOL, no stop-gradient"]["uniformity"], "<", next_most, fmt="{:.2f}")
claim("BYOL without the stop-gradient has the worst alignment of all",
      max(geometry, key=lambda k: geometry[k]["alignment"]) == "BYOL, no stop-gradient",
      got=max(geometry, key=lambda k: geometry[k]["alignment"]))

# %% [markdown]
# ## 4. The shared protocol
# Frozen features, kNN and linear probe, against random init, the supervised encoder and SimCLR (lesson 04).

# %%
from sslcourse.evaluate import evaluate_encoder
from sslcourse.plots import plot_bars, results_table
from sslcourse.runs import baseline

results = {
    "random init": baseline("random", p, train, test, seed=SEED),
    "SimCLR": evaluate_encoder(simclr.encoder, train, test),
    "MoCo": evaluate_encoder(moco.encoder, train, test),
    "BYOL": evaluate_encoder(byol.encoder, train, test),
    "supervised": baseline("supervised", p, train, test, seed=SEED),
}
print(results_table(results))
gains = {name: results[name]["linear_probe_accuracy"] - results["random init"]["linear_probe_accuracy"]
         for name in ("SimCLR", "MoCo", "BYOL")}
print("\nlinear-probe gain over random init: " + ", ".join(f"{k} {100 * v:+.1f} points" for k, v in gains.items()))
plot_bars(results, title="MoCo and BYOL vs the baselines")
plt.show()

# %% [markdown]
# In the quick profile, with its recipes: **MoCo and SimCLR each beat random init by more than 20 linear-probe
# points, BYOL by about 20 to 25** (seeds 0–2, bf16 and fp32, `BENCHMARKS.md`; this run's gains are printed above);
# and the supervised encoder, trained with the labels, is the best of all.
# One gpu-profile run on CIFAR-10 (seed 0) gave SimCLR about 30 points, MoCo 20 and BYOL 12: on CIFAR-10, at
# that budget, BYOL gained least.

# %%
lin = {k: v["linear_probe_accuracy"] for k, v in results.items()}
for name, points in (("MoCo", 20), ("BYOL", 15), ("SimCLR", 20)):
    claim(f"{name} beats random init by at least {points} linear-probe points", gains[name], ">=", points / 100,
          fmt="{:+.1%}")
claim("the supervised encoder is the best of all", lin["supervised"], ">",
      max(v for k, v in lin.items() if k != "supervised"), fmt="{:.1%}")

# %% [markdown]
# ## What to try next
# * MoCo's queue size: `plan_run("moco", p, train, queue_size=512)` or `16384`. A queue much longer than the key
#   encoder's memory ($1/(1-m)$ steps) fills with stale keys.
# * BYOL's momentum: `momentum=0.9` or `0.999`; and the predictor's learning rate (`predictor_lr=1`: the
#   predictor at the same rate as the rest, as in BYOL's paper).
# * BYOL's augmentations: `plan_run("byol", p, train, gray_p=0.2, strength=0.5)` gives it SimCLR's colour
#   augmentations back. Without negatives nothing pushes BYOL off the colours two views of an image share; watch
#   the kNN curve and the linear probe (BENCHMARKS.md has our runs of both recipes).
# * **Exercise 06** (`exercises/06_momentum.ipynb`): write the momentum update, BYOL's loss and MoCo's queue.
#
# **What failure looks like:** an `embedding_std` that falls towards 0 and an effective rank near 1 (collapse:
# check the stop-gradient and the predictor; `fit` warns); a MoCo loss that drops much faster than the kNN
# accuracy rises (keys from a fast-changing encoder, or batch norm telling the current batch's keys from the
# queue's — MoCo's shuffled batch norm exists for that); a queue that never changes (keys enqueued into a copy,
# not the buffer).

# %%
from sslcourse.course import record_results

record_results("06_momentum_and_collapse", {k: results[k] for k in ("random init", "SimCLR", "MoCo", "BYOL",
                                                                    "supervised")},
               profile=p.name, dataset=train.name)
