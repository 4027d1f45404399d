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
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/main/notebooks/06_compare_and_apply.ipynb)
#
# # 06 — All methods side by side: which pretext task taught the most, and what are the features for?
#
# Every method of the course trains the *same* backbone on the *same* unlabelled images with its own recipe;
# one protocol measures them all. Then we use the features for what self-supervision is for: learning from
# **few labels**, **finding anomalies**, and **grouping images without any labels**.
#
# Checkpoints left by lessons 01–05 (same settings, same cache) are reused; missing ones are trained here.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course and enable widgets
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse[dev] @ git+https://github.com/sslcourse/sslcourse"])
    from google.colab import output
    output.enable_custom_widget_manager()

# %% tags=["parameters"]
import os

PROFILE = os.environ.get("SSLCOURSE_PROFILE")  # None: "quick" on a CPU, "gpu" with CUDA; "full" on request
SEED = 0

# %%
import time

import matplotlib.pyplot as plt
import torch

from sslcourse.config import lesson_setup
from sslcourse.data import load_profile_data

p = lesson_setup(PROFILE, seed=SEED)
train, test = load_profile_data(p)

# %% [markdown]
# ## 1. Train (or load) every encoder
# `train_method` builds a method with the profile's recipe and trains it through `fit`, with a checkpoint in the
# cache — so a method already trained by its lesson is loaded instead of trained again.

# %%
from sslcourse.runs import train_method
from sslcourse.models import build_backbone

encoders, train_seconds = {"random init": build_backbone(p.backbone, seed=SEED).to(p.device)}, {}
for name in ("inpainting", "rotation", "jigsaw", "simclr", "moco", "byol", "gan", "supervised"):
    t0 = time.perf_counter()
    method, recipe, _ = train_method(name, p, train, seed=SEED)
    encoders[name] = method.encoder.eval()
    train_seconds[name] = time.perf_counter() - t0
    print(f"{name:<11} {recipe['epochs']:>3} epochs, {train_seconds[name]:5.1f} s")

# %% [markdown]
# ## 2. The leaderboard
# Features are extracted once per encoder and reused by every evaluation below.

# %%
from sslcourse.evaluate import extract_features, knn_accuracy, linear_probe

features = {name: (extract_features(enc, train.images), extract_features(enc, test.images))
            for name, enc in encoders.items()}
board = {}
for name, (ftr, fte) in features.items():
    board[name] = {"knn_accuracy": knn_accuracy(ftr, train.labels, fte, test.labels, k=20),
                   "linear_probe_accuracy": linear_probe(ftr, train.labels, fte, test.labels)}

from sslcourse.plots import plot_bars, results_table

ranked = dict(sorted(board.items(), key=lambda kv: kv[1]["linear_probe_accuracy"]))
print(results_table(ranked))
plot_bars(ranked, title=f"{p.backbone} on {train.name}: frozen features")
plt.show()

# %% [markdown]
# Every pretext task beats random init; how far each gets towards the supervised encoder is what it taught.
# (The GAN row is its *discriminator*, a different network from the backbone — see lesson 05.)
#
# ## 3. Few labels: fine-tuning
# The reason to pretrain. Give each encoder a linear head and fine-tune *everything* on 1 % or 10 % of the labels
# (100 or 1,000 images; a fixed recipe of 100 steps), then test. "random init" is training from scratch on those
# few labels.

# %%
from sslcourse.runs import finetune

fractions = (0.01, 0.1)
few_label = {name: [finetune(enc, train, test, f, amp=p.amp, seed=SEED) for f in fractions]
             for name, enc in encoders.items() if name != "supervised"}
for name, accs in sorted(few_label.items(), key=lambda kv: kv[1][-1]):
    plt.plot([100 * f for f in fractions], [100 * a for a in accs], "o-", label=name)
    print(f"{name:<12}" + "".join(f"{f:>5.0%} labels: {a:6.1%}   " for f, a in zip(fractions, accs)))
plt.xscale("log")
plt.xticks([100 * f for f in fractions], [f"{f:.0%}" for f in fractions])
plt.minorticks_off()
plt.xlabel("labelled training images")
plt.ylabel("test accuracy (%)")
plt.title("fine-tuning with few labels")
plt.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## 4. Anomaly detection
# Treat one class as "defects" that never appear among the normal training images. Score each test image by its
# mean cosine distance to its 5 nearest *normal* training features: far from everything normal = anomalous. The
# ROC-AUC says how well the score separates defects from normal test images (0.5 = chance, 1 = perfect). We repeat
# with each of the ten classes as the defect and average.

# %%
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score


def anomaly_auc(ftr, ytr, fte, yte, defect, k=5):
    normal = F.normalize(ftr[ytr != defect], dim=1)
    sim = F.normalize(fte, dim=1) @ normal.T
    score = 1 - sim.topk(k, dim=1).values.mean(1)  # distance to the normal neighbours
    return roc_auc_score((yte == defect).cpu().numpy(), score.cpu().numpy())


