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
# > **Exercise notebook** generated from `solutions/00_knn.py` by `make exercises` — edit the solution, not this file. Replace each `raise NotImplementedError(...)` with your code, then run the check cell below it.
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/sslcourse/sslcourse/blob/v0.2.0/exercises/00_knn.ipynb)
#
# # Exercise 00 — the weighted kNN classifier, and choosing k without the test set
#
# Every lesson of the course measures an encoder by how well a **k-nearest-neighbour vote** on its frozen
# features predicts the class (lesson 00, section 4). Here you write that classifier yourself, then a step the
# lesson does not take: **choosing $k$ honestly**, by a leave-one-out vote on the training features, so the test
# set is touched once. Each function is followed by a check cell that tells you which cases pass; a short experiment
# and a written answer (marked by hand) close the notebook. `sslcourse grade exercises/00_knn.ipynb` grades the
# functions from a terminal and lists your written answer for your teacher.
#
# No loops over samples: everything is a few tensor operations on whole matrices.

# %%
import subprocess
import sys

if "google.colab" in sys.modules:  # Colab only: install the course
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "sslcourse @ git+https://github.com/sslcourse/sslcourse@v0.2.0"])

# %%
import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F

from sslcourse.claims import claim
from sslcourse.config import lesson_setup
from sslcourse.grading import check_cosine_similarity_matrix, check_leave_one_out_accuracy, check_weighted_knn_predict

p = lesson_setup()

# %% [markdown]
# ## 1. Cosine similarity between two sets of vectors
#
# For rows $a_i$ of $A \in \mathbb{R}^{M\times D}$ and $b_j$ of $B \in \mathbb{R}^{N\times D}$:
# $$S_{ij} = \cos(a_i, b_j) = \frac{a_i^\top b_j}{\|a_i\|\,\|b_j\|}.$$
# Normalise every row to unit length, and the whole matrix is one product: $S = \hat A \hat B^\top$.

# %%
def cosine_similarity_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(M, D), (N, D) -> (M, N) cosine similarities."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_cosine_similarity_matrix(cosine_similarity_matrix)

# %% [markdown]
# ## 2. The weighted vote
#
# For each query, take the $k$ most similar training features (`topk`), and let each vote for its class
# with weight $e^{s_i/\tau}$:
# $$\text{score}_c = \sum_{i \in N_k} e^{s_i/\tau}\,[y_i = c], \qquad \hat y = \arg\max_c \text{score}_c .$$
# A small temperature $\tau$ lets the closest neighbours dominate; a large one approaches a plain majority vote.
# Build one row of class totals per query, all zeros, and add every neighbour's weight into the column of its
# class — one indexed addition for the whole batch, no loop.

# %%
def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    """Predicted class (M,) int64 of each test feature by a temperature-weighted kNN vote."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_weighted_knn_predict(weighted_knn_predict)

# %% [markdown]
# ## 3. Leave one out
#
# Which $k$ (and $\tau$) should the protocol use? Trying them on the test set and keeping the best makes the test
# accuracy a *tuned* number, no longer an estimate of new data. The honest way uses the training set alone:
# classify every training point $i$ by the vote of its $k$ neighbours among the **other** $N-1$ points,
# $$\text{LOO}(k, \tau) = \frac1N \sum_{i=1}^{N} \Big[\arg\max_c \sum_{j \in N_k(i),\, j \ne i} e^{s_{ij}/\tau}[y_j = c] = y_i\Big],$$
# where $N_k(i)$ are the $k$ points most similar to $i$ other than $i$ itself. Leaving $i$ out matters: every point
# is the most similar to itself. Leave it out **by its index**, not by its similarity (a duplicate image is another
# point and votes). Return the accuracy as a 0-dim float tensor; no loop over points.

# %%
def leave_one_out_accuracy(features, labels, k=20, temperature=0.07):
    """Fraction (0-dim float tensor) of points whose weighted kNN vote among the other N − 1 points is their label."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_leave_one_out_accuracy(leave_one_out_accuracy)

# %% [markdown]
# ## 4. Experiment: choose k on the training features
#
# The features of a random-init encoder (what every lesson compares against). First your classifier against the
# course's `knn_accuracy`; then leave-one-out on 2,000 training features for several $k$, the choice it makes, and —
# only to judge that choice — the test accuracy for every $k$.
# (These cells raise `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.data import load_profile_data
from sslcourse.evaluate import extract_features, knn_accuracy
from sslcourse.models import build_backbone

train, test = load_profile_data(p, train_size=5000)
encoder = build_backbone(p.backbone, seed=0).to(p.device)
f_train, f_test = extract_features(encoder, train.images).cpu(), extract_features(encoder, test.images).cpu()
y_train, y_test = train.labels.cpu(), test.labels.cpu()
mine = (weighted_knn_predict(f_train, y_train, f_test, k=20) == y_test).float().mean()
print(f"your kNN: {mine:.1%}   sslcourse.evaluate.knn_accuracy: {knn_accuracy(f_train, y_train, f_test, y_test, k=20):.1%}")

# %% tags=["raises-exception"]
ks = [1, 3, 10, 30, 100, 300]
loo = [float(leave_one_out_accuracy(f_train[:2000], y_train[:2000], k=k)) for k in ks]
on_test = [float((weighted_knn_predict(f_train, y_train, f_test, k=k) == y_test).float().mean()) for k in ks]
chosen = ks[max(range(len(ks)), key=loo.__getitem__)]
kept_self = (weighted_knn_predict(f_train[:2000], y_train[:2000], f_train[:2000], k=1) == y_train[:2000]).float().mean()
plt.plot(ks, [100 * a for a in loo], "o-", label="leave-one-out, 2,000 training features")
plt.plot(ks, [100 * a for a in on_test], "s--", label="test set (only to judge the choice)")
plt.axvline(chosen, color="grey", lw=0.8)
plt.xscale("log")
plt.xlabel("k")
plt.ylabel("accuracy (%)")
plt.legend()
plt.show()
print(f"leave-one-out chooses k = {chosen}; its test accuracy {on_test[ks.index(chosen)]:.1%}, the best k on the "
      f"test set would give {max(on_test):.1%}")
print(f"without leaving the point out, k = 1 'scores' {kept_self:.1%} on the training features")
claim("a point left in its own vote makes k = 1 look perfect", kept_self > 0.99)
claim("the choice costs under 2 points here", on_test[ks.index(chosen)] >= max(on_test) - 0.02)

# %% [markdown]
# ## Written answer (graded by hand): Choosing k without the test set
# Look at the two curves. (a) Why may the protocol choose $k$ by leave-one-out on the training features, but not by
# the test accuracy — what would the reported number then mean? (b) Had you forgotten to leave each point out, which
# $k$ would the training features have chosen, whatever the encoder, and why? (A few sentences.)

# %% [markdown]
# *Your answer here: double-click this cell and replace this line.*
