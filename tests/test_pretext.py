"""Pretext transforms: masks, rotations, jigsaw tiles and permutation sets."""
import itertools

import pytest
import torch

from sslcourse import pretext as P


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_patch_mask_hides_exactly_the_ratio_per_image():
    m = P.random_patch_mask(64, 32, patch=4, mask_ratio=0.75, generator=g())
    assert m.shape == (64, 1, 32, 32) and m.dtype == torch.float32
    patches = m[:, 0, ::4, ::4]  # one value per patch
    assert ((1 - patches).sum((1, 2)) == 48).all(), "exactly 75% of 64 patches hidden in every image"
    assert torch.equal(m, m[:, :, ::4, ::4].repeat_interleave(4, 2).repeat_interleave(4, 3)), "whole patches"
    assert len(torch.unique(m.flatten(1), dim=0)) > 60, "masks are drawn independently per image"


@pytest.mark.parametrize("ratio,hidden", [(0.0, 0), (1.0, 64), (0.5, 32)])
def test_patch_mask_edge_ratios(ratio, hidden):
    m = P.random_patch_mask(3, 32, patch=4, mask_ratio=ratio, generator=g())
    assert ((1 - m[:, 0, ::4, ::4]).sum((1, 2)) == hidden).all()


def test_block_mask_is_one_square_inside_the_image():
    m = P.random_block_mask(200, 32, block=12, generator=g())
    hidden = 1 - m[:, 0]
    assert (hidden.sum((1, 2)) == 144).all()
    rows, cols = hidden.any(2), hidden.any(1)
    assert (rows.sum(1) == 12).all() and (cols.sum(1) == 12).all(), "a 12x12 square, not scattered pixels"
    tops = rows.float().argmax(1)
    assert tops.min() == 0 and tops.max() == 20, "every position from 0 to 32 - 12 is possible"


def test_center_mask_and_strategies():
    m = P.center_mask(2, 32, 16)
    assert (1 - m).sum() == 2 * 256 and m[0, 0, 16, 16] == 0 and m[0, 0, 0, 0] == 1
    for s in P.MASK_STRATEGIES:
        assert P.make_mask(s, 4, 32, 0.25, generator=g()).shape == (4, 1, 32, 32)
    with pytest.raises(ValueError, match="unknown mask strategy 'stripes'"):
        P.make_mask("stripes", 4)


def reference_masked_mse(pred, target, mask):
    num, den = 0.0, 0.0
    for n, c, i, j in itertools.product(*map(range, pred.shape)):
        h = 1.0 - float(mask[n, 0, i, j])
        num += h * float(pred[n, c, i, j] - target[n, c, i, j]) ** 2
        den += h
    return num / den


def test_masked_mse_equals_the_formula():
    x, y = torch.rand(2, 3, 6, 6, generator=g(1)), torch.rand(2, 3, 6, 6, generator=g(2))
    m = P.random_pixel_mask(2, 6, 0.5, generator=g(3))
    assert P.masked_mse(x, y, m).item() == pytest.approx(reference_masked_mse(x, y, m), rel=1e-5)
    assert P.masked_mse(x, x, m).item() == 0
    assert P.masked_mse(x, y, torch.ones(2, 1, 6, 6)).item() == 0, "nothing hidden: zero, not nan"


def test_masked_mse_ignores_visible_pixels():
    x, y = torch.rand(1, 3, 8, 8, generator=g(4)), torch.rand(1, 3, 8, 8, generator=g(5))
    m = P.center_mask(1, 8, 4)
    y2 = y.clone()
    y2[m.expand_as(y) == 1] = 7.0  # change only what is visible
    assert P.masked_mse(x, y, m) == P.masked_mse(x, y2, m)


def test_masked_mse_rejects_a_mask_that_would_broadcast_wrongly():
    x = torch.rand(4, 3, 8, 8)
    with pytest.raises(ValueError, match=r"mask must have shape \(4, 1, 8, 8\)"):
        P.masked_mse(x, x, torch.ones(1, 1, 8, 8))  # one mask for the whole batch by accident


def test_rotate_batch_labels_line_up():
    x = torch.rand(5, 3, 8, 8, generator=g(6))
    rotated, labels = P.rotate_batch(x)
    assert rotated.shape == (20, 3, 8, 8) and labels.tolist() == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    for i in range(20):
        assert torch.equal(rotated[i], torch.rot90(x[i % 5], int(labels[i]), dims=(1, 2)))
    # exact: rotating back gives the original bytes
    assert torch.equal(torch.rot90(rotated[5:10], -1, dims=(2, 3)), x)


def paper_algorithm_1(n, candidates):
    """Noroozi & Favaro (2016), Algorithm 1, as literally as it reads: P̄ = all permutations; move P̄_j into P;
    D = Hamming(P, P̄), an i × (T! − i) matrix; D̄ = 1ᵀD; j = argmax D̄; repeat. Here the candidates come in a
    given (random) order, the first is the random start and ``max`` takes the first of equal scores."""
    remaining = [tuple(c) for c in candidates]
    chosen = [remaining.pop(0)]
    for _ in range(n - 1):
        d_bar = [sum(sum(a != b for a, b in zip(c, q)) for q in chosen) for c in remaining]  # 1ᵀD
        chosen.append(remaining.pop(d_bar.index(max(d_bar))))
    return chosen


