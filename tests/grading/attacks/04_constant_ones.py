# Wrong answers: a constant loss; views that are not augmentations.
import torch


def nt_xent_loss(z1, z2, temperature=0.5):
    if z1.shape != z2.shape:
        raise ValueError(f"shapes differ: {tuple(z1.shape)} and {tuple(z2.shape)}")
    return torch.ones(()) + 0 * (z1.sum() + z2.sum())


def simclr_views(images, augment):
    return images + 0.001, images - 0.001
