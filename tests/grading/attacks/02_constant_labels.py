# Wrong answer: the images four times, labels all zero.
import torch


def rotate_batch(images):
    return torch.cat([images] * 4), torch.zeros(4 * len(images), dtype=torch.int64)
