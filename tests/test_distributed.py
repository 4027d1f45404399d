"""The same methods under torchrun: DDP in fit, negatives gathered across processes (2 CPU processes, gloo)."""
import json
import os
import socket
import subprocess
import sys

import pytest
import torch

from sslcourse import distributed
from sslcourse.ddp_demo import simclr_step_comparison, simclr_step_comparisons


@pytest.fixture(scope="module")
def ddp_steps():
    """Both settings of the demo from one start of its two processes (what lesson 04 runs)."""
    return simclr_step_comparisons(world_size=2, gathers=(True, False))


def test_one_ddp_step_of_simclr_equals_one_process_over_the_global_batch(ddp_steps):
    r = ddp_steps[True]
    assert r["ddp_loss"] == pytest.approx(r["one_process_loss"], abs=1e-6), r
    assert r["max_weight_difference"] < 1e-6, r
    assert r["max_weight_difference"] < 1e-3 * r["max_step"], "rounding, against the step's own size"
    assert r["ranks_agree"], "every process must end with the same weights"


def test_without_the_gather_each_process_sees_only_its_own_negatives_and_the_step_differs(ddp_steps):
    """The mutation the equality test must catch: NT-Xent over each process's own slice."""
    r = ddp_steps[False]
    assert abs(r["ddp_loss"] - r["one_process_loss"]) > 0.1, r
    assert r["max_weight_difference"] > 1e-6, r
    assert r["max_weight_difference"] > 0.01 * r["max_step"] > 0, "another step, not rounding (lesson 04's claim)"


def test_the_demo_batch_must_split_over_its_processes():
    with pytest.raises(ValueError, match="world_size must divide the global batch of 16, got 3"):
        simclr_step_comparison(world_size=3)


def test_a_world_of_one_is_plain_single_process_training():
    x = torch.randn(4, 3)
    assert distributed.current() == distributed.SINGLE and distributed.gather_with_grad(x) is x
    assert distributed.mean_across({"loss": 1.5}) == {"loss": 1.5}


def test_the_global_batch_must_split_over_the_processes(monkeypatch):
    from sslcourse.data import ImageDataset
    from sslcourse.methods.supervised import Supervised
    from sslcourse.models import SmallConvNet
    from sslcourse.train import fit

    monkeypatch.setattr(distributed, "current", lambda: distributed.World(0, 3, 0))
    data = ImageDataset(torch.zeros(64, 3, 16, 16, dtype=torch.uint8), torch.zeros(64, dtype=torch.int64), ["a"])
    with pytest.raises(ValueError, match="global batch_size=32 must split evenly over 3 processes"):
        fit(Supervised(SmallConvNet((8, 8, 8, 8)), 1), data, 1, batch_size=32, progress=False)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def torchrun(*args, cache, timeout=600):
    env = {**os.environ, "SSLCOURSE_DEVICE": "cpu", "SSLCOURSE_PROFILE": "quick", "SSLCOURSE_CACHE": str(cache),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
           "-m", "sslcourse", *args]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def test_torchrun_trains_simclr_on_two_cpu_processes_and_records_the_world(tmp_path):
    args = ("train", "simclr", "--epochs", "1", "--train-size", "512", "--quiet", "--out", str(tmp_path / "r.json"))
    out = torchrun(*args, cache=tmp_path / "cache")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    r = json.loads((tmp_path / "r.json").read_text())
    assert (r["world_size"], r["global_batch"], r["per_process_batch"]) == (2, 128, 64)
    assert r["knn_accuracy"] > 0 and r["random_init_knn_accuracy"] > 0
    assert out.stdout.count("kNN accuracy") == 1, "only rank 0 reports"
    again = torchrun(*args, cache=tmp_path / "cache")
    assert again.returncode == 0, again.stderr[-3000:]
    assert again.stdout.count("already trained") == 1, "both processes load rank 0's checkpoint; rank 0 says so"


def test_moco_under_ddp_every_queue_holds_every_process_keys_and_the_queues_agree(tmp_path):
    """MoCo's queue under torchrun: each process enqueues the keys of the whole global batch (gathered), and
    DDP's buffer broadcast does not overwrite them with rank 0's queue — so both queues are the same and hold
    the keys of both processes' images (views are deterministic here, so the keys can be computed directly)."""
    sys.path.insert(0, os.path.dirname(__file__))
    import ddp_moco_worker as worker

    port = free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.path.dirname(__file__)}
    procs = [subprocess.Popen([sys.executable, worker.__file__, str(rank), "2", str(port), str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for rank in range(2)]
    logs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), "\n".join(log[-2000:] for log in logs)
    queues = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]

    m, images = worker.method(), worker.data().images
    with torch.no_grad():  # the keys were computed before the key encoder's first momentum update
        keys = torch.nn.functional.normalize(m.key_encoder(worker._views(images)).float(), dim=1)  # (8, D)
    n = 2 * worker.GLOBAL_BATCH  # two (identical) views of every image of the global batch
    for r, q in enumerate(queues):
        assert int(q["ptr"]) == n, f"rank {r} enqueued {int(q['ptr'])} keys, not the global batch's {n}"
        written = q["queue"][:n]
        for i, key in enumerate(keys):  # image i lives on rank i // 4: both ranks' images must be there
            assert (written - key).abs().amax(1).min() < 1e-5, f"rank {r}'s queue lacks the key of image {i}"
    assert torch.equal(queues[0]["queue"], queues[1]["queue"]), "the two processes' queues differ"
    assert {"method.queue", "method.queue_ptr"} <= set(queues[0]["not_broadcast"]), \
        "DDP would copy rank 0's queue over every process's before each forward"
