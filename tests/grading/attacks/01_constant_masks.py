# Wrong answers: all-visible masks and a zero loss.
import torch


def random_block_mask(n, size=32, block=12, generator=None):
    return torch.ones(n, 1, size, size)


def random_patch_mask(n, size=32, patch=4, mask_ratio=0.75, generator=None):
    return torch.ones(n, 1, size, size)


def masked_mse(pred, target, mask):
    return torch.zeros(())
