# Robustness: a lambda and a module constant computed by a call are honest work.
import torch

EPS = torch.finfo(torch.float32).tiny


def _log_sigmoid(x):
    return -torch.nn.functional.softplus(-x) + 0 * EPS


discriminator_loss = lambda real_logits, fake_logits: -_log_sigmoid(real_logits).mean() - _log_sigmoid(-fake_logits).mean()  # noqa: E731
generator_loss = lambda fake_logits, non_saturating=True: (-_log_sigmoid(fake_logits).mean() if non_saturating  # noqa: E731
                                                           else _log_sigmoid(-fake_logits).mean())
