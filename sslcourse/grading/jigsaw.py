"""Exercise 03 — the permutation set and shuffling tiles.

Graded functions::

    make_permutation_set(n, num_tiles=9, seed=0) -> (n, num_tiles) int64
        greedy: each permutation added maximises its Hamming distance to the nearest one chosen so far
    shuffle_tiles(tiles, permutation) -> tiles reordered: out[:, j] = tiles[:, permutation[j]]
        tiles (N, T, C, h, w); permutation (T,) or one per puzzle (N, T)
"""
from __future__ import annotations

import itertools

import torch

from .core import VALUE, Case, CheckFailed, Graded, expect_equal, expect_tensor, inline_check


def _hamming(a, b):
    return (a.unsqueeze(1) != b.unsqueeze(0)).sum(-1)


def _perms(fn, n, t, seed):
    perms = expect_tensor(fn(n, t, seed=seed), f"make_permutation_set({n}, {t})", (n, t))
    if perms.is_complex() or perms.is_floating_point() or perms.dtype == torch.bool:
        raise CheckFailed(f"the permutations should be integers, got {perms.dtype}")
    for row in perms.tolist():
        if sorted(row) != list(range(t)):
            raise CheckFailed(f"{row} is not a permutation of 0..{t - 1}")
    return perms.long()


def _greedy_case(n, t, seed):
    def greedy(fn):
        perms = _perms(fn, n, t, seed)
        every = torch.tensor(list(itertools.permutations(range(t))))
        for j in range(1, len(perms)):
            best = int(_hamming(every, perms[:j]).min(1).values.max())
            got = int(_hamming(perms[j:j + 1], perms[:j]).min())
            if got != best:
                raise CheckFailed(f"permutation {j} is {got} away from its nearest predecessor; the farthest "
                                  f"candidate is {best} away")

    return greedy


def permutation_cases() -> list[Case]:
    def shape(fn):
        expect_tensor(fn(10, 9, seed=0), "make_permutation_set(10, 9)", (10, 9), torch.int64)
        _perms(fn, 10, 9, 0)

    def distinct(fn):
        perms = _perms(fn, 20, 5, 1)
        if len({tuple(r) for r in perms.tolist()}) != 20:
            raise CheckFailed("the set holds the same permutation twice")

    def far_apart_for_nine(fn):
        perms = _perms(fn, 24, 9, 0)
        d = _hamming(perms, perms) + 100 * torch.eye(len(perms), dtype=torch.long)
        if d.min() < 7:
            raise CheckFailed(f"the closest two of 24 permutations of 9 are {int(d.min())} apart; greedy selection "
                              "keeps them at least 7 apart")

    def deterministic(fn):
        if not torch.equal(fn(8, 6, seed=3), fn(8, 6, seed=3)):
            raise CheckFailed("the same seed gave different sets")
        if torch.equal(fn(8, 6, seed=3), fn(8, 6, seed=4)):
            raise CheckFailed("different seeds gave the same set")

    return [
        Case("returns n permutations of 0..num_tiles-1 (int64)", shape,
             "each row is an ordering of all the tile indices"),
        Case("no permutation twice", distinct, "a chosen permutation is at distance 0 from the set: never the farthest"),
        Case("each new permutation is a farthest candidate (greedy max-min Hamming)", _greedy_case(15, 5, 2),
             "keep, for every candidate, its distance to the nearest chosen permutation; add the candidate where "
             "that distance is largest, then update the distances", kind=VALUE),
        Case("24 permutations of 9 stay at least 7 apart", far_apart_for_nine,
             "the candidates are all num_tiles! permutations, not a random sample"),
        Case("deterministic for a seed", deterministic,
             "the seed should decide the random order of the candidates, through a generator of its own"),
    ]


def _tiles(n=4, t=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, t, 3, 4, 4), generator=g, dtype=torch.uint8)


def _definition_case(n, t, seed):
    def definition(fn):
        tiles = _tiles(n, t, seed)
        perm = torch.randperm(t, generator=torch.Generator().manual_seed(seed))
        expect_equal(fn(tiles, perm), torch.stack([tiles[:, int(k)] for k in perm], 1),
                     "out[:, j] should be tiles[:, permutation[j]]:")

    return definition


def _per_puzzle_case(n, t, seed):
    def per_puzzle(fn):
        tiles = _tiles(n, t, seed)
        g = torch.Generator().manual_seed(seed)
        perms = torch.stack([torch.randperm(t, generator=g) for _ in range(n)])
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


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n, t = int(torch.randint(6, 14, (1,), generator=g)), int(torch.randint(4, 7, (1,), generator=g))
    seed = int(torch.randint(0, 1000, (1,), generator=g))
    b = int(torch.randint(2, 7, (1,), generator=g))
    return {
        "make_permutation_set": [Case(f"greedy max-min for n={n}, {t} tiles, seed={seed}", _greedy_case(n, t, seed),
                                      kind=VALUE)],
        "shuffle_tiles": [Case(f"definition for {b} puzzles of {t} tiles", _definition_case(b, t, seed), kind=VALUE),
                          Case(f"one permutation per puzzle, {b} puzzles", _per_puzzle_case(b, t, seed), kind=VALUE)],
    }


def check_make_permutation_set(fn):
    return inline_check("make_permutation_set", fn, permutation_cases())


def check_shuffle_tiles(fn):
    return inline_check("shuffle_tiles", fn, shuffle_cases())


GRADED = {"make_permutation_set": Graded(permutation_cases), "shuffle_tiles": Graded(shuffle_cases)}
