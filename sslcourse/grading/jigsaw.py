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

from .core import Case, CheckFailed, expect_equal, expect_tensor, inline_check


def _hamming(a, b):
    return (a.unsqueeze(1) != b.unsqueeze(0)).sum(-1)


def permutation_cases() -> list[Case]:
    def shape(fn):
        perms = expect_tensor(fn(10, 9, seed=0), "make_permutation_set(10, 9)", (10, 9), torch.int64)
        for row in perms.tolist():
            if sorted(row) != list(range(9)):
                raise CheckFailed(f"{row} is not a permutation of 0..8")

    def distinct(fn):
        perms = fn(20, 5, seed=1)
        if len({tuple(r) for r in perms.tolist()}) != 20:
            raise CheckFailed("the set holds the same permutation twice")

    def greedy(fn):
        perms = fn(15, 5, seed=2)
        every = torch.tensor(list(itertools.permutations(range(5))))
        for j in range(1, len(perms)):
            best = int(_hamming(every, perms[:j]).min(1).values.max())
            got = int(_hamming(perms[j:j + 1], perms[:j]).min())
            if got != best:
                raise CheckFailed(f"permutation {j} is {got} away from its nearest predecessor; the farthest "
                                  f"candidate is {best} away")

    def far_apart_for_nine(fn):
        perms = fn(24, 9, seed=0)
        d = _hamming(perms, perms) + 100 * torch.eye(len(perms), dtype=torch.long)
        if d.min() < 7:
            raise CheckFailed(f"the closest two of 24 permutations of 9 are {int(d.min())} apart; greedy selection "
                              "keeps them at least 7 apart")

    def deterministic(fn):
        if not torch.equal(fn(8, 6, seed=3), fn(8, 6, seed=3)):
            raise CheckFailed("the same seed gave different sets: use torch.Generator().manual_seed(seed)")
        if torch.equal(fn(8, 6, seed=3), fn(8, 6, seed=4)):
            raise CheckFailed("different seeds gave the same set: let the seed choose the start or break ties")

    return [
        Case("returns n permutations of 0..num_tiles-1 (int64)", shape, "itertools.permutations(range(num_tiles))"),
        Case("no permutation twice", distinct, "a chosen permutation is at distance 0 from itself: never the max"),
        Case("each new permutation is a farthest candidate (greedy max-min Hamming)", greedy,
             "keep the distance of every candidate to its nearest chosen one; take the argmax; update with a min"),
        Case("24 permutations of 9 stay at least 7 apart", far_apart_for_nine, "search all 9! candidates"),
        Case("deterministic for a seed", deterministic, "shuffle the candidates with a seeded generator"),
    ]


def _tiles(n=4, t=9, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, t, 3, 4, 4), generator=g, dtype=torch.uint8)


def shuffle_cases() -> list[Case]:
    def shape(fn):
        tiles = _tiles()
        expect_tensor(fn(tiles, torch.randperm(9, generator=torch.Generator().manual_seed(0))),
                      "shuffle_tiles(tiles (4, 9, 3, 4, 4), permutation (9,))", tuple(tiles.shape), torch.uint8)

    def definition(fn):
        tiles = _tiles(seed=1)
        perm = torch.tensor([3, 1, 4, 0, 8, 5, 2, 7, 6])
        expect_equal(fn(tiles, perm), torch.stack([tiles[:, int(k)] for k in perm], 1),
                     "out[:, j] should be tiles[:, permutation[j]]:")

    def per_puzzle(fn):
        tiles = _tiles(n=3, seed=2)
        g = torch.Generator().manual_seed(2)
        perms = torch.stack([torch.randperm(9, generator=g) for _ in range(3)])
        expected = torch.stack([tiles[i][perms[i]] for i in range(3)])
        expect_equal(fn(tiles, perms), expected, "with one permutation per puzzle (N, T),")

    def inverse(fn):
        tiles = _tiles(seed=3)
        perm = torch.randperm(9, generator=torch.Generator().manual_seed(3))
        back = fn(fn(tiles, perm), perm.argsort())
        if not torch.equal(back, tiles):
            raise CheckFailed("shuffling by π and then by argsort(π) did not give the tiles back")

    return [
        Case("returns tiles of the same shape and dtype", shape, "index the tile dimension (1), not the batch"),
        Case("out[:, j] = tiles[:, permutation[j]]", definition, "tiles[:, permutation]"),
        Case("accepts one permutation per puzzle (N, T)", per_puzzle,
             "torch.gather(tiles, 1, index) or tiles[torch.arange(N)[:, None], permutations]"),
        Case("argsort(π) undoes π exactly", inverse, "see the definition: position j receives tile π[j]"),
    ]


def check_make_permutation_set(fn):
    return inline_check("make_permutation_set", fn, permutation_cases())


def check_shuffle_tiles(fn):
    return inline_check("shuffle_tiles", fn, shuffle_cases())


GRADED = {"make_permutation_set": permutation_cases, "shuffle_tiles": shuffle_cases}
