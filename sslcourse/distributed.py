"""Training on several processes: ``torchrun`` and ``DistributedDataParallel``, as every SSL library does.

The course does not invent its own distribution. ``torchrun --nproc_per_node=N -m sslcourse train
METHOD`` starts N processes with ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and a rendezvous address in
their environment; :func:`setup` joins them into one process group (NCCL between GPUs, gloo on
CPUs) and ``train.fit`` — still the one loop — wraps the method in ``DistributedDataParallel``:

* every process draws the same shuffled order, cuts the same *global* batch (the recipe's batch
  size) and keeps its own slice of it, so the recipe and its learning rate mean the same thing on
  1 or 8 processes;
* DDP averages the gradients; batch norm is synchronised (``SyncBatchNorm``) on GPUs;
* only rank 0 prints, shows the progress bar, evaluates and writes checkpoints and results.

Where self-supervised learning differs from supervised training on many GPUs is the loss that
compares samples with each other. NT-Xent over each process's own slice sees only that slice's
negatives: the loss — and what the network learns — then changes with the number of processes.
:func:`gather_with_grad` concatenates every process's embeddings *with* their gradients (the
"GatherLayer" of SimCLR and MoCo implementations), so the loss over N processes equals the loss
over the global batch on one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """This process's place among the processes of a run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


SINGLE = World()


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


def setup(device_type: str) -> World:
    """Join the process group torchrun described in the environment (NCCL on CUDA, else gloo)."""
    if not dist.is_initialized():
        backend = "nccl" if device_type == "cuda" else "gloo"
        if device_type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        dist.init_process_group(backend)
    return current()


def current() -> World:
    """The process group this process belongs to (a world of one without torch.distributed)."""
    if not (dist.is_available() and dist.is_initialized()):
        return SINGLE
    return World(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))


def teardown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class _GatherWithGrad(torch.autograd.Function):
    """all_gather whose backward hands each process the gradient its slice received from *every*
    process's loss: the sum over processes (an all-reduce), then this process's slice."""

    @staticmethod
    def forward(ctx, x):
        slices = [torch.empty_like(x) for _ in range(dist.get_world_size())]
        dist.all_gather(slices, x)
        return tuple(slices)

    @staticmethod
    def backward(ctx, *grads):
        g = torch.stack(grads)  # (world, N_local, ...): what this process's loss sends to every slice
        dist.all_reduce(g)  # summed over the processes' losses
        return g[dist.get_rank()]


def gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Every process's ``x`` (N_local, ...) concatenated in rank order: (N_global, ...), with gradients.

    The backward pass sums, for each process's slice, the gradients that every process's loss sends
    back to it; DDP then averages over the processes, so a loss computed on the gathered tensor
    trains exactly like the same loss over the global batch on one process (tested with two
    processes in ``tests/test_distributed.py``). A world of one returns ``x`` itself.
    """
    if current().size == 1:
        return x
    return torch.cat(_GatherWithGrad.apply(x.contiguous()))


@torch.no_grad()
def gather(x: torch.Tensor) -> torch.Tensor:
    """Every process's ``x`` (N_local, ...) concatenated in rank order, without gradients (e.g. MoCo's keys,
    which every process enqueues so that all queues stay the same). A world of one returns ``x`` itself."""
    if current().size == 1:
        return x
    slices = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(slices, x.contiguous())
    return torch.cat(slices)


def barrier() -> None:
    if current().size > 1:
        dist.barrier()


def mean_across(values: dict) -> dict:
    """{name: float} averaged over the processes (for logs: each process saw its own slice)."""
    world = current()
    if world.size == 1 or not values:
        return values
    t = torch.tensor(list(values.values()), dtype=torch.float64)
    if dist.get_backend() == "nccl":
        t = t.cuda()
    dist.all_reduce(t)
    return dict(zip(values, (t / world.size).tolist()))
