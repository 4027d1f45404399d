"""Exercise 03 — the permutation set, shuffling tiles, and where each tile belongs.

Graded functions::

    make_permutation_set(n, num_tiles=9, seed=0) -> (n, num_tiles) int64
        Noroozi & Favaro's Algorithm 1: each new permutation maximises its *summed* Hamming distance to the
        permutations already chosen. Candidates: every permutation of 0..T-1 in lexicographic order, reordered
        by ``randperm(T!)`` from a generator seeded with ``seed``; the set starts with the first candidate;
        ties go to the earliest candidate in that order; a chosen permutation is never a candidate again.
    shuffle_tiles(tiles, permutation) -> tiles reordered: out[:, j] = tiles[:, permutation[j]]
        tiles (N, T, C, h, w); permutation (T,) or one per puzzle (N, T)
    tile_position_probs(logits, permutations) -> (N, T, T) float
        out[i, j, k] = Σ_p softmax(logits[i])[p] · [permutations[p, j] = k]: the probability that position j
        of puzzle i holds tile k, from the network's distribution over the permutation set.
"""
from __future__ import annotations

import itertools
import math

import torch

from ...pretext import all_permutations
from .core import VALUE, Case, CheckFailed, Graded, expect_close, expect_equal, expect_tensor, inline_check

MAX_MIN = ("your set follows the max–min rule (each new permutation as far as possible from its *nearest* chosen "
           "one); Algorithm 1 of Noroozi & Favaro adds the candidate with the largest *summed* (equivalently "
           "mean) distance to all the permutations chosen so far")


# ---- slow, literal references (itertools and Python loops; small num_tiles only) ----

def candidates(num_tiles: int, seed: int) -> list[tuple]:
    """Every permutation of 0..T-1, lexicographic, then in the order of randperm(T!) seeded with ``seed``."""
    every = list(itertools.permutations(range(num_tiles)))
    order = torch.randperm(len(every), generator=torch.Generator().manual_seed(seed)).tolist()
    return [every[i] for i in order]


def _distance(p, q) -> int:
    return sum(a != b for a, b in zip(p, q))


def reference_permutation_set(n: int, num_tiles: int, seed: int, rule: str = "sum") -> torch.Tensor:
    """Algorithm 1 (``rule="sum"``), written out: the chosen list grows by the not-yet-chosen candidate whose
    summed Hamming distance to the chosen ones is largest, the earliest such candidate on ties.
    ``rule="min"`` is the max–min rule instead (the distance to the nearest chosen one), to name that mistake."""
    cands = candidates(num_tiles, seed)
    chosen = [0]
    while len(chosen) < n:
        best, best_score = None, -1
        for c, perm in enumerate(cands):
            if c in chosen:
                continue
            distances = [_distance(perm, cands[k]) for k in chosen]
            score = sum(distances) if rule == "sum" else min(distances)
            if score > best_score:  # strictly greater: the earliest candidate wins a tie
                best, best_score = c, score
        chosen.append(best)
    return torch.tensor([cands[c] for c in chosen], dtype=torch.int64)


def _hamming(a, b):
    return (a.unsqueeze(1) != b.unsqueeze(0)).sum(-1)


def _perms(fn, n, t, seed):
    perms = expect_tensor(fn(n, t, seed=seed), f"make_permutation_set({n}, {t}, seed={seed})", (n, t))
    if perms.is_complex() or perms.is_floating_point() or perms.dtype == torch.bool:
        raise CheckFailed(f"the permutations should be integers, got {perms.dtype}")
    for row in perms.tolist():
        if sorted(row) != list(range(t)):
            raise CheckFailed(f"{row} is not a permutation of 0..{t - 1}")
    return perms.long()


def _rule_case(n, t, seed):
    """Rule only (any start, any tie-break): each permutation j ≥ 1 has the largest summed distance to
    permutations 0..j-1 among the candidates not yet chosen. Vectorised, so it also runs for 9 tiles."""
    def rule(fn):
        perms = _perms(fn, n, t, seed)
        if len({tuple(r) for r in perms.tolist()}) != n:
            raise CheckFailed("the set holds the same permutation twice: a chosen permutation is no longer a "
                              "candidate")
        every = all_permutations(t)
        summed = torch.zeros(len(every), dtype=torch.int64)
        used = torch.zeros(len(every), dtype=torch.bool)
        for j in range(n):
            k = int((every == perms[j].to(torch.int8)).all(1).nonzero()[0])
            best = int(summed.masked_fill(used, -1).max())
            if j > 0 and int(summed[k]) != best:
                if _follows_max_min(perms, every):
                    raise CheckFailed(MAX_MIN)
                raise CheckFailed(f"permutation {j} is {int(summed[k])} away from the {j} chosen before it "
                                  f"(summed Hamming distance); the best candidate is {best} away")
            summed += (every != every[k]).sum(1).long()
            used[k] = True

    return rule


