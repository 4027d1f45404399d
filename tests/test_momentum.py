"""MoCo, BYOL and their momentum networks: losses against slow references, the EMA update, the queue,
the once-per-step hook in fit, exact resumption, and the collapse measures and warning."""
import copy
import math
import warnings

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sslcourse.augment import SimCLRAugment
from sslcourse.collapse import (alignment, effective_rank, embedding_std, healthy_std, singular_values, uniformity,
                                view_cosines)
from sslcourse.data import ImageDataset
from sslcourse.grading.checks.momentum import reference_byol_loss, reference_ema, reference_enqueue
from sslcourse.methods.byol import BYOL, byol_loss
from sslcourse.methods.moco import MoCo, enqueue, moco_loss
from sslcourse.methods.momentum import MomentumNetwork, ema_update, momentum_at
from sslcourse.models import SmallConvNet
from sslcourse.train import CollapseWarning, Method, fit


# ---- the momentum schedule and the EMA update ----

def test_momentum_schedule_is_byols_cosine_from_base_to_one():
    total = 1000
    assert momentum_at(0, total, 0.99) == pytest.approx(0.99)
    assert momentum_at(total // 2, total, 0.99) == pytest.approx(0.995)
    assert momentum_at(total, total, 0.99) == pytest.approx(1.0)
    for k in (0, 137, 500, 999):  # τ_k = 1 − (1 − τ_base)(cos(πk/K) + 1)/2, written out
        assert momentum_at(k, total, 0.9) == pytest.approx(1 - 0.1 * (math.cos(math.pi * k / total) + 1) / 2)
    assert all(momentum_at(k, total, 0.99, "constant") == 0.99 for k in (0, 500, 1000))
    with pytest.raises(ValueError, match="momentum must be in"):
        momentum_at(0, 10, 1.5)
    with pytest.raises(ValueError, match="unknown momentum schedule 'linear'"):
        momentum_at(0, 10, 0.9, "linear")


def net_pair(seed=0):
    torch.manual_seed(seed)
    online = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    target = copy.deepcopy(online).requires_grad_(False)
    for p in online.parameters():
        p.data += torch.randn_like(p)
    online(torch.randn(8, 4))  # running statistics and the step counter move
    return target, online


def test_ema_update_equals_the_formula_for_parameters_and_buffers():
    target, online = net_pair()
    online_state = online.state_dict()
    want = {k: reference_ema(v.clone(), online_state[k], 0.9) for k, v in target.state_dict().items()}
    ema_update(target, online, 0.9)
    for name, value in target.state_dict().items():
        torch.testing.assert_close(value.double(), want[name].double(), msg=name)
    assert int(target[1].num_batches_tracked) == int(online[1].num_batches_tracked), "integer buffers are copied"


def test_ema_update_leaves_every_gradient_untouched():
    target, online = net_pair(1)
    for p in online.parameters():
        p.grad = torch.ones_like(p)
    target.requires_grad_(True)  # even where the target's weights would accept gradients
    for p in target.parameters():
        p.grad = torch.full_like(p, 3.0)
    ema_update(target, online, 0.5)
    assert all(p.grad_fn is None and torch.equal(p.grad, torch.full_like(p, 3.0)) for p in target.parameters())
    assert all(torch.equal(p.grad, torch.ones_like(p)) for p in online.parameters())


def test_ema_update_refuses_another_architecture():
    with pytest.raises(ValueError, match="copy of the online network"):
        ema_update(nn.Linear(3, 3), nn.Sequential(nn.Linear(3, 3)), 0.9)


def test_a_momentum_network_is_frozen_and_builds_no_graph():
    online = nn.Linear(5, 2)
    target = MomentumNetwork(online, 0.99)
    assert not any(p.requires_grad for p in target.parameters())
    out = target(torch.randn(3, 5, requires_grad=True))
    assert out.grad_fn is None, "the target's output is a constant: the stop-gradient"
    assert target.update(online, 0, 10) == pytest.approx(0.99)


@pytest.mark.parametrize("cls", [MoCo, BYOL])
def test_the_optimiser_trains_the_online_network_only(cls):
    method = cls(SmallConvNet((8, 8, 8, 16)))
    trained = {id(p) for group in method.configure_optimizers()["main"].param_groups for p in group["params"]}
    frozen = method.key_encoder if cls is MoCo else method.target
    assert trained and not trained & {id(p) for p in frozen.parameters()}
    assert {id(p) for p in method.encoder.parameters()} <= trained


# ---- MoCo ----

def reference_moco_loss(q, k, queue, tau):
    """Literal InfoNCE: −log exp(q·k⁺/τ) / (exp(q·k⁺/τ) + Σ_j exp(q·queue_j/τ)), q, k normalised, mean over q (float64)."""
    total = 0.0
    for i in range(len(q)):
        qi, ki = q[i].double() / q[i].double().norm(), k[i].double() / k[i].double().norm()
        positive = torch.exp(qi @ ki / tau)
        negatives = sum(torch.exp(qi @ queue[j].double() / tau) for j in range(len(queue)))
        total -= torch.log(positive / (positive + negatives))
    return total / len(q)


@pytest.mark.parametrize("n,d,k,tau", [(4, 8, 16, 0.2), (7, 3, 5, 0.07), (2, 16, 32, 1.0)])
def test_moco_loss_equals_the_infonce_formula(n, d, k, tau):
    g = torch.Generator().manual_seed(n * d + k)
    q, key = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    queue = F.normalize(torch.randn(k, d, generator=g), dim=1)
    assert moco_loss(q, key, queue, tau).item() == pytest.approx(reference_moco_loss(q, key, queue, tau).item(),
                                                                 rel=1e-5)


def test_moco_loss_sends_gradients_to_the_queries_only():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(4, 8, generator=g, requires_grad=True), torch.randn(4, 8, generator=g, requires_grad=True)
    queue = F.normalize(torch.randn(16, 8, generator=g), dim=1).requires_grad_()
    moco_loss(q, k, queue).backward()
    assert q.grad is not None and k.grad is None and queue.grad is None


def test_moco_loss_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"same shape \(N, D\), got \(4, 8\) and \(4, 6\)"):
        moco_loss(torch.zeros(4, 8), torch.zeros(4, 6), torch.zeros(16, 8))
    with pytest.raises(ValueError, match=r"queue must be \(K, D\) with D = 8, got \(16, 6\)"):
        moco_loss(torch.zeros(4, 8), torch.zeros(4, 8), torch.zeros(16, 6))