@pytest.mark.parametrize("num_tiles,n,seed", [(4, 10, 0), (5, 14, 3), (5, 30, 1)])
def test_the_paper_rule_is_algorithm_1(num_tiles, n, seed):
    """rule="mean" (the default) picks, step by step, the candidate with the largest summed Hamming distance to
    the chosen set — the same set as the literal algorithm given the same candidate order."""
    order = P._candidates(num_tiles, seed).tolist()
    perms = P.make_permutation_set(n, num_tiles, seed=seed)
    assert perms.shape == (n, num_tiles) and perms.dtype == torch.int64
    assert [tuple(p) for p in perms.tolist()] == paper_algorithm_1(n, order)


def test_each_paper_choice_has_the_largest_summed_distance():
    """Whatever the order: each permutation added maximises 1ᵀD among all candidates not chosen yet."""
    perms = P.make_permutation_set(14, 5, seed=2)
    every = torch.tensor(list(itertools.permutations(range(5))))
    for j in range(1, 14):
        chosen = perms[:j]
        free = P.hamming(every, chosen).min(1).values > 0
        best = P.hamming(every[free], chosen).sum(1).max()
        assert P.hamming(perms[j:j + 1], chosen).sum() == best, f"permutation {j} is not a farthest candidate"


@pytest.mark.parametrize("t", range(1, 8))
def test_all_permutations_are_itertools_order(t):
    """The tensor-built candidate pool lists exactly itertools.permutations, in its lexicographic order."""
    want = torch.tensor(list(itertools.permutations(range(t))), dtype=torch.int8)
    assert torch.equal(P.all_permutations(t), want)


def test_permutation_sets_are_permutations_deterministic_for_a_seed():
    for rule in P.PERMUTATION_RULES:
        perms = P.make_permutation_set(30, 9, seed=0, rule=rule)
        assert perms.shape == (30, 9) and perms.dtype == torch.int64
        assert all(sorted(p.tolist()) == list(range(9)) for p in perms)
        assert len({tuple(p) for p in perms.tolist()}) == 30, f"{rule}: no permutation twice"
        assert torch.equal(perms, P.make_permutation_set(30, 9, seed=0, rule=rule)), "deterministic for a seed"
        assert not torch.equal(perms, P.make_permutation_set(30, 9, seed=1, rule=rule))


def off_diagonal(perms):
    d = P.hamming(perms, perms)
    return d[~torch.eye(len(perms), dtype=torch.bool)].float()


@pytest.mark.parametrize("n", [64, 100])  # the quick and the gpu/full recipes' sizes
def test_mean_rule_spreads_the_set_maxmin_keeps_the_closest_pair_apart(n):
    """What lesson 03 states: the paper's rule gives the larger average distance, the max–min variant the
    larger smallest distance; both beat permutations drawn at random on the average (the paper's rule need not
    beat them on the smallest distance: at n = 100 its closest pair is 2 apart)."""
    mean, maxmin = P.make_permutation_set(n, seed=0), P.make_permutation_set(n, seed=0, rule="maxmin")
    at_random = torch.stack([torch.randperm(9, generator=g(s)) for s in range(n)])
    assert off_diagonal(mean).mean() > off_diagonal(maxmin).mean() > off_diagonal(at_random).mean()
    assert off_diagonal(maxmin).min() > max(off_diagonal(mean).min(), off_diagonal(at_random).min())


def test_maxmin_rule_keeps_permutations_far_apart():
    perms = P.make_permutation_set(30, 9, seed=0, rule="maxmin")
    random_set = torch.stack([torch.randperm(9, generator=g(s)) for s in range(30)])
    assert off_diagonal(perms).min() >= 7 > off_diagonal(random_set).min(), "greedy max-min keeps them apart"


def test_each_maxmin_choice_is_a_farthest_candidate():
    """Every permutation added is, among all 5! candidates, one whose nearest chosen permutation is farthest
    (what exercise 03's grader checks today)."""
    perms = P.make_permutation_set(12, 5, seed=3, rule="maxmin")
    every = torch.tensor(list(itertools.permutations(range(5))))
    for j in range(1, 12):
        chosen = perms[:j]
        best = P.hamming(every, chosen).min(1).values.max()
        assert P.hamming(perms[j:j + 1], chosen).min() == best


def test_an_unknown_rule_is_named_with_the_choices():
    with pytest.raises(ValueError, match="'mean'.*'maxmin'"):
        P.make_permutation_set(4, 9, rule="max")


def test_tiles_shuffle_and_unshuffle_exactly():
    x = torch.arange(2 * 3 * 32 * 32, dtype=torch.float32).view(2, 3, 32, 32)
    tiles = P.extract_tiles(x, 3, 9, jitter=True, generator=g(7))
    assert tiles.shape == (2, 9, 3, 9, 9)
    # tile k comes from cell k: row-major order
    assert tiles[0, 5, 0, 0, 0] // 32 >= 10 and (tiles[0, 5, 0, 0, 0] % 32) >= 20
    perm = P.make_permutation_set(4, 9, seed=0)[[1, 3]]
    shuffled = P.shuffle_tiles(tiles, perm)
    assert torch.equal(shuffled[1, 0], tiles[1, perm[1, 0]])
    assert torch.equal(P.shuffle_tiles(shuffled, perm.argsort(1)), tiles), "argsort undoes a shuffle"


def test_tile_jitter_varies_the_crop():
    x = torch.rand(50, 3, 32, 32, generator=g(8))
    a = P.extract_tiles(x, 3, 8, jitter=True, generator=g(9))
    b = P.extract_tiles(x, 3, 8, jitter=False)
    assert not torch.equal(a, b)
    with pytest.raises(ValueError, match="larger than a cell"):
        P.extract_tiles(x, 3, 12)
