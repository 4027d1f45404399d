"""One SimCLR step on one process and on several: where distributed contrastive learning goes wrong.

    simclr_step_comparison(world_size=2, gather=True)   # -> {"one_process_loss", "ddp_loss", "max_weight_difference"}
    simclr_step_comparisons(world_size=2)                # -> {False: {...}, True: {...}}: both, one process start

Both runs take one optimiser step, through ``train.fit``, on the same global batch of 16 images.
The several-process run is real: ``world_size`` processes on this machine, joined with the gloo
backend, each stepping on its half of the batch inside DistributedDataParallel. With
``gather=True`` SimCLR gathers every process's embeddings before NT-Xent (``distributed.gather_with_grad``)
and the loss and the updated weights equal the one-process run's; with ``gather=False`` each process
sees only its own negatives and both differ — the bug lesson 04 shows.

The network here has no batch norm: on CPUs, where gloo runs, PyTorch's ``SyncBatchNorm`` is not
available, and per-process batch statistics would make the two runs differ for a reason other than
the negatives. (On GPUs ``fit`` synchronises batch norm.) The views are deterministic for the same
reason: random augmentations are drawn per process and would differ from the one-process draw.
"""
from __future__ import annotations

import socket
import tempfile
from pathlib import Path

import torch
import torch.nn as nn

GLOBAL_BATCH = 16


class NoNormEncoder(nn.Module):
    """A small convolutional encoder without batch norm: (N, 3, H, W) -> (N, 16)."""

    feature_dim = 16

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                                 nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.net(x.float() / 255 if x.dtype == torch.uint8 else x)


def _views(images: torch.Tensor) -> torch.Tensor:
    """Deterministic 'views': the image itself, as float (see the module docstring)."""
    return images.float() / 255


def _demo_method(gather: bool):
    from .methods.simclr import SimCLR

    torch.manual_seed(0)
    method = SimCLR(NoNormEncoder(), augment=_views, temperature=0.5, gather=gather)
    method.projector = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))  # no batch norm either
    method.optimizer = "sgd"
    return method


def _demo_data():
    from .data import ImageDataset

    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (GLOBAL_BATCH, 3, 8, 8), dtype=torch.uint8, generator=g)
    return ImageDataset(images, torch.zeros(GLOBAL_BATCH, dtype=torch.int64), ["any"], "demo", "train")


def _one_step(gather: bool):
    """(loss, weights after the step, weights before it) of one SimCLR step over the demo's batch."""
    from .train import fit

    method = _demo_method(gather)
    before = {k: v.detach().clone() for k, v in method.state_dict().items()}
    history = fit(method, _demo_data(), 1, batch_size=GLOBAL_BATCH, lr=0.5, device="cpu", amp=None,
                  channels_last=False, log_every=1, progress=False)
    after = {k: v.detach().clone() for k, v in method.state_dict().items()}
    return history.steps[0]["loss"], after, before


def _worker(rank: int, world_size: int, port: int, gathers: list[bool], out: str) -> None:
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size)
    try:
        for gather in gathers:  # one process group, one fresh method and step per setting
            loss, state, _ = _one_step(gather)
            torch.save({"loss": loss, "state": state}, Path(out) / f"gather{int(gather)}-rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def simclr_step_comparison(world_size: int = 2, gather: bool = True, timeout: float = 600) -> dict:
    """One SimCLR step over the same global batch on 1 process and on ``world_size`` processes (gloo, CPU).

    The processes are started as ``python -m sslcourse.ddp_demo`` — not forked from the caller, so this works
    the same from a notebook, a script or a test."""
    return simclr_step_comparisons(world_size, (gather,), timeout)[gather]


def simclr_step_comparisons(world_size: int = 2, gathers=(False, True), timeout: float = 600) -> dict:
    """``simclr_step_comparison`` for each setting of ``gather``, keyed by it: the processes start once and take
    one step per setting (starting them — importing torch — costs more than the steps)."""
    import os
    import subprocess
    import sys

    if GLOBAL_BATCH % world_size:
        raise ValueError(f"world_size must divide the global batch of {GLOBAL_BATCH}, got {world_size}")
    gathers = [bool(g) for g in gathers]
    one = {gather: _one_step(gather) for gather in gathers}
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as out:
        procs = [subprocess.Popen([sys.executable, "-m", "sslcourse.ddp_demo", str(rank), str(world_size), str(port),
                                   ",".join(str(int(g)) for g in gathers), out], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for rank in range(world_size)]
        logs = [proc.communicate(timeout=timeout)[0] for proc in procs]
        for rank, (proc, log) in enumerate(zip(procs, logs)):
            if proc.returncode != 0:
                raise RuntimeError(f"process {rank} of the demo failed:\n{log[-2000:]}")
        results = {g: [torch.load(Path(out) / f"gather{int(g)}-rank{r}.pt", weights_only=True)
                       for r in range(world_size)] for g in gathers}
    comparisons = {}
    for gather in gathers:
        one_loss, one_state, initial = one[gather]
        states = [r["state"] for r in results[gather]]
        comparisons[gather] = {
            "world_size": world_size, "gather": gather,
            "one_process_loss": one_loss, "ddp_loss": results[gather][0]["loss"],
            "max_weight_difference": max((states[0][k] - one_state[k]).abs().max().item() for k in one_state),
            "max_step": max((one_state[k] - initial[k]).abs().max().item() for k in one_state),  # the scale
            "ranks_agree": all(torch.equal(s[k], states[0][k]) for s in states for k in one_state),
        }
    return comparisons


if __name__ == "__main__":  # one process of the demo: RANK WORLD_SIZE PORT GATHERS OUT_DIR (GATHERS: "0", "1", "0,1")
    import sys

    rank_, world_, port_, gathers_, out_ = sys.argv[1:6]
    _worker(int(rank_), int(world_), int(port_), [bool(int(g)) for g in gathers_.split(",")], out_)
