"""Exercise 00 — the weighted kNN classifier of the evaluation protocol.

Graded functions::

    cosine_similarity_matrix(a, b) -> (M, N)            cos(a_i, b_j)
    weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07,
                         num_classes=None) -> (M,) int64
"""
from __future__ import annotations

import math

import torch

from .core import VALUE, Case, CheckFailed, Graded, expect_close, expect_tensor, inline_check


def reference_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Slow and literal: cos(a_i, b_j) = a_i·b_j / (‖a_i‖ ‖b_j‖)."""
    out = torch.empty(len(a), len(b), dtype=torch.float64)
    for i in range(len(a)):
        for j in range(len(b)):
            ai, bj = a[i].double(), b[j].double()
            out[i, j] = (ai @ bj) / (ai.norm() * bj.norm())
    return out


def reference_votes(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    """Slow and literal (Wu et al. 2018): each of the k most similar training points votes
    for its class with weight exp(cos / τ). Returns the (M, C) totals in float64."""
    num_classes = num_classes or int(train_labels.max()) + 1
    sims_all = reference_cosine(test_features, train_features)
    totals = []
    for row in sims_all:
        sims = sorted(zip(row.tolist(), train_labels.tolist()), key=lambda s: -s[0])
        votes = [0.0] * num_classes
        for s, y in sims[:k]:
            votes[y] += math.exp(s / temperature)
        totals.append(votes)
    return torch.tensor(totals, dtype=torch.float64)


def reference_knn(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    """The class with the largest total vote, per query."""
    return reference_votes(train_features, train_labels, test_features, k, temperature, num_classes).argmax(1)


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _cosine_values(a, b, what="the similarities"):
    def values(fn):
        expect_close(fn(a, b), reference_cosine(a, b).float(), what, atol=1e-5)

    return values


def cosine_cases() -> list[Case]:
    def shape(fn):
        a, b = torch.randn(5, 8, generator=_gen(0)), torch.randn(7, 8, generator=_gen(1))
        expect_tensor(fn(a, b), "cosine_similarity_matrix(a (5, 8), b (7, 8))", shape=(5, 7))

    def scale_invariant(fn):
        a, b = torch.randn(4, 3, generator=_gen(4)), torch.randn(5, 3, generator=_gen(5))
        scaled = a * torch.tensor([[0.01], [3.0], [100.0], [1.0]])
        expect_close(fn(scaled, b), reference_cosine(a, b).float(), "similarities of rescaled vectors", atol=1e-5)

    def self_similarity(fn):
        a = torch.randn(6, 5, generator=_gen(6))
        out = expect_tensor(fn(a, a), "cosine_similarity_matrix(a (6, 5), a)", shape=(6, 6))
        expect_close(torch.diagonal(out), torch.ones(6), "cos(a_i, a_i)", atol=1e-5)

    a, b = torch.randn(6, 4, generator=_gen(2)), torch.randn(9, 4, generator=_gen(3))
    return [
        Case("returns an (M, N) tensor", shape,
             "every row of a is compared with every row of b: one row per row of a, one column per row of b"),
        Case("equals a·b / (‖a‖‖b‖)", _cosine_values(a, b),
             "the cosine is the dot product of unit-length vectors: make each row length 1 along the feature "
             "dimension, in both inputs", kind=VALUE),
        Case("ignores the length of the vectors", scale_invariant,
             "cosine similarity only sees directions: each row must be divided by its own norm"),
        Case("a vector is fully similar to itself", self_similarity, "the angle between a vector and itself is 0"),
    ]


def _knn_matches(train, y, test, settings, what="predictions"):
    def matches(fn):
        for k, t in settings:
            votes = reference_votes(train, y, test, k, t)
            pred = expect_tensor(fn(train, y, test, k=k, temperature=t), f"{what} with k={k}, temperature={t}",
                                 shape=(len(test),))
            if pred.is_complex():
                raise CheckFailed(f"{what}: complex numbers are not classes")
            pred = pred.long()
            valid = (pred >= 0) & (pred < votes.shape[1])
            # a near-tie may go either way in float32: any class within 1e-6 of the best total is right
            got = votes.gather(1, pred.clamp(0, votes.shape[1] - 1).view(-1, 1)).view(-1)
            right = valid & (got >= votes.max(1).values * (1 - 1e-6))
            if not right.all():
                raise CheckFailed(f"{what} with k={k}, temperature={t}: {int((~right).sum())} of {len(test)} "
                                  "differ from the reference")

    return matches


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
        pred = expect_tensor(fn(train, train_y, test, k=20), "the predictions", shape=(40,))
        acc = (pred == test_y).float().mean().item()
        if acc < 1.0:
            raise CheckFailed(f"accuracy {acc:.0%} on four well-separated clusters, expected 100%")

    def weighted_votes(fn):
        # One very similar neighbour against two less similar ones of another class: a plain majority
        # picks the pair, the exp(cos/τ) weights with τ = 0.07 pick the close one. Two queries, two answers.
        train = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.6, -0.8], [-1.0, 0.0], [-0.6, 0.8], [-0.6, -0.8]])
        y = torch.tensor([2, 1, 1, 0, 3, 3])
        queries = torch.tensor([[1.0, 0.02], [-1.0, 0.02]])
        pred = expect_tensor(fn(train, y, queries, k=3, temperature=0.07), "the predictions", shape=(2,))
        if pred.tolist() != [2, 0]:
            raise CheckFailed(f"predicted classes {pred.tolist()}, expected [2, 0]: the votes were counted, not "
                              "weighted by exp(similarity / τ)")
        # At τ = 1 the weights are close: two neighbours of class 1 outweigh a slightly closer one of class 0.
        train = torch.tensor([[1.0, 0.0], [0.9, 0.436], [0.9, -0.436]])
        pred = expect_tensor(fn(train, torch.tensor([0, 1, 1]), torch.tensor([[1.0, 0.01]]), k=3, temperature=1.0),
                             "the prediction", shape=(1,))
        if int(pred[0]) != 1:
            raise CheckFailed("at τ = 1 two neighbours of class 1 should outweigh one of class 0: only the nearest "
                              "neighbour decided")

    def cosine_not_euclidean(fn):
        # A long vector in the same direction is a cosine neighbour but a Euclidean stranger (twice, mirrored).
        for train, y, query, want in (([[10.0, 0.0], [0.0, 1.0]], [0, 1], [0.7, 0.6], 0),
                                      ([[0.0, 10.0], [1.0, 0.0]], [1, 0], [0.6, 0.7], 1)):
            pred = expect_tensor(fn(torch.tensor(train), torch.tensor(y), torch.tensor([query]), k=1),
                                 "the prediction", shape=(1,))
            if int(pred[0]) != want:
                raise CheckFailed("the nearest neighbour was chosen by distance, not by cosine similarity")

    def num_classes_and_large_k(fn):
        train = torch.randn(10, 3, generator=_gen(4))
        y = torch.tensor([0, 1] * 5)
        pred = fn(train, y, torch.randn(4, 3, generator=_gen(5)), k=50, temperature=0.1, num_classes=3)
        expect_tensor(pred, "predictions with k larger than the training set", shape=(4,), dtype=torch.int64)

    def inputs_untouched(fn):
        train, test = torch.randn(20, 4, generator=_gen(6)), torch.randn(5, 4, generator=_gen(7))
        y = torch.arange(20) % 2
        _, after = fn.with_inputs(train, y, test, k=3)
        if not all(type(a) is torch.Tensor and a.shape == b.shape and torch.equal(a, b)
                   for a, b in zip(after, (train, y, test))):
            raise CheckFailed("the function changed its inputs in place")

    g = _gen(3)
    train, test = torch.randn(60, 6, generator=g), torch.randn(15, 6, generator=g)
    y = torch.randint(0, 4, (60,), generator=g)
    return [
        Case("returns one int64 class per query", output_type,
             "a prediction is the index of the class with the largest total vote: one integer per query"),
        Case("100% on well-separated clusters", separable,
             "the neighbours of a query are the k training points most similar to it"),
        Case("agrees with a slow reference (k = 5, 12, 1)", _knn_matches(train, y, test, ((5, 0.1), (12, 2.0),
                                                                                            (1, 0.07))),
             "each of the k neighbours adds its weight exp(similarity / τ) to its own class; the largest total wins",
             kind=VALUE),
        Case("weights votes by exp(similarity / τ)", weighted_votes,
             "with a small τ one very similar neighbour outweighs several less similar ones", kind=VALUE),
        Case("uses cosine similarity", cosine_not_euclidean,
             "similar means a small angle (cosine), not a short distance: a long vector can be a close neighbour",
             kind=VALUE),
        Case("handles k > number of training points", num_classes_and_large_k,
             "k may exceed the training set: there are only that many neighbours to take"),
        Case("leaves its inputs unchanged", inputs_untouched,
             "in-place operations change the caller's tensors: compute new tensors instead"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    m, n, d = (int(torch.randint(3, 12, (1,), generator=g)) for _ in range(3))
    a, b = torch.randn(m, d, generator=g), torch.randn(n, d, generator=g)
    ntrain, ntest, classes = int(torch.randint(20, 80, (1,), generator=g)), 10, int(torch.randint(2, 6, (1,), generator=g))
    train, test = torch.randn(ntrain, d, generator=g), torch.randn(ntest, d, generator=g)
    y = torch.randint(0, classes, (ntrain,), generator=g)
    k, t = int(torch.randint(1, 25, (1,), generator=g)), float(torch.empty(1).uniform_(0.05, 1.0, generator=g))
    return {
        "cosine_similarity_matrix": [Case(f"equals a·b / (‖a‖‖b‖) for ({m}, {d}) and ({n}, {d})",
                                          _cosine_values(a, b), kind=VALUE)],
        "weighted_knn_predict": [Case(f"agrees with the reference (k = {k}, τ = {t:.2f})",
                                      _knn_matches(train, y, test, ((k, t),)), kind=VALUE)],
    }


def check_cosine_similarity_matrix(fn):
    return inline_check("cosine_similarity_matrix", fn, cosine_cases())


def check_weighted_knn_predict(fn):
    return inline_check("weighted_knn_predict", fn, knn_cases())


GRADED = {"cosine_similarity_matrix": Graded(cosine_cases), "weighted_knn_predict": Graded(knn_cases)}