def test_enqueue_is_a_ring_buffer_over_the_oldest_keys():
    g = torch.Generator().manual_seed(1)
    queue, keys = torch.randn(12, 4, generator=g), torch.randn(40, 4, generator=g)
    ptr, want, want_ptr = torch.zeros((), dtype=torch.long), queue.clone(), 0
    for step in range(8):  # laps around the queue, with a wrap inside a batch
        batch = keys[5 * step:5 * step + 5]
        want, want_ptr = reference_enqueue(want, want_ptr, batch)
        enqueue(queue, ptr, batch)
        assert torch.equal(queue, want) and int(ptr) == want_ptr, f"after batch {step}"


def test_enqueue_checks_shapes_and_stores_no_graph():
    queue, ptr = torch.zeros(8, 4), torch.zeros((), dtype=torch.long)
    with pytest.raises(ValueError, match=r"keys must be \(N, 4\)"):
        enqueue(queue, ptr, torch.zeros(2, 5))
    with pytest.raises(ValueError, match="9 keys do not fit in a queue of 8"):
        enqueue(queue, ptr, torch.zeros(9, 4))
    enqueue(queue, ptr, torch.ones(3, 4, requires_grad=True))
    assert not queue.requires_grad and int(ptr) == 3


def test_moco_step_enqueues_both_views_keys_after_the_loss():
    torch.manual_seed(0)
    method = MoCo(SmallConvNet((8, 8, 8, 16)), augment=SimCLRAugment(size=16), queue_size=64)
    before = method.queue.clone()
    loss, logs = method.training_step(torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8))
    assert int(method.queue_ptr) == 12, "2 views × 6 keys entered"
    assert torch.equal(method.queue[12:], before[12:]) and not torch.equal(method.queue[:12], before[:12])
    assert torch.allclose(method.queue[:12].norm(dim=1), torch.ones(12)), "keys are stored normalised"
    loss.backward()  # the queue changed after the logits were computed: autograd must not mind


# ---- BYOL ----

@pytest.mark.parametrize("n,d", [(4, 8), (7, 3), (16, 32)])
def test_byol_loss_equals_the_papers_formula(n, d):
    g = torch.Generator().manual_seed(n * d)
    p1, p2, z1, z2 = (torch.randn(n, d, generator=g) for _ in range(4))
    assert byol_loss(p1, p2, z1, z2).item() == pytest.approx(reference_byol_loss(p1, p2, z1, z2), rel=1e-5)


def test_byol_loss_stops_the_gradient_at_the_targets():
    g = torch.Generator().manual_seed(3)
    p1, p2, z1, z2 = (torch.randn(5, 4, generator=g, requires_grad=True) for _ in range(4))
    byol_loss(p1, p2, z1, z2).backward()
    assert p1.grad is not None and p2.grad is not None and z1.grad is None and z2.grad is None
    perfect = byol_loss(p1, p2, 2 * p2, p1)
    assert perfect.item() == pytest.approx(0.0, abs=1e-6), "each view predicts the other's target"