def _follows_max_min(perms, every):
    """Whether every permutation after the first is a farthest candidate from its nearest chosen one."""
    nearest = (every != perms[0].to(every.dtype)).sum(1)
    for j in range(1, len(perms)):
        d = (every != perms[j].to(every.dtype)).sum(1)
        if int(nearest[d == 0][0]) != int(nearest.max()):
            return False
        nearest = torch.minimum(nearest, d)
    return True


def _exact_case(settings):
    def exact(fn):
        for n, t, seed in settings:
            want = reference_permutation_set(n, t, seed)
            got = _perms(fn, n, t, seed)
            if torch.equal(got, want):
                continue
            if torch.equal(got, reference_permutation_set(n, t, seed, rule="min")):
                raise CheckFailed(MAX_MIN)
            first = candidates(t, seed)[0]
            if tuple(got[0].tolist()) != first:
                raise CheckFailed(f"n={n}, {t} tiles, seed={seed}: the set should start with the first candidate "
                                  f"of the seeded order, {list(first)}, got {got[0].tolist()}")
            j = next(j for j in range(n) if not torch.equal(got[j], want[j]))
            raise CheckFailed(f"n={n}, {t} tiles, seed={seed}: permutation {j} is {got[j].tolist()}, the "
                              f"reference picks {want[j].tolist()}: among candidates with the same summed distance "
                              "the earliest in the seeded order wins")

    return exact


def permutation_cases() -> list[Case]:
    def shape(fn):
        expect_tensor(fn(10, 9, seed=0), "make_permutation_set(10, 9)", (10, 9), torch.int64)
        _perms(fn, 10, 9, 0)

    def as_many_as_exist(fn):
        perms = _perms(fn, 24, 4, 5)
        if len({tuple(r) for r in perms.tolist()}) != 24:
            raise CheckFailed("asking for all 4! = 24 permutations of 4 should give each once")

    def far_on_average(fn):
        perms = _perms(fn, 30, 8, 0).to(torch.int8)
        d = _hamming(perms, perms).double()
        mean = float(d.sum() / (30 * 29))
        if mean < 7.2:
            raise CheckFailed(f"the mean distance between two of the 30 permutations of 8 is {mean:.2f} tiles; "
                              "Algorithm 1 keeps it above 7.2")

    def deterministic(fn):
        if not torch.equal(fn(8, 6, seed=3), fn(8, 6, seed=3)):
            raise CheckFailed("the same seed gave different sets")
        if torch.equal(fn(8, 6, seed=3), fn(8, 6, seed=4)):
            raise CheckFailed("different seeds gave the same set")

    return [
        Case("returns n permutations of 0..num_tiles-1 (int64)", shape,
             "each row is an ordering of all the tile indices"),
        Case("each new permutation has the largest summed distance to those chosen (Algorithm 1)",
             _rule_case(12, 5, 2),
             "score every candidate by its distance to *all* the permutations chosen so far, added up; keep "
             "those scores as you go, and never pick a chosen permutation again", kind=VALUE),
        Case("equals the reference: seeded order, first candidate first, ties to the earliest",
             _exact_case([(12, 5, 2), (20, 4, 7), (8, 6, 1)]),
             "the candidates are every permutation in lexicographic order, reordered once by the seeded random "
             "permutation; the set starts with the first of them, and on a tie the earlier candidate wins",
             kind=VALUE),
        Case("the rule holds for 9 tiles (all 9! candidates)", _rule_case(12, 9, 0),
             "the candidates are all num_tiles! permutations, not a random sample", kind=VALUE),
        Case("n = num_tiles! gives every permutation once", as_many_as_exist,
             "a chosen permutation leaves the candidates"),
        Case("30 permutations of 8 are more than 7.2 tiles apart on average", far_on_average,
             "summed distances favour candidates far from the whole set"),
        Case("deterministic for a seed", deterministic,
             "the seed should decide the random order of the candidates, through a generator of its own"),
    ]


# ---- shuffle_tiles ----

def _tiles(n=4, t=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, t, 3, 4, 4), generator=g, dtype=torch.uint8)


def _telling_permutation(t: int, g: torch.Generator) -> torch.Tensor:
    """A random permutation of 0..t-1 that tells a right answer from the two likeliest wrong ones: not the identity
    (tiles returned as they came would pass) and not its own inverse (tiles[:, permutation.argsort()] would pass).
    Of 4 tiles, 10 of the 24 permutations are one or the other: a hidden bank's random case would otherwise let a
    do-nothing answer earn its points now and then."""
    if t < 3:
        raise ValueError(f"every permutation of {t} tiles is its own inverse: use 3 tiles or more")
    while True:
        perm = torch.randperm(t, generator=g)
        if not torch.equal(perm[perm], torch.arange(t)):
            return perm


