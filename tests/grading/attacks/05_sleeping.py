# Robustness: one function sleeps (no CPU time: the wall clock ends it); the other is right and keeps its marks.
import time

import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def generator_loss(fake_logits, non_saturating=True):
    time.sleep(10000)
