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
# # Exercise 00 — the weighted kNN classifier
#
# Every lesson of the course measures an encoder by how well a **k-nearest-neighbour vote** on its frozen
# features predicts the class (lesson 00, section 4). Here you write that classifier yourself, in two steps,
# each followed by a check cell that tells you which cases pass. `sslcourse grade exercises/00_knn.ipynb`
# grades the whole notebook from a terminal.
#
# No loops over samples: everything is a few tensor operations on whole matrices.

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
from sslcourse.grading import check_cosine_similarity_matrix, check_weighted_knn_predict

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
# Hint: `votes.scatter_add_(1, neighbour_labels, weights)` adds each weight into its class column.

# %%
def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    """Predicted class (M,) int64 of each test feature by a temperature-weighted kNN vote."""
    # YOUR CODE HERE
    raise NotImplementedError("replace this line with your solution")


# %%
check_weighted_knn_predict(weighted_knn_predict)

# %% [markdown]
# ## 3. Use it on real features
#
# Compare your classifier with the course's `knn_accuracy` on the features of a random-init encoder.
# (This cell raises `NotImplementedError` until your functions are written.)

# %% tags=["raises-exception"]
from sslcourse.data import load_profile_data
from sslcourse.evaluate import extract_features, knn_accuracy
from sslcourse.models import build_backbone

train, test = load_profile_data(p, train_size=5000)
encoder = build_backbone(p.backbone, seed=0).to(p.device)
f_train, f_test = extract_features(encoder, train.images), extract_features(encoder, test.images)
mine = (weighted_knn_predict(f_train.cpu(), train.labels.cpu(), f_test.cpu(), k=20) == test.labels.cpu()).float().mean()
print(f"your kNN: {mine:.1%}   sslcourse.evaluate.knn_accuracy: {knn_accuracy(f_train, train.labels, f_test, test.labels, k=20):.1%}")

# %% [markdown]
# ## 4. Try it yourself
# * How does the accuracy change with `k` (1, 5, 20, 200) and with `temperature` (0.01, 0.07, 1, 100)?
#   At which temperature does the weighted vote become a plain majority vote?
# * Replace the cosine similarity with the negative Euclidean distance on unnormalised features. Better or worse, and why?
