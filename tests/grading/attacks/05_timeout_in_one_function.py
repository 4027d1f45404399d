# Robustness: one function never returns; the other is right and keeps its marks.
import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    while True:
        pass


def generator_loss(fake_logits, non_saturating=True):
    if non_saturating:
        return -F.logsigmoid(fake_logits).mean()
    return F.logsigmoid(-fake_logits).mean()
