# Robustness: a 50 MB output where a scalar belongs fails that function only; the others keep their marks.
import math

import torch
import torch.nn.functional as F


def nt_xent_loss(z1, z2, temperature=0.5):
    return torch.zeros(50 * 2**20 // 4)


def simclr_views(images, augment):
    return augment(images), augment(images)


def alignment_uniformity(z1, z2, t=2.0):
    a, b = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)
    alignment = (a - b).pow(2).sum(1).mean()

    def uniformity(x):
        d2 = (x.unsqueeze(0) - x.unsqueeze(1)).pow(2).sum(-1)
        off = ~torch.eye(len(x), dtype=torch.bool)
        return torch.logsumexp(-t * d2[off], dim=0) - math.log(len(x) * (len(x) - 1))

    return alignment, (uniformity(a) + uniformity(b)) / 2
