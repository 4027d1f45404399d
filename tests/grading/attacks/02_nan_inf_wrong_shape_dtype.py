# Wrong answers: NaN and inf, the wrong shape, the wrong dtype.
import torch


def rotate_batch(images):
    n = len(images)
    return torch.full((4 * n, *images.shape[1:]), float("nan")), torch.full((4 * n,), float("inf"))


def orientation_log_probs(logits):
    return torch.zeros(logits.shape[1], 4, 1, dtype=torch.complex64)
