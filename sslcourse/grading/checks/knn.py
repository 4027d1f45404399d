"""Exercise 00 — the weighted kNN classifier of the evaluation protocol.

Graded functions::

    cosine_similarity_matrix(a, b) -> (M, N)            cos(a_i, b_j)
    weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07,
                         num_classes=None) -> (M,) int64
    leave_one_out_accuracy(features, labels, k=20, temperature=0.07) -> 0-dim float tensor
        the fraction of points whose weighted kNN vote among the *other* N − 1 points gives their own label
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


def _right_classes(votes: torch.Tensor) -> torch.Tensor:
    """(queries, classes) bool: the classes a right prediction may name. A near-tie may go either way in float32:
    any class within 1e-6 of the best total is right."""
    return votes >= votes.max(1, keepdim=True).values * (1 - 1e-6)


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
            right = valid & _right_classes(votes).gather(1, pred.clamp(0, votes.shape[1] - 1).view(-1, 1)).view(-1)
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


def reference_leave_one_out(features, labels, k=20, temperature=0.07, include_self=False):
    """Slow and literal: point i is classified by the weighted vote of its k most similar points among the
    other N − 1 (``include_self=True``: among all N, the classic mistake). Returns (the number of points
    surely right, the number right if near-ties within 1e-6 go their way)."""
    num_classes = int(labels.max()) + 1
    sure = maybe = 0
    for i in range(len(features)):
        others = [j for j in range(len(features)) if include_self or j != i]
        votes = reference_votes(features[others], labels[others], features[i:i + 1], min(k, len(others)),
                                temperature, num_classes)[0]
        mine = float(votes[int(labels[i])])
        rivals = max((float(v) for c, v in enumerate(votes) if c != int(labels[i])), default=0.0)
        sure += mine > rivals * (1 + 1e-6)
        maybe += mine >= rivals * (1 - 1e-6)
    return sure, maybe


def _loo_value_case(features, labels, settings):
    def value(fn):
        n = len(features)
        for k, t in settings:
            out = expect_tensor(fn(features, labels, k=k, temperature=t), f"leave_one_out_accuracy(k={k}, "
                                f"temperature={t})", ())
            if out.is_complex() or not out.is_floating_point():
                raise CheckFailed(f"an accuracy is a fraction: return a floating-point tensor, got {out.dtype}")
            got = float(out)
            sure, maybe = reference_leave_one_out(features, labels, k, t)
            if sure / n - 1e-6 <= got <= maybe / n + 1e-6:
                continue
            s_sure, s_maybe = reference_leave_one_out(features, labels, k, t, include_self=True)
            if s_sure / n - 1e-6 <= got <= s_maybe / n + 1e-6:
                raise CheckFailed(f"k={k}, τ={t}: got {got:.3f}, which is what you get when every point votes for "
                                  f"itself; left out, the accuracy is {sure / n:.3f}")
            if maybe <= got <= n:
                raise CheckFailed(f"k={k}, τ={t}: got {got:.3f}: that is a count of points, not a fraction of them")
            raise CheckFailed(f"k={k}, τ={t}: got {got:.3f}, the leave-one-out accuracy is {sure / n:.3f}")

    return value


def _twins(n_pairs=6, seed=8):
    """Pairs of almost identical points with different labels: each point's nearest *other* point is its twin."""
    g = _gen(seed)
    base = torch.randn(n_pairs, 5, generator=g)
    features = torch.cat([base, base + 0.01 * torch.randn(n_pairs, 5, generator=g)])
    labels = torch.cat([torch.zeros(n_pairs, dtype=torch.int64), torch.ones(n_pairs, dtype=torch.int64)])
    return features, labels