def _definition_case(n, t, seed):
    def definition(fn):
        tiles = _tiles(n, t, seed)
        perm = _telling_permutation(t, torch.Generator().manual_seed(seed))
        expect_equal(fn(tiles, perm), torch.stack([tiles[:, int(k)] for k in perm], 1),
                     "out[:, j] should be tiles[:, permutation[j]]:")

    return definition


def _per_puzzle_case(n, t, seed):
    def per_puzzle(fn):
        tiles = _tiles(n, t, seed)
        g = torch.Generator().manual_seed(seed)
        perms = torch.stack([_telling_permutation(t, g) for _ in range(n)])
        expected = torch.stack([tiles[i][perms[i]] for i in range(n)])
        expect_equal(fn(tiles, perms), expected, "with one permutation per puzzle (N, T),")

    return per_puzzle


def shuffle_cases() -> list[Case]:
    def shape(fn):
        tiles = _tiles()
        expect_tensor(fn(tiles, torch.randperm(9, generator=torch.Generator().manual_seed(0))),
                      "shuffle_tiles(tiles (4, 9, 3, 4, 4), permutation (9,))", tuple(tiles.shape), torch.uint8)

    def inverse(fn):
        tiles = _tiles(seed=3)
        perm = torch.randperm(9, generator=torch.Generator().manual_seed(3))
        back = expect_tensor(fn(tiles[:, perm], perm.argsort()), "the unshuffled tiles", tuple(tiles.shape))
        if not torch.equal(back, tiles):
            raise CheckFailed("shuffling by π and then by argsort(π) did not give the tiles back")

    return [
        Case("returns tiles of the same shape and dtype", shape, "reorder along the tile dimension, not the batch"),
        Case("out[:, j] = tiles[:, permutation[j]]", _definition_case(4, 9, 1),
             "position j receives tile permutation[j]: the permutation is a list of indices to read from",
             kind=VALUE),
        Case("accepts one permutation per puzzle (N, T)", _per_puzzle_case(3, 9, 2),
             "with one permutation per puzzle, each row of indices applies to its own puzzle", kind=VALUE),
        Case("argsort(π) undoes π exactly", inverse, "see the definition: position j receives tile π[j]"),
    ]


# ---- tile_position_probs ----

def reference_tile_position_probs(logits, permutations) -> torch.Tensor:
    """Slow and literal: P[i, j, k] = Σ_p softmax(logits_i)_p [π_p(j) = k], in float64."""
    n, num_p = logits.shape
    t = permutations.shape[1]
    out = torch.zeros(n, t, t, dtype=torch.float64)
    for i in range(n):
        row = [float(v) for v in logits[i]]
        top = max(row)
        weights = [math.exp(v - top) for v in row]
        total = sum(weights)
        for p in range(num_p):
            for j in range(t):
                out[i, j, int(permutations[p, j])] += weights[p] / total
    return out


def _position_inputs(n, num_p, t, seed, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, num_p, generator=g) * scale
    perms = torch.stack([torch.randperm(t, generator=g) for _ in range(num_p)])
    return logits, perms


def _position_value_case(settings):
    def value(fn):
        for n, num_p, t, seed in settings:
            logits, perms = _position_inputs(n, num_p, t, seed)
            want = reference_tile_position_probs(logits, perms)
            got = expect_tensor(fn(logits, perms), f"tile_position_probs(logits ({n}, {num_p}), permutations "
                                                   f"({num_p}, {t}))", (n, t, t))
            if got.is_complex() or not got.is_floating_point():
                raise CheckFailed(f"probabilities should be floating point, got {got.dtype}")
            if torch.allclose(got.double(), want, atol=1e-5):
                continue
            if torch.allclose(got.double(), want.transpose(1, 2), atol=1e-5):
                raise CheckFailed("positions and tiles are swapped: out[i, j, k] is the probability that position "
                                  "j holds tile k (rows are positions)")
            plain = torch.zeros_like(want)
            for p in range(num_p):
                plain[:, torch.arange(t), perms[p]] += logits[:, p:p + 1].double()
            if torch.allclose(got.double(), plain, atol=1e-4):
                raise CheckFailed("the network's scores were added as they are: they are logits, turn them into "
                                  "probabilities over the set first")
            expect_close(got, want.float(), "the position probabilities", atol=1e-5)

    return value


