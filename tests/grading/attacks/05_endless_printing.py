# Robustness: one function prints without end; the other is right and keeps its marks.
import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def generator_loss(fake_logits, non_saturating=True):
    while True:
        print("all work and no play " * 50)
