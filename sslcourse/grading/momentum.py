"""Exercise 07 — momentum networks, BYOL's loss and MoCo's queue.

Graded functions::

    ema_update(target, online, momentum) -> None
        in place, without gradients: every parameter and floating-point buffer t of ``target`` becomes
        momentum·t + (1 − momentum)·o (o the same-named tensor of ``online``); integer buffers are copied
    byol_loss(p1, p2, z1, z2) -> scalar
        mean over the batch of (2 − 2·cos(p1, sg(z2))) + (2 − 2·cos(p2, sg(z1))), sg = stop-gradient
    enqueue(queue, ptr, keys) -> None
        in place: keys (N, D) overwrite the N oldest rows of queue (K, D), from row ptr on, wrapping
        around; ptr (a 0-dim int64 tensor) becomes (ptr + N) mod K

The references below are slow and literal — loops over the formula, in float64 — and import nothing
from the course's methods: a grader checks against its own reading of the papers.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from .core import Case, CheckFailed, expect_tensor, inline_check


# ---- references ----

def reference_ema(target_state: dict, online_state: dict, momentum: float) -> dict:
    """{name: tensor}: m·t + (1 − m)·o for floating-point entries, o for integer ones (BYOL eq. 1; MoCo eq. 2)."""
    out = {}
    for name, t in target_state.items():
        o = online_state[name]
        if t.is_floating_point():
            out[name] = momentum * t.double() + (1 - momentum) * o.double()
        else:
            out[name] = o.clone()
    return out


def reference_byol_loss(p1, p2, z1, z2) -> float:
    """(1/N) Σ_i [‖p1_i/‖p1_i‖ − z2_i/‖z2_i‖‖² + ‖p2_i/‖p2_i‖ − z1_i/‖z1_i‖‖²] (Grill et al. 2020, eq. 2), float64."""
    total = 0.0
    for i in range(len(p1)):
        for p, z in ((p1[i], z2[i]), (p2[i], z1[i])):
            p, z = p.double(), z.double()
            total += float(((p / p.norm() - z / z.norm()) ** 2).sum())
    return total / len(p1)


def reference_enqueue(queue, ptr: int, keys):
    """A ring buffer, one key at a time: key j goes to row (ptr + j) mod K. Returns (queue, new ptr)."""
    queue = queue.clone()
    k = len(queue)
    for j in range(len(keys)):
        queue[(ptr + j) % k] = keys[j]
    return queue, (ptr + len(keys)) % k


# ---- networks for the EMA cases ----

def _net(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))


def _pair(seed: int = 0):
    """(target, online): a frozen copy, then the online network moved away from it (weights and statistics)."""
    with torch.random.fork_rng(devices=[]):
        online = _net(seed)
        target = copy.deepcopy(online).requires_grad_(False)
        torch.manual_seed(seed + 100)
        for p in online.parameters():
            p.data += torch.randn_like(p)
        online.train()
        online(torch.randn(16, 4))  # batch norm's running statistics and step counter move too
    return target, online


def _state(module: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _compare(target: nn.Module, expected: dict, what: str) -> None:
    got = target.state_dict()
    for name, want in expected.items():
        g = got[name]
        if not torch.allclose(g.double(), want.double(), atol=1e-6, rtol=1e-5):
            kind = "buffer" if name.endswith(("running_mean", "running_var", "num_batches_tracked")) else "parameter"
            raise CheckFailed(f"{what}: the {kind} {name} differs from m·target + (1 − m)·online by up to "
                              f"{float((g.double() - want.double()).abs().max()):.3g}")


def ema_cases() -> list[Case]:
    def parameters(fn):
        for m in (0.9, 0.5):
            target, online = _pair(1)
            expected = reference_ema(_state(target), _state(online), m)
            params = {k: v for k, v in expected.items() if k in dict(target.named_parameters())}
            fn(target, online, m)
            _compare(target, params, f"momentum {m}")

    def buffers(fn):
        target, online = _pair(2)
        expected = reference_ema(_state(target), _state(online), 0.8)
        buffers = {k: v for k, v in expected.items() if k in dict(target.named_buffers())}
        fn(target, online, 0.8)
        _compare(target, buffers, "momentum 0.8")

    def extremes(fn):
        target, online = _pair(3)
        before = _state(target)
        fn(target, online, 1.0)
        _compare(target, {k: v for k, v in before.items() if v.is_floating_point()}, "momentum 1 (nothing moves)")
        fn(target, online, 0.0)
        _compare(target, _state(online), "momentum 0 (the target becomes the online network)")

    def online_untouched(fn):
        target, online = _pair(4)
        before = _state(online)
        fn(target, online, 0.7)
        for name, v in online.state_dict().items():
            if not torch.equal(v, before[name]):
                raise CheckFailed(f"the online network's {name} changed: only the target moves")

    def no_gradients(fn):
        target, online = _pair(5)
        target.requires_grad_(True)  # even a target whose weights would accept gradients
        marker = {n: torch.full_like(p, 7.0) for n, p in target.named_parameters()}
        for n, p in target.named_parameters():
            p.grad = marker[n].clone()
        online_grads = {n: torch.randn_like(p) for n, p in online.named_parameters()}
        for n, p in online.named_parameters():
            p.grad = online_grads[n].clone()
        fn(target, online, 0.9)
        for n, p in target.named_parameters():
            if p.grad_fn is not None:
                raise CheckFailed(f"target.{n} now has a grad_fn: the update was recorded by autograd — "
                                  "do it under torch.no_grad()")
            if p.grad is None or not torch.equal(p.grad, marker[n]):
                raise CheckFailed(f"target.{n}.grad was changed: the update must not touch gradients")
        for n, p in online.named_parameters():
            if p.grad is None or not torch.equal(p.grad, online_grads[n]):
                raise CheckFailed(f"online.{n}.grad was changed: the update must not touch gradients")

    def same_objects(fn):
        target, online = _pair(6)
        ids = {n: id(p) for n, p in target.named_parameters()}
        fn(target, online, 0.9)
        for n, p in target.named_parameters():
            if id(p) != ids[n]:
                raise CheckFailed(f"target.{n} was replaced by a new tensor: update it in place (an optimiser "
                                  "or a checkpoint holds the old one)")

    return [
        Case("moves every parameter by m·target + (1 − m)·online", parameters,
             "a weighted average of the two networks' same-named tensors, with the target's weight m"),
        Case("moves batch norm's running statistics, copies its step counter", buffers,
             "buffers live beside the parameters (named_buffers); an integer counter cannot be averaged"),
        Case("momentum 1 keeps the target, momentum 0 copies the online network", extremes,
             "check which of the two networks the weight m belongs to"),
        Case("leaves the online network as it was", online_untouched, "write into the target only"),
        Case("records no gradient and leaves every .grad untouched", no_gradients,
             "the update is bookkeeping: autograd should not see it"),
        Case("updates the target's tensors in place", same_objects,
             "assigning a new tensor to a name leaves the module's own tensor behind"),
    ]


# ---- BYOL's loss ----

def _views(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(4)]


def byol_cases() -> list[Case]:
    def scalar(fn):
        p1, p2, z1, z2 = _views(4, 8, 0)
        out = expect_tensor(fn(p1, p2, z1, z2), "byol_loss(p1, p2, z1, z2) with (4, 8) each", ())
        if not torch.isfinite(out):
            raise CheckFailed(f"the loss is {float(out)}")

    def values(fn):
        for n, d, seed in ((4, 8, 1), (7, 3, 2), (16, 32, 3)):
            p1, p2, z1, z2 = _views(n, d, seed)
            got, want = float(fn(p1, p2, z1, z2)), reference_byol_loss(p1, p2, z1, z2)
            if abs(got - want) > 1e-4 * max(1.0, abs(want)):
                raise CheckFailed(f"N={n}, D={d}: got {got:.5f}, the formula gives {want:.5f}")

    def pairing(fn):
        p1, p2, z1, z2 = _views(6, 5, 4)
        right = float(fn(p1, p2, z1, z2))
        if abs(right - reference_byol_loss(p1, p2, z1, z2)) > 1e-4 * max(1.0, right):
            raise CheckFailed("the loss differs from the formula (see the case above)")
        perfect = float(fn(p1, p2, 3 * p2, 0.5 * p1))  # view 1's prediction equals view 2's target, and back
        if abs(perfect) > 1e-5:
            raise CheckFailed(f"predictions equal to the *other* view's targets should give 0, got {perfect:.4g}: "
                              "p1 regresses z2, p2 regresses z1")

    def scale_invariant(fn):
        p1, p2, z1, z2 = _views(8, 16, 5)
        a, b = float(fn(p1, p2, z1, z2)), float(fn(10 * p1, 0.1 * p2, 3 * z1, 0.2 * z2))
        if abs(a - b) > 1e-4:
            raise CheckFailed("rescaling the vectors changed the loss: compare directions (normalise first)")

    def stop_gradient(fn):
        p1, p2, z1, z2 = (t.requires_grad_() for t in _views(5, 4, 6))
        loss = fn(p1, p2, z1, z2)
        if not isinstance(loss, torch.Tensor) or loss.grad_fn is None:
            raise CheckFailed("the loss has no gradient: use torch operations only, no .item() or numpy")
        loss.backward()
        for name, z in (("z1", z1), ("z2", z2)):
            if z.grad is not None and z.grad.abs().max() > 0:
                raise CheckFailed(f"{name} received a gradient: the targets are constants (stop-gradient)")
        ref = [t.detach().clone().requires_grad_() for t in (p1, p2)]
        n = len(p1)
        pn = [r / r.norm(dim=1, keepdim=True) for r in ref]
        zn = [t.detach() / t.detach().norm(dim=1, keepdim=True) for t in (z2, z1)]
        (sum(((a - b) ** 2).sum() for a, b in zip(pn, zn)) / n).backward()
        for name, got, want in (("p1", p1.grad, ref[0].grad), ("p2", p2.grad, ref[1].grad)):
            if got is None or not torch.allclose(got, want, atol=1e-6, rtol=1e-4):
                raise CheckFailed(f"the gradient with respect to {name} differs from the formula's")

    def shape_error(fn):
        try:
            fn(torch.zeros(8, 128), torch.zeros(8, 128), torch.zeros(8, 64), torch.zeros(8, 64))
        except ValueError as err:
            if "shape" not in str(err).lower():
                raise CheckFailed(f"the error should mention the shapes, got: {err}")
            return
        except NotImplementedError:
            raise
        except Exception as err:
            raise CheckFailed(f"mismatched shapes raised {type(err).__name__} from deep inside; check the shapes "
                              "first and raise ValueError naming them") from None
        raise CheckFailed("predictions (8, 128) and targets (8, 64) were accepted: check that the shapes match")

    return [
        Case("returns a finite scalar", scalar, "average the per-image losses over the batch"),
        Case("equals the formula", values, "2 − 2·cos is the squared distance between two unit vectors"),
        Case("each view predicts the other view's target", pairing, "which target goes with p1?"),
        Case("ignores the length of the vectors", scale_invariant, "cosine similarity, or normalise first"),
        Case("stops the gradient at the targets", stop_gradient,
             "the targets come from the momentum network: treat them as constants"),
        Case("mismatched shapes give a clear ValueError", shape_error,
             "compare the four shapes before computing anything"),
    ]


# ---- MoCo's queue ----

def _queue(k, d, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(k, d, generator=g), torch.randn(64, d, generator=g)


def queue_cases() -> list[Case]:
    def one_batch(fn):
        queue, keys = _queue(10, 3, 0)
        want, want_ptr = reference_enqueue(queue, 2, keys[:4])
        ptr = torch.tensor(2)
        fn(queue, ptr, keys[:4])
        if not torch.allclose(queue, want):
            raise CheckFailed("after enqueuing 4 keys at pointer 2, the queue differs from the reference: rows 2..5 "
                              "should hold the new keys, in order, and nothing else should change")
        expect_tensor(ptr, "ptr", ())
        if int(ptr) != want_ptr:
            raise CheckFailed(f"the pointer should move from 2 to {want_ptr}, it is {int(ptr)}")

    def wraps(fn):
        queue, keys = _queue(10, 3, 1)
        want, want_ptr = reference_enqueue(queue, 8, keys[:4])
        ptr = torch.tensor(8)
        fn(queue, ptr, keys[:4])
        if not torch.allclose(queue, want):
            raise CheckFailed("4 keys at pointer 8 of a queue of 10 should fill rows 8, 9, 0, 1")
        if int(ptr) != want_ptr:
            raise CheckFailed(f"the pointer should wrap around to {want_ptr}, it is {int(ptr)}")

    def oldest_leave(fn):
        queue, keys = _queue(12, 4, 2)
        want, want_ptr = queue.clone(), 0
        ptr = torch.tensor(0)
        for step in range(7):  # 7 batches of 5 keys: several laps around a queue of 12
            batch = keys[5 * step:5 * step + 5]
            want, want_ptr = reference_enqueue(want, want_ptr, batch)
            fn(queue, ptr, batch)
        if not torch.allclose(queue, want) or int(ptr) != want_ptr:
            raise CheckFailed("after 7 batches of 5 keys, a queue of 12 should hold the 12 newest keys, each "
                              "where the ring buffer puts it, and the pointer should be at the oldest")

    def in_place(fn):
        queue, keys = _queue(8, 2, 3)
        before, ptr = queue.clone(), torch.tensor(0)
        out = fn(queue, ptr, keys[:3])
        if torch.equal(queue, before):
            raise CheckFailed("the queue passed in is unchanged: write the keys into its rows (a new tensor bound "
                              "to a local name is lost when the function returns)")
        if int(ptr) != 3:
            returned = isinstance(out, (int, torch.Tensor)) and not isinstance(out, bool) and int(out) == 3
            raise CheckFailed("the new pointer was returned, but ptr itself still says 0: write it into ptr"
                              if returned else f"after 3 keys from row 0, ptr should be 3, it is {int(ptr)}")

    def detached(fn):
        queue, keys = _queue(8, 2, 4)
        ptr = torch.tensor(0)
        fn(queue, ptr, keys[:3].clone().requires_grad_())
        if queue.requires_grad or queue.grad_fn is not None:
            raise CheckFailed("the queue now belongs to the autograd graph: store the keys' values, not their graph")

    def shapes(fn):
        queue, keys = _queue(8, 4, 5)
        for bad, what in ((torch.zeros(3, 5), "keys (3, 5) into a queue (8, 4)"),
                          (torch.zeros(9, 4), "9 keys into a queue of 8")):
            try:
                fn(queue.clone(), torch.tensor(0), bad)
            except ValueError:
                continue
            except NotImplementedError:
                raise
            except Exception as err:
                raise CheckFailed(f"{what} raised {type(err).__name__}; check the shapes first and raise a "
                                  "ValueError that says what was expected") from None
            raise CheckFailed(f"{what} was accepted: check the shapes")

    return [
        Case("writes a batch of keys at the pointer and advances it", one_batch,
             "the pointer marks the oldest row"),
        Case("wraps around the end of the queue", wraps, "row indices modulo K"),
        Case("keeps the K newest keys over many batches", oldest_leave, "a ring buffer: overwrite, never shift"),
        Case("updates the queue and the pointer in place", in_place,
             "a new tensor bound to a local name is lost when the function returns"),
        Case("stores values, not a graph", detached, "the keys carry no gradient into the queue"),
        Case("wrong shapes give a clear ValueError", shapes, "compare D, and N with K"),
    ]


def check_ema_update(fn):
    return inline_check("ema_update", fn, ema_cases())


def check_byol_loss(fn):
    return inline_check("byol_loss", fn, byol_cases())


def check_enqueue(fn):
    return inline_check("enqueue", fn, queue_cases())


GRADED = {"ema_update": ema_cases, "byol_loss": byol_cases, "enqueue": queue_cases}
