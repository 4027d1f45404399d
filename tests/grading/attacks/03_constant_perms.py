# Wrong answers: the identity permutation n times; tiles returned unshuffled.
import torch


def make_permutation_set(n, num_tiles=9, seed=0):
    return torch.arange(num_tiles).repeat(n, 1)


def shuffle_tiles(tiles, permutation):
    return tiles.clone()