def position_cases() -> list[Case]:
    def shape(fn):
        logits, perms = _position_inputs(3, 10, 9, 0)
        out = expect_tensor(fn(logits, perms), "tile_position_probs(logits (3, 10), permutations (10, 9))", (3, 9, 9))
        if not out.is_floating_point():
            raise CheckFailed(f"probabilities should be floating point, got {out.dtype}")

    def confident(fn):
        logits, perms = _position_inputs(4, 8, 9, 1)
        sure = torch.full((4, 8), -1e4)
        sure[torch.arange(4), torch.tensor([0, 3, 5, 7])] = 1e4
        got = expect_tensor(fn(sure, perms), "the position probabilities of a sure network", (4, 9, 9))
        want = torch.zeros(4, 9, 9)
        for i, p in enumerate((0, 3, 5, 7)):
            want[i, torch.arange(9), perms[p]] = 1.0
        if not torch.isfinite(got).all():
            raise CheckFailed("logits of ±10⁴ gave inf or nan: the probabilities over the set must be computed "
                              "stably")
        expect_close(got, want, "a network sure of permutation p gives p's permutation matrix", atol=1e-5)

    def doubly_stochastic(fn):
        logits, perms = _position_inputs(5, 12, 6, 2)
        got = expect_tensor(fn(logits, perms), "the position probabilities", (5, 6, 6)).double()
        if not (torch.allclose(got.sum(2), torch.ones(5, 6, dtype=torch.float64), atol=1e-5)
                and torch.allclose(got.sum(1), torch.ones(5, 6, dtype=torch.float64), atol=1e-5)):
            raise CheckFailed("every position should hold exactly one tile and every tile sit at exactly one "
                              "position: each row and each column should sum to 1")

    def order_of_the_set(fn):
        logits, perms = _position_inputs(3, 7, 5, 4)
        shuffle = torch.randperm(7, generator=torch.Generator().manual_seed(4))
        a = expect_tensor(fn(logits, perms), "the position probabilities", (3, 5, 5))
        b = expect_tensor(fn(logits[:, shuffle], perms[shuffle]), "the position probabilities", (3, 5, 5))
        if not torch.allclose(a.double(), b.double(), atol=1e-6):
            raise CheckFailed("listing the same permutations (and their logits) in another order changed the result")

    return [
        Case("returns (N, T, T) floating-point probabilities", shape,
             "one T×T table per puzzle: rows are positions, columns are tiles"),
        Case("equals Σ_p softmax(logits)_p · [π_p(j) = k]", _position_value_case([(3, 10, 9, 0), (4, 6, 4, 5)]),
             "each permutation of the set puts one tile at each position; weigh that by how probable the network "
             "finds the permutation, and add up over the set", kind=VALUE),
        Case("a sure network gives a permutation matrix (logits ±10⁴)", confident,
             "probabilities over the set come from the logits by a softmax, computed stably", kind=VALUE),
        Case("rows and columns sum to 1", doubly_stochastic,
             "a mixture of permutation matrices is still doubly stochastic"),
        Case("does not depend on the order of the set", order_of_the_set,
             "logit p belongs to permutation p: keep them together"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n, t = int(torch.randint(6, 14, (1,), generator=g)), int(torch.randint(4, 6, (1,), generator=g))
    seed = int(torch.randint(0, 1000, (1,), generator=g))
    b = int(torch.randint(2, 7, (1,), generator=g))
    num_p = int(torch.randint(2, 20, (1,), generator=g))
    return {
        "make_permutation_set": [Case(f"Algorithm 1 for n={n}, {t} tiles, seed={seed}", _exact_case([(n, t, seed)]),
                                      kind=VALUE)],
        "shuffle_tiles": [Case(f"definition for {b} puzzles of {t} tiles", _definition_case(b, t, seed), kind=VALUE),
                          Case(f"one permutation per puzzle, {b} puzzles", _per_puzzle_case(b, t, seed), kind=VALUE)],
        "tile_position_probs": [Case(f"the formula for {b} puzzles, {num_p} permutations of {t}",
                                     _position_value_case([(b, num_p, t, seed)]), kind=VALUE)],
    }


def check_make_permutation_set(fn):
    return inline_check("make_permutation_set", fn, permutation_cases())


def check_shuffle_tiles(fn):
    return inline_check("shuffle_tiles", fn, shuffle_cases())


def check_tile_position_probs(fn):
    return inline_check("tile_position_probs", fn, position_cases())


GRADED = {"make_permutation_set": Graded(permutation_cases), "shuffle_tiles": Graded(shuffle_cases),
          "tile_position_probs": Graded(position_cases)}
WRITTEN = ("Which rule for the permutation set?",)
