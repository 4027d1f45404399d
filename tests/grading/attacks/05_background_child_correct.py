# Robustness: a correct notebook that leaves a background process running (killed with the worker's group).
import subprocess

import torch.nn.functional as F

CHILD = subprocess.Popen(["sleep", "987"])


def discriminator_loss(real_logits, fake_logits, _child=CHILD):
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def generator_loss(fake_logits, non_saturating=True):
    if non_saturating:
        return -F.logsigmoid(fake_logits).mean()
    return F.logsigmoid(-fake_logits).mean()