def loo_cases() -> list[Case]:
    def output(fn):
        f, y = torch.randn(30, 6, generator=_gen(10)), torch.arange(30) % 3
        out = expect_tensor(fn(f, y, k=5), "leave_one_out_accuracy of 30 points", ())
        if out.is_complex() or not out.is_floating_point() or not 0 <= float(out) <= 1:
            raise CheckFailed(f"an accuracy is a floating-point fraction in [0, 1], got {out.dtype} {float(out)}")

    def not_its_own_neighbour(fn):
        features, labels = _twins()
        got = float(expect_tensor(fn(features, labels, k=1, temperature=0.07), "the accuracy of twins with k=1", ()))
        if abs(got - 1.0) < 1e-6:
            raise CheckFailed("each point was its own nearest neighbour (accuracy 100%): leave the point out of the "
                              "vote that classifies it")
        if abs(got) > 1e-6:
            raise CheckFailed(f"got {got:.3f}: every point's nearest other point is its twin of the other class, so "
                              "the accuracy with k=1 is 0")
        same = float(expect_tensor(fn(features, torch.arange(len(features)) % (len(features) // 2), k=1,
                                      temperature=0.07), "the accuracy of twins of one class with k=1", ()))
        if abs(same - 1.0) > 1e-6:
            raise CheckFailed(f"got {same:.3f} when every point's twin has its class: each point's nearest other "
                              "point decides, so the accuracy with k=1 is 1")

    def duplicates(fn):
        # points 0 and 1 are the same vector with different labels; the rest sit in a far cluster of class 2
        g = _gen(11)
        far = torch.tensor([0.0, 0.0, 10.0]) + 0.1 * torch.randn(8, 3, generator=g)
        features = torch.cat([torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), far])
        labels = torch.tensor([0, 1] + [2] * 8)
        got = float(expect_tensor(fn(features, labels, k=1), "the accuracy", ()))
        if abs(got - 0.8) > 1e-6:
            raise CheckFailed(f"got {got:.3f}, expected 0.8: an identical copy of a point is another point and "
                              "votes; only the point itself is left out")

    def large_k(fn):
        f, y = torch.randn(6, 3, generator=_gen(12)), torch.tensor([0, 1, 0, 1, 0, 1])
        out = expect_tensor(fn(f, y, k=50, temperature=0.5), "the accuracy with k larger than the data", ())
        if not torch.isfinite(out):
            raise CheckFailed("k = 50 for 6 points gave inf or nan")

    def inputs_untouched(fn):
        f, y = torch.randn(20, 4, generator=_gen(13)), torch.arange(20) % 2
        _, after = fn.with_inputs(f, y, k=3)
        if not all(type(a) is torch.Tensor and a.shape == b.shape and torch.equal(a, b) for a, b in zip(after, (f, y))):
            raise CheckFailed("the function changed its inputs in place")

    g = _gen(9)
    features, labels = torch.randn(36, 5, generator=g), torch.randint(0, 3, (36,), generator=g)
    features[labels == 1] += 0.8  # some structure, so the accuracy is neither 0 nor 1
    return [
        Case("returns a floating-point fraction (0-dim)", output, "the share of points classified right"),
        Case("agrees with a slow reference (k = 1, 5, 40)", _loo_value_case(features, labels, ((1, 0.07), (5, 0.1),
                                                                                               (40, 1.0))),
             "classify every point by the weighted vote of its neighbours among all the *other* points, then "
             "count how often the vote gives the point's own label", kind=VALUE),
        Case("a point is not its own neighbour", not_its_own_neighbour,
             "a point is always the most similar to itself: it must not vote for itself", kind=VALUE),
        Case("an identical copy of a point still votes", duplicates,
             "leave out the point by its index, not by its similarity"),
        Case("handles k ≥ the number of points", large_k, "there are only N − 1 other points to take"),
        Case("leaves its inputs unchanged", inputs_untouched,
             "in-place operations change the caller's tensors: compute new tensors instead"),
    ]


def _one_class_answers_all(train, y, test, k, t) -> bool:
    """Whether one class is a right prediction for every query: a constant answer would then pass (with 2 classes
    and k near 24 the 10 queries of a hidden case sometimes all vote alike)."""
    return bool(_right_classes(reference_votes(train, y, test, k, t)).all(0).any())


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    m, n, d = (int(torch.randint(3, 12, (1,), generator=g)) for _ in range(3))
    a, b = torch.randn(m, d, generator=g), torch.randn(n, d, generator=g)
    ntrain, ntest, classes = int(torch.randint(20, 80, (1,), generator=g)), 10, int(torch.randint(2, 6, (1,), generator=g))
    train, test = torch.randn(ntrain, d, generator=g), torch.randn(ntest, d, generator=g)
    y = torch.randint(0, classes, (ntrain,), generator=g)
    k, t = int(torch.randint(1, 25, (1,), generator=g)), float(torch.empty(1).uniform_(0.05, 1.0, generator=g))
    while _one_class_answers_all(train, y, test, k, t):  # 2 classes, many neighbours: redraw the queries
        test = torch.randn(ntest, d, generator=g)
    return {
        "cosine_similarity_matrix": [Case(f"equals a·b / (‖a‖‖b‖) for ({m}, {d}) and ({n}, {d})",
                                          _cosine_values(a, b), kind=VALUE)],
        "weighted_knn_predict": [Case(f"agrees with the reference (k = {k}, τ = {t:.2f})",
                                      _knn_matches(train, y, test, ((k, t),)), kind=VALUE)],
        "leave_one_out_accuracy": [Case(f"agrees with the reference on 20 points (k = {k}, τ = {t:.2f})",
                                        _loo_value_case(train[:20], y[:20], ((k, t),)), kind=VALUE)],
    }


def check_cosine_similarity_matrix(fn):
    return inline_check("cosine_similarity_matrix", fn, cosine_cases())


def check_weighted_knn_predict(fn):
    return inline_check("weighted_knn_predict", fn, knn_cases())


def check_leave_one_out_accuracy(fn):
    return inline_check("leave_one_out_accuracy", fn, loo_cases())


GRADED = {"cosine_similarity_matrix": Graded(cosine_cases), "weighted_knn_predict": Graded(knn_cases),
          "leave_one_out_accuracy": Graded(loo_cases)}
WRITTEN = ("Choosing k without the test set",)
