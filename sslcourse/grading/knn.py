"""Exercise 00 — the weighted kNN classifier of the evaluation protocol.

Graded functions::

    cosine_similarity_matrix(a, b) -> (M, N)            cos(a_i, b_j)
    weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07,
                         num_classes=None) -> (M,) int64
"""
from __future__ import annotations

import math

import torch

from .core import Case, CheckFailed, expect_close, expect_equal, expect_tensor, inline_check


def reference_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Slow and literal: cos(a_i, b_j) = a_i·b_j / (‖a_i‖ ‖b_j‖)."""
    out = torch.empty(len(a), len(b), dtype=torch.float64)
    for i in range(len(a)):
        for j in range(len(b)):
            ai, bj = a[i].double(), b[j].double()
            out[i, j] = (ai @ bj) / (ai.norm() * bj.norm())
    return out


def reference_knn(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    """Slow and literal (Wu et al. 2018): each of the k most similar training points votes
    for its class with weight exp(cos / τ); the class with the largest total wins."""
    num_classes = num_classes or int(train_labels.max()) + 1
    preds = []
    for x in test_features:
        sims = [(float(reference_cosine(x[None], t[None])[0, 0]), int(y)) for t, y in zip(train_features, train_labels)]
        sims.sort(key=lambda s: -s[0])
        votes = [0.0] * num_classes
        for s, y in sims[:k]:
            votes[y] += math.exp(s / temperature)
        preds.append(max(range(num_classes), key=lambda c: votes[c]))
    return torch.tensor(preds, dtype=torch.int64)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def cosine_cases() -> list[Case]:
    def shape_and_dtype(fn):
        a, b = torch.randn(5, 8, generator=_gen(0)), torch.randn(7, 8, generator=_gen(1))
        expect_tensor(fn(a, b), "cosine_similarity_matrix(a (5, 8), b (7, 8))", shape=(5, 7))

    def values(fn):
        a, b = torch.randn(6, 4, generator=_gen(2)), torch.randn(9, 4, generator=_gen(3))
        expect_close(fn(a, b), reference_cosine(a, b).float(), "the similarities", atol=1e-5)

    def scale_invariant(fn):
        a, b = torch.randn(4, 3, generator=_gen(4)), torch.randn(5, 3, generator=_gen(5))
        scaled = a * torch.tensor([[0.01], [3.0], [100.0], [1.0]])
        expect_close(fn(scaled, b), fn(a, b), "similarities of rescaled vectors", atol=1e-5)

    def self_similarity(fn):
        a = torch.randn(6, 5, generator=_gen(6))
        expect_close(torch.diagonal(fn(a, a)), torch.ones(6), "cos(a_i, a_i)", atol=1e-5)

    return [
        Case("returns an (M, N) tensor", shape_and_dtype, "compare every row of a with every row of b: a @ b.T"),
        Case("equals a·b / (‖a‖‖b‖)", values, "normalise each row to unit length first (F.normalize(x, dim=1))"),
        Case("ignores the length of the vectors", scale_invariant, "divide by the norms of a's and b's rows"),
        Case("a vector is fully similar to itself", self_similarity, "after normalising, cos(a, a) = 1"),
    ]


def knn_cases() -> list[Case]:
    def output_type(fn):
        f = torch.randn(50, 8, generator=_gen(0))
        y = torch.arange(50) % 5
        out = fn(f, y, torch.randn(7, 8, generator=_gen(1)), k=5)
        expect_tensor(out, "the predictions for 7 queries", shape=(7,), dtype=torch.int64)

    def separable(fn):
        centres = torch.eye(4, 16) * 10
        g = _gen(2)
        train_y = torch.arange(200) % 4
        train = centres[train_y] + torch.randn(200, 16, generator=g)
        test_y = torch.arange(40) % 4
        test = centres[test_y] + torch.randn(40, 16, generator=g)
        pred = fn(train, train_y, test, k=20)
        acc = (pred == test_y).float().mean().item()
        if acc < 1.0:
            raise CheckFailed(f"accuracy {acc:.0%} on four well-separated clusters, expected 100%")

    def matches_reference(fn):
        g = _gen(3)
        train, test = torch.randn(60, 6, generator=g), torch.randn(15, 6, generator=g)
        y = torch.randint(0, 4, (60,), generator=g)
        for k, t in ((5, 0.1), (12, 0.5), (1, 0.07)):
            expect_equal(fn(train, y, test, k=k, temperature=t), reference_knn(train, y, test, k, t),
                         f"predictions with k={k}, temperature={t}")

    def weighted_votes(fn):
        # One very similar neighbour of class 0 against two less similar ones of class 1:
        # a plain majority says 1, the exp(cos/τ) weights with τ = 0.07 say 0.
        train = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8], [-1.0, 0.0]])
        y = torch.tensor([0, 1, 1, 2])
        pred = fn(train, y, torch.tensor([[1.0, 0.02]]), k=3, temperature=0.07)
        expect_tensor(pred, "the prediction", shape=(1,))
        if int(pred[0]) != 0:
            raise CheckFailed(f"predicted class {int(pred[0])}: the votes were counted, not weighted")

    def cosine_not_euclidean(fn):
        # A long vector in the same direction is a cosine neighbour but a Euclidean stranger.
        train = torch.tensor([[10.0, 0.0], [0.0, 1.0]])
        y = torch.tensor([0, 1])
        pred = fn(train, y, torch.tensor([[0.7, 0.6]]), k=1)
        if int(pred[0]) != 0:
            raise CheckFailed("the nearest neighbour was chosen by distance, not by cosine similarity")

    def num_classes_and_large_k(fn):
        train = torch.randn(10, 3, generator=_gen(4))
        y = torch.tensor([0, 1] * 5)
        pred = fn(train, y, torch.randn(4, 3, generator=_gen(5)), k=50, temperature=0.1, num_classes=3)
        expect_tensor(pred, "predictions with k larger than the training set", shape=(4,), dtype=torch.int64)

    def inputs_untouched(fn):
        train, test = torch.randn(20, 4, generator=_gen(6)), torch.randn(5, 4, generator=_gen(7))
        y = torch.arange(20) % 2
        copies = train.clone(), test.clone(), y.clone()
        fn(train, y, test, k=3)
        if not (torch.equal(train, copies[0]) and torch.equal(test, copies[1]) and torch.equal(y, copies[2])):
            raise CheckFailed("the function changed its inputs in place")

    return [
        Case("returns one int64 class per query", output_type, "return votes.argmax(dim=1)"),
        Case("100% on well-separated clusters", separable, "take the k most similar training points (topk)"),
        Case("agrees with a slow reference (k = 5, 12, 1)", matches_reference,
             "weights exp(sim / temperature), summed per class with scatter_add_ or one_hot"),
        Case("weights votes by exp(similarity / τ)", weighted_votes,
             "each neighbour adds exp(sim/τ) to its class, not 1"),
        Case("uses cosine similarity", cosine_not_euclidean, "normalise the features, then take dot products"),
        Case("handles k > number of training points", num_classes_and_large_k, "k = min(k, len(train_features))"),
        Case("leaves its inputs unchanged", inputs_untouched, "avoid in-place operations such as x /= norm"),
    ]


def check_cosine_similarity_matrix(fn):
    return inline_check("cosine_similarity_matrix", fn, cosine_cases())


def check_weighted_knn_predict(fn):
    return inline_check("weighted_knn_predict", fn, knn_cases())


GRADED = {"cosine_similarity_matrix": cosine_cases, "weighted_knn_predict": knn_cases}
