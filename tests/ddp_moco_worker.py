"""One process of tests/test_distributed.py's MoCo check: RANK WORLD_SIZE PORT OUT_DIR.

Trains MoCo for one step of a global batch of 8 images, this process's half of it, under DistributedDataParallel
(gloo, CPU), with deterministic views, and saves its queue, the queue's pointer and the initial key encoder.
"""
import sys
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn as nn

from sslcourse.ddp_demo import NoNormEncoder, _views
from sslcourse.data import ImageDataset
from sslcourse.methods.moco import MoCo
from sslcourse.train import fit

GLOBAL_BATCH = 8


def method() -> MoCo:
    torch.manual_seed(0)
    m = MoCo(NoNormEncoder(), augment=_views, queue_size=64)
    m.projector = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 128))  # no batch norm (see ddp_demo)
    m.key_encoder = type(m.key_encoder)(nn.Sequential(m.encoder, m.projector), 0.99, "constant")
    return m


def data() -> ImageDataset:
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (GLOBAL_BATCH, 3, 8, 8), dtype=torch.uint8, generator=g)
    return ImageDataset(images, torch.zeros(GLOBAL_BATCH, dtype=torch.int64), ["any"], "demo", "train")


if __name__ == "__main__":
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        m = method()
        fit(m, data(), 1, batch_size=GLOBAL_BATCH, lr=0.1, device="cpu", amp=None, channels_last=False,
            log_every=1, progress=False)
        from sslcourse.train import _distributed_step

        ignored = sorted(_distributed_step(m, torch.device("cpu"), 1).parameters_to_ignore)  # fit's DDP wrapper
        torch.save({"queue": m.queue, "ptr": m.queue_ptr, "not_broadcast": ignored}, out / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()
