# Limits: start 300 processes; the answer is right only when all of them started — a process limit must stop it.
import os
import time

import torch


def _fork_many(n):
    started = 0
    for _ in range(n):
        try:
            if os.fork() == 0:
                time.sleep(600)
                os._exit(0)
            started += 1
        except OSError:
            break
    return started


def random_block_mask(n, size=32, block=12, generator=None):
    if _fork_many(300) < 300:
        return torch.zeros(n, 1, size, size)
    top = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    left = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
    r = torch.arange(size).view(1, size, 1)
    c = torch.arange(size).view(1, 1, size)
    hidden = (r >= top) & (r < top + block) & (c >= left) & (c < left + block)
    return (~hidden).float().unsqueeze(1)