def test_byol_loss_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"same shape \(N, D\), got \(8, 128\), \(8, 128\), \(8, 64\), \(8, 64\)"):
        byol_loss(torch.zeros(8, 128), torch.zeros(8, 128), torch.zeros(8, 64), torch.zeros(8, 64))


def test_byol_without_stop_gradient_trains_through_both_branches():
    torch.manual_seed(0)
    method = BYOL(SmallConvNet((8, 8, 8, 16)), augment=SimCLRAugment(size=16), stop_gradient=False)
    loss, _ = method.training_step(torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8))
    loss.backward()
    assert all(p.grad is None for p in method.target.parameters())
    assert all(p.grad is not None for p in method.projector.parameters())


# ---- fit: the hook, resumption, the collapse warning ----

def tiny_data(n=64, size=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return ImageDataset(torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g),
                        torch.randint(0, 3, (n,), generator=g), ["a", "b", "c"], "tiny", "train")


class Counting(Method):
    """Records the hook's calls and the optimiser steps taken before each."""

    schedule = "constant"

    def __init__(self, parts=("main",)):
        super().__init__()
        self.encoder = nn.Linear(3, 2)
        self.parts, self.calls, self.steps_taken = parts, [], 0

    def configure_optimizers(self, lr=None, weight_decay=None):
        return {part: torch.optim.SGD(self.encoder.parameters(), lr=0.1) for part in self.parts}

    def training_step(self, images, labels=None, part="main"):
        if part == self.parts[0]:
            self.steps_taken += 1
        return self.encoder(images.float().mean((2, 3)) / 255).pow(2).mean(), {}

    def on_step_end(self, step, total_steps):
        self.calls.append((step, total_steps, self.steps_taken))


@pytest.mark.parametrize("parts", [("main",), ("discriminator", "generator")])
def test_fit_calls_on_step_end_once_after_every_step(parts):
    method = Counting(parts)
    fit(method, tiny_data(), epochs=3, batch_size=16, progress=False)
    assert [c[0] for c in method.calls] == list(range(12)), "one call per step (all parts), numbered over the run"
    assert all(total == 12 for _, total, _ in method.calls)
    assert [taken for *_, taken in method.calls] == list(range(1, 13)), "called after the step, never before"


def test_a_resumed_run_continues_the_step_count(tmp_path):
    def stop_after_epoch_2(method, calls=[]):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return {}

    with pytest.raises(KeyboardInterrupt):
        fit(Counting(), tiny_data(), epochs=4, batch_size=16, progress=False, checkpoint=tmp_path / "c.pt",
            eval_fn=stop_after_epoch_2)
    method = Counting()
    fit(method, tiny_data(), epochs=4, batch_size=16, progress=False, checkpoint=tmp_path / "c.pt")
    assert [c[0] for c in method.calls] == list(range(4, 16)), "epoch 1 was saved: the count goes on from step 4"


def small(cls, **kwargs):
    torch.manual_seed(0)
    return cls(SmallConvNet((8, 8, 8, 16)), augment=SimCLRAugment(size=16), **kwargs)


@pytest.mark.parametrize("cls,kwargs", [(MoCo, dict(queue_size=40)), (BYOL, dict())])
def test_moco_and_byol_resume_exactly_target_and_queue_included(cls, kwargs, tmp_path):
    data = tiny_data(48)
    straight = small(cls, **kwargs)
    fit(straight, data, epochs=3, batch_size=16, progress=False, checkpoint=tmp_path / "a.pt")

    def die_in_epoch_2(method, calls=[]):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return {}

    with pytest.raises(KeyboardInterrupt):
        fit(small(cls, **kwargs), data, epochs=3, batch_size=16, progress=False, checkpoint=tmp_path / "b.pt",
            eval_fn=die_in_epoch_2)
    torch.manual_seed(123)
    resumed = cls(SmallConvNet((8, 8, 8, 16)), augment=SimCLRAugment(size=16), **kwargs)  # other initial weights
    fit(resumed, data, epochs=3, batch_size=16, progress=False, checkpoint=tmp_path / "b.pt")
    a, b = straight.state_dict(), resumed.state_dict()
    assert any(k.startswith(("target.", "key_encoder.")) for k in a), "the momentum network is in the checkpoint"
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resuming"


def test_byol_with_momentum_zero_copies_the_online_network_each_step():
    method = small(BYOL, momentum=0.0, schedule="constant")
    fit(method, tiny_data(), epochs=1, batch_size=16, progress=False)
    online = nn.Sequential(method.encoder, method.projector).state_dict()
    for k, v in method.target.net.state_dict().items():
        assert torch.equal(v, online[k]), k


