"""Training from a memory-mapped dataset against the same data in memory: images/s through ``fit``.

    python benchmarks/memory_map.py [--images 40000] [--method simclr] [--device cpu]

The images (the `shapes` training set, repeated to ``--images``) are written once into the folder
cache's format (``MappedWriter``: one uint8 .npy file plus its metadata), then one epoch of the
method's quick recipe runs twice through ``fit``: with the dataset read into memory, and with it
memory-mapped, where every batch is gathered from the file (through the page cache) and moved to the
device on its own. Prints images/s for both.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from sslcourse.config import profile
from sslcourse.data import ImageDataset, load_dataset
from sslcourse.data.real import MappedWriter, read_mapped_cache
from sslcourse.runs import plan_run
from sslcourse.train import fit


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=40_000)
    ap.add_argument("--method", default="simclr")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    p = profile("quick", device=args.device)
    shapes = load_dataset("shapes", "train")
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "bench"
        with MappedWriter(key, args.images, 32) as writer:
            for start in range(0, args.images, len(shapes)):
                k = min(len(shapes), args.images - start)
                writer.append(shapes.images[:k].numpy(), shapes.labels[:k].tolist())
            writer.commit(shapes.classes)
        print(f"{args.method}, quick recipe, one epoch of {args.images:,} images on {args.device} "
              f"({torch.get_num_threads()} threads)")
        for memory_map in (False, True):
            saved = read_mapped_cache(key, memory_map=memory_map)
            data = ImageDataset(saved["images"], saved["labels"], shapes.classes, "bench", "train",
                                saved["fingerprint"], saved["memory_mapped"])
            run = plan_run(args.method, p, data, epochs=1)
            method = run.build()
            kwargs = {**run.fit_kwargs(), "checkpoint": None, "progress": False}
            t0 = time.perf_counter()
            fit(method, data, **kwargs)
            seconds = time.perf_counter() - t0
            print(f"  {'memory-mapped' if memory_map else 'in memory':<14} {args.images / seconds:8.0f} images/s "
                  f"({seconds:.1f} s)")
            del data, saved


if __name__ == "__main__":
    main()
