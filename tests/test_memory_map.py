"""Data larger than memory: the decoded images live in a memory-mapped file and batches are read as needed."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sslcourse.data import load_dataset
from sslcourse.data.real import MappedWriter
from sslcourse.train import Method


def write_photos(root: Path, n=40):
    g = torch.Generator().manual_seed(0)
    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for k in range(n):
            Image.fromarray(torch.randint(0, 256, (12, 12, 3), dtype=torch.uint8, generator=g).numpy()).save(
                root / c / f"{k}.png")


def test_a_mapped_folder_equals_the_one_read_into_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    write_photos(tmp_path / "photos")
    in_memory = load_dataset("folder", "train", root=tmp_path / "photos", image_size=16, memory_map=False)
    mapped = load_dataset("folder", "train", root=tmp_path / "photos", image_size=16, memory_map=True)
    assert mapped.memory_mapped and not in_memory.memory_mapped
    assert torch.equal(mapped.images, in_memory.images) and torch.equal(mapped.labels, in_memory.labels)
    assert mapped.fingerprint == in_memory.fingerprint
    assert mapped.to("meta") is mapped, "a mapped dataset is never copied whole onto a device"
    assert not list((tmp_path / "cache").glob(".folder*")), "no temporary file is left behind"


def test_training_from_the_mapped_file_equals_training_in_memory(tmp_path, monkeypatch):
    from sslcourse.methods.supervised import Supervised
    from sslcourse.models import SmallConvNet
    from sslcourse.train import fit

    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    write_photos(tmp_path / "photos")
    weights = []
    for memory_map in (False, True):
        data = load_dataset("folder", "train", root=tmp_path / "photos", image_size=16, memory_map=memory_map)
        torch.manual_seed(0)
        model = Supervised(SmallConvNet((8, 8, 8, 8)), 2)
        fit(model, data, 2, batch_size=16, progress=False, amp=None)
        weights.append(model.state_dict())
    for k in weights[0]:
        assert torch.equal(weights[0][k], weights[1][k]), k


CHILD = """
import resource, sys
limit = {limit} * 2**20
resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
import numpy as np, torch
sys.path.insert(0, {tests!r})
from test_memory_map import MeanPixel
from sslcourse.data import ImageDataset
from sslcourse.data.real import read_mapped_cache
from sslcourse.train import fit
torch.set_num_threads(1)
saved = read_mapped_cache(__import__("pathlib").Path({key!r}), memory_map=True)
data = ImageDataset(saved["images"], saved["labels"], ["a", "b"], "big", "train", saved["fingerprint"],
                    saved["memory_mapped"])
history = fit(MeanPixel(), data, 1, batch_size=2048, progress=False, amp=None, channels_last=False)
print("trained", len(data), "images,", data.images.numel() // 2**20, "MB, mean pixel", round(history.last("mean"), 3))
try:
    np.array(np.load({key!r} + ".npy"))
    print("copied into memory")
except MemoryError:
    print("a copy in memory does not fit")
"""


class MeanPixel(Method):
    """Reads every pixel of each batch (so every page of the file is touched) and learns nothing."""

    schedule, optimizer, lr, weight_decay = "constant", "sgd", 0.0, 0.0

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Linear(1, 1)

    def training_step(self, images, labels, part="main"):
        mean = images.float().mean()
        return self.encoder.weight.sum() * 0 + mean * 0, {"mean": mean.detach()}


@pytest.mark.slow
def test_a_dataset_larger_than_the_process_memory_limit_trains_from_its_file(tmp_path):
    """1.2 GB of images under a 1,000 MB limit on the process's private memory (RLIMIT_DATA; a read-only
    mapped file does not count against it, a copy in memory would)."""
    key = tmp_path / "big"
    n = 400_000  # 3 × 32 × 32 bytes each: 1.2 GB
    with MappedWriter(key, n, 32) as writer:
        ramp = (np.arange(8192, dtype=np.int64) % 251).astype(np.uint8)[:, None, None, None]
        for start in range(0, n, 8192):
            k = min(8192, n - start)
            writer.append(np.broadcast_to(ramp[:k], (k, 3, 32, 32)), [0, 1] * (k // 2) + [0] * (k % 2))
        writer.commit(["a", "b"])
    script = CHILD.format(limit=1000, tests=str(Path(__file__).parent), key=str(key))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, env=env,
                         timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "trained 400000 images, 1171 MB" in out.stdout, out.stdout
    assert "a copy in memory does not fit" in out.stdout, "the limit must be real for the test to mean anything"