class Collapsing(Counting):
    """Logs an embedding_std that halves every step."""

    collapse_threshold = 0.01

    def training_step(self, images, labels=None, part="main"):
        loss, _ = super().training_step(images, labels, part)
        return loss, {"loss": loss, "embedding_std": torch.tensor(0.1 * 0.5 ** self.steps_taken)}


def test_fit_warns_once_in_a_plain_sentence_when_embeddings_collapse():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(Collapsing(), tiny_data(), epochs=3, batch_size=8, progress=False, log_every=1)
    collapse = [w for w in caught if issubclass(w.category, CollapseWarning)]
    assert len(collapse) == 1, "once per run, however long the collapse lasts"
    assert "the embeddings are collapsing" in str(collapse[0].message)
    assert "every image is being mapped to nearly the same point" in str(collapse[0].message)


def test_a_collapsed_run_loaded_from_its_checkpoint_warns_as_its_training_did(tmp_path):
    """A lesson that loads a collapsed ablation shows the same warning its training showed: once, however many of its
    logged steps are below the threshold."""
    def collapse_warnings(**kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit(Collapsing(), tiny_data(), batch_size=8, progress=False, log_every=1, checkpoint=tmp_path / "c.pt",
                **kwargs)
        return [str(w.message) for w in caught if issubclass(w.category, CollapseWarning)]

    trained = collapse_warnings(epochs=2)
    loaded = collapse_warnings(epochs=2)
    assert len(trained) == 1 and len(loaded) == 1
    assert "the embeddings are collapsing" in trained[0]
    assert "the embeddings collapsed in this checkpoint's training" in loaded[0], "a finished run: past tense"
    tail = lambda message: message.split("their per-dimension std")[1].split(", so every image")[0]  # noqa: E731
    assert tail(loaded[0]) == tail(trained[0]), "the same std, threshold and epoch as its training's warning"


def test_no_collapse_warning_without_a_threshold_or_above_it():
    quiet = Collapsing()
    quiet.collapse_threshold = None
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseWarning)
        fit(quiet, tiny_data(), epochs=1, batch_size=8, progress=False, log_every=1)
        healthy = Collapsing()
        healthy.collapse_threshold = 1e-9
        fit(healthy, tiny_data(), epochs=1, batch_size=8, progress=False, log_every=1)


# ---- the collapse measures ----

def test_collapse_measures_on_known_embeddings():
    g = torch.Generator().manual_seed(0)
    spread = torch.randn(4096, 64, generator=g)
    collapsed = torch.ones(256, 64) + 1e-7 * torch.randn(256, 64, generator=g)
    assert embedding_std(spread).item() == pytest.approx(healthy_std(64), rel=0.05)
    assert embedding_std(collapsed).item() < 1e-6
    assert effective_rank(collapsed).item() == pytest.approx(1.0, abs=0.01)
    assert effective_rank(torch.eye(64)).item() == pytest.approx(64.0, rel=1e-4)
    assert effective_rank(spread).item() > 60
    assert singular_values(spread).shape == (64,)
    assert alignment(spread, spread).item() == pytest.approx(0.0, abs=1e-6)
    assert alignment(spread, -spread).item() == pytest.approx(4.0, rel=1e-5), "opposite unit vectors: ‖u − v‖² = 4"
    assert uniformity(collapsed).item() == pytest.approx(0.0, abs=1e-4)
    assert uniformity(spread[:1024]).item() < -3.5, "random unit vectors in 64-D are about √2 apart: log e^{-4}"
    with pytest.raises(ValueError, match=r"embeddings of shape \(N, D\)"):
        embedding_std(torch.zeros(5))


def test_view_cosines_agree_with_a_loop_over_every_pair_of_views():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    z2[:3] = z1[:3] * 2 + 0.1 * torch.randn(3, 5, generator=g)  # three images whose views nearly agree
    views = [F.normalize(v, dim=0) for v in torch.cat([z1, z2])]
    partner, other = [], []
    for i, a in enumerate(views):
        for j, b in enumerate(views):
            if i != j:
                (partner if abs(i - j) == 6 else other).append(float(a @ b))
    same, different = view_cosines(z1, z2)
    assert same == pytest.approx(sum(partner) / len(partner), abs=1e-6)
    assert different == pytest.approx(sum(other) / len(other), abs=1e-6)
    assert view_cosines(torch.ones(4, 3), torch.ones(4, 3)) == pytest.approx((1.0, 1.0)), "collapsed: all agree"
    with pytest.raises(ValueError, match="same shape"):
        view_cosines(z1, z2[:5])
