# Robustness: torch's own NotImplementedError (subtracting a bool mask) is a bug, not an unwritten stub.
import torch


def random_block_mask(n, size=32, block=12, generator=None):
    top = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    left = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    r = torch.arange(size).view(1, size, 1)
    c = torch.arange(size).view(1, 1, size)
    hidden = (r >= top) & (r < top + block) & (c >= left) & (c < left + block)
    return (~hidden).float().unsqueeze(1)


def random_patch_mask(n, size=32, patch=4, mask_ratio=0.75, generator=None):
    g = size // patch
    k = round(mask_ratio * g * g)
    rank = torch.rand(n, g * g, generator=generator).argsort(1).argsort(1)
    visible = (rank >= k).float().view(n, 1, g, g)
    return visible.repeat_interleave(patch, 2).repeat_interleave(patch, 3)


def masked_mse(pred, target, mask):
    hidden = 1 - mask.bool()
    return ((pred - target) ** 2 * hidden).sum() / hidden.sum()
