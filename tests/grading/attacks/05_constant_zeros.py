# Wrong answers: zero losses.
import torch


def discriminator_loss(real_logits, fake_logits):
    return torch.zeros(())


def generator_loss(fake_logits, non_saturating=True):
    return torch.zeros(())