auc = {name: sum(anomaly_auc(ftr, train.labels, fte, test.labels, c) for c in range(10)) / 10
       for name, (ftr, fte) in features.items()}
for name, a in sorted(auc.items(), key=lambda kv: kv[1]):
    print(f"{name:<12} mean ROC-AUC {a:.3f}")

# %% [markdown]
# ## 5. Clustering without labels
# k-means with 10 clusters on the (normalised) test features; normalised mutual information (NMI) between the
# clusters and the true classes: 0 = unrelated, 1 = the clusters are the classes.

# %%
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

nmi = {}
for name, (_, fte) in features.items():
    clusters = KMeans(10, n_init=3, random_state=SEED).fit_predict(F.normalize(fte, dim=1).cpu().numpy())
    nmi[name] = normalized_mutual_info_score(test.labels.cpu().numpy(), clusters)
for name, v in sorted(nmi.items(), key=lambda kv: kv[1]):
    print(f"{name:<12} NMI {v:.3f}")

# %% [markdown]
# ## 6. Everything in one table

# %%
for name in board:
    board[name].update(anomaly_auc=auc[name], nmi=nmi[name])
    if name in few_label:
        board[name].update(finetune_1pct=few_label[name][0], finetune_10pct=few_label[name][1])
cols = ["knn_accuracy", "linear_probe_accuracy", "finetune_1pct", "finetune_10pct", "anomaly_auc", "nmi"]
print(f"{'encoder':<12}" + "".join(f"{c.replace('_accuracy', ''):>15}" for c in cols))
for name, r in sorted(board.items(), key=lambda kv: kv[1]["linear_probe_accuracy"]):
    print(f"{name:<12}" + "".join(f"{r[c]:>15.3f}" if c in r else f"{'-':>15}" for c in cols))
best = {c: max((n for n in board if n != "supervised" and c in board[n]), key=lambda n: board[n][c]) for c in cols}
print("\nbest self-supervised encoder per column:", best)

# %% [markdown]
# ## 7. What transfers, and why
# First the facts of this run, computed from the table:

# %%
ssl = [n for n in board if n not in ("random init", "supervised")]
for c in cols:
    ranked_c = sorted((n for n in ssl if c in board[n]), key=lambda n: -board[n][c])
    gap = board[ranked_c[0]][c] - board["random init"][c]
    print(f"{c:<22} best: {ranked_c[0]:<10} ({board[ranked_c[0]][c]:.3f}, {gap:+.3f} over random init); "
          f"order: {' > '.join(ranked_c)}")
sup_gap = board["supervised"]["linear_probe_accuracy"] - board["random init"]["linear_probe_accuracy"]
closed = {n: (board[n]["linear_probe_accuracy"] - board["random init"]["linear_probe_accuracy"]) / sup_gap for n in ssl}
print("share of the random→supervised gap closed (linear probe):",
      ", ".join(f"{n} {v:.0%}" for n, v in sorted(closed.items(), key=lambda kv: -kv[1])))

# %% [markdown]
# How to read them:
#
# * **Frozen features (kNN, linear probe, clustering).** Contrastive learning asks directly for what these measure:
#   features that stay the same under the changes we do not care about (crops, colour) and differ between images.
#   On `shapes`, where colour is random by construction, invariance to colour is exactly right — which is why SimCLR
#   usually leads these columns, and by the widest margin in clustering, which needs classes to form tight groups.
# * **Rotation** must recognise an object's orientation, which takes its shape; **masked reconstruction** and
#   **jigsaw** learn local structure — what continues behind a mask, which part sits next to which — together with
#   position and texture that a linear probe has to work around. **The GAN's discriminator** learns "does this look
#   real?", a different network with a larger feature vector (lesson 05).
# * **Fine-tuning** changes the picture: the whole network adapts, so what matters is a good *starting point* for
#   gradient descent, not linearly separable features. An encoder that is not the best frozen can be the best
#   starting point — compare the two columns.
# * **Anomaly detection** by nearest-neighbour distance is hard on `shapes`: a new object class on a random scene is
#   not far from normal images in any feature space that also encodes the scene. Only features that focus on the
#   object (supervised, then the best self-supervised ones) rise clearly above 0.5.
#
# One run, one seed: differences of a point or two are noise; the gaps to random init and to supervised are not
# (`BENCHMARKS.md` has the per-lesson figures). On CIFAR-10 (the full profile) the gaps are larger and the middle of
# the ranking can change.
#
# ## What to try next
# * `sslcourse train all` runs this leaderboard from a terminal, and `sslcourse eval CHECKPOINT --finetune`
#   evaluates any saved encoder.
# * Hold out a class you choose in the anomaly detection and look at the most anomalous test images.
# * Change `SEED` and see which differences survive.

# %%
from sslcourse.course import record_results

record_results("06_compare_and_apply", board, profile=p.name, dataset=train.name)
