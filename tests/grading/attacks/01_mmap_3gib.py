# Limits: map 3 GiB (RLIMIT_DATA does not count a mapping) before answering; the answer is right, so the
# function scores only if the mapping was allowed — it must not be.
import mmap

import torch


def random_block_mask(n, size=32, block=12, generator=None):
    top = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    left = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    r = torch.arange(size).view(1, size, 1)
    c = torch.arange(size).view(1, 1, size)
    hidden = (r >= top) & (r < top + block) & (c >= left) & (c < left + block)
    return (~hidden).float().unsqueeze(1)


def masked_mse(pred, target, mask):
    big = mmap.mmap(-1, 3 * 2**30)
    big[0] = 1
    hidden = 1.0 - mask
    return ((pred - target).pow(2) * hidden).sum() / (hidden.sum() * pred.shape[1]).clamp(min=1.0) + 0 * big[0]
