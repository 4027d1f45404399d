"""Exercise 06 — the momentum update, BYOL's loss and MoCo's queue.

Graded functions::

    ema_update(target, online, momentum) -> target
        one tensor of the target network (a parameter or a buffer) and the online network's tensor of the
        same name: in place and recorded by no autograd graph, a floating-point target becomes
        momentum·target + (1 − momentum)·online, an integer one (batch norm's step counter) a copy of online;
        returns target
    byol_loss(p1, p2, z1, z2) -> scalar
        mean over the batch of (2 − 2·cos(p1, sg(z2))) + (2 − 2·cos(p2, sg(z1))), sg = stop-gradient
    enqueue(queue, ptr, keys) -> (queue, ptr)
        in place: keys (N, D) overwrite the N oldest rows of queue (K, D), from row ptr on, wrapping
        around; ptr (a 0-dim int64 tensor) becomes (ptr + N) mod K; returns both

The references below are slow and literal — loops over the formula, in float64 — and import nothing
from the course's methods: a grader checks against its own reading of the papers.
"""
from __future__ import annotations

import torch

from .core import VALUE, Case, CheckFailed, Graded, LearnerError, expect_close, expect_scalar, expect_tensor, inline_check


# ---- references ----

def reference_ema(target: torch.Tensor, online: torch.Tensor, momentum: float) -> torch.Tensor:
    """m·t + (1 − m)·o element by element for floating-point tensors, o for integer ones (BYOL eq. 1;
    MoCo eq. 2), float64."""
    if not target.is_floating_point():
        return online.clone()
    t, o = target.double().flatten(), online.double().flatten()
    return torch.stack([momentum * t[i] + (1 - momentum) * o[i] for i in range(len(t))]).reshape(target.shape)


def reference_byol_loss(p1, p2, z1, z2, symmetric=True, pairing="other", normalise=True) -> float:
    """(1/N) Σ_i [‖p1_i/‖p1_i‖ − z2_i/‖z2_i‖‖² + ‖p2_i/‖p2_i‖ − z1_i/‖z1_i‖‖²] (Grill et al. 2020, eq. 2),
    float64. The keyword arguments give common mistakes, to name them."""
    total = 0.0
    pairs = ((p1, z2), (p2, z1)) if pairing == "other" else ((p1, z1), (p2, z2))
    for i in range(len(p1)):
        for p, z in pairs[:2 if symmetric else 1]:
            p, z = p[i].double(), z[i].double()
            if normalise:
                p, z = p / p.norm(), z / z.norm()
            total += float(((p - z) ** 2).sum())
    return total / len(p1)


def reference_enqueue(queue, ptr: int, keys):
    """A ring buffer, one key at a time: key j goes to row (ptr + j) mod K. Returns (queue, new ptr)."""
    queue = queue.clone()
    k = len(queue)
    for j in range(len(keys)):
        queue[(ptr + j) % k] = keys[j]
    return queue, (ptr + len(keys)) % k


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _rel_close(got: float, want: float) -> bool:
    return abs(got - want) <= 1e-4 * max(1.0, abs(want))


# ---- the momentum update ----

def _pair(shape, seed):
    g = _gen(seed)
    return torch.randn(shape, generator=g), torch.randn(shape, generator=g)


def _ema_values(settings):
    def values(fn):
        for shape, m, seed in settings:
            t, o = _pair(shape, seed)
            want = reference_ema(t, o, m)
            out = expect_tensor(fn(t, o, m), f"ema_update(target {tuple(shape)}, online, {m})", shape)
            if torch.allclose(out.double(), want, atol=1e-5, rtol=1e-4):
                continue
            if torch.allclose(out.double(), reference_ema(t, o, 1 - m), atol=1e-5, rtol=1e-4):
                raise CheckFailed(f"momentum {m}: the weights are swapped — the result is (1 − m)·target + m·online; "
                                  "the target keeps the share m")
            expect_close(out, want, f"ema_update(target {tuple(shape)}, online, {m})")

    return values


def ema_cases() -> list[Case]:
    def in_place(fn):
        t, o = _pair((4, 3), 10)
        out, (after, _, _) = fn.with_inputs(t, o, 0.9)
        want = reference_ema(t, o, 0.9)
        if not torch.allclose(after.double(), want, atol=1e-5, rtol=1e-4):
            raise CheckFailed("the target passed in was not updated: write the average into the target's own "
                              "tensor (the method, its optimiser and its checkpoints hold that tensor)")
        expect_close(out, want, "the returned target")

    def extremes(fn):
        t, o = _pair((5,), 11)
        expect_close(fn(t, o, 1.0), t, "momentum 1 (the target does not move)")
        expect_close(fn(t, o, 0.0), o, "momentum 0 (the target becomes the online tensor)")

    def integer(fn):
        t, o = torch.tensor(3), torch.tensor(17)
        out = expect_tensor(fn(t, o, 0.9), "ema_update of an integer buffer", (), torch.int64)
        if int(out) != 17:
            raise CheckFailed(f"an integer buffer (batch norm's step counter) should become the online value 17, "
                              f"got {int(out)}")

    def online_untouched(fn):
        t, o = _pair((3, 3), 12)
        _, (_, after, _) = fn.with_inputs(t, o, 0.7)
        if not (type(after) is torch.Tensor and after.shape == o.shape and torch.equal(after, o)):
            raise CheckFailed("the online tensor changed: only the target moves")

    def no_graph(fn):
        t, o = _pair((), 13)  # one number: autograd can tell whether the result depends on online
        try:
            fn.with_grad(t, o, 0.9, wrt=(1,))
        except CheckFailed:
            return  # no gradient reaches online: the update was not recorded
        raise CheckFailed("autograd recorded the update: the target now depends on the online weights through a "
                          "graph that grows every step (memory) and lets gradients into the target")

    return [
        Case("equals m·target + (1 − m)·online", _ema_values([((4, 3), 0.9, 1), ((7,), 0.5, 2), ((2, 3, 2), 0.99, 3)]),
             "a weighted average of the two tensors, with the target's weight m", kind=VALUE),
        Case("updates the target in place and returns it", in_place,
             "a new tensor bound to a local name leaves the network's own tensor behind"),
        Case("momentum 1 keeps the target, momentum 0 copies the online tensor", extremes,
             "check which of the two tensors the weight m belongs to"),
        Case("copies an integer buffer", integer, "an integer counter cannot be averaged"),
        Case("leaves the online tensor as it was", online_untouched, "write into the target only"),
        Case("is not recorded by autograd", no_graph, "the update is bookkeeping: autograd should not see it"),
    ]


# ---- BYOL's loss ----

def _views(n, d, seed):
    g = _gen(seed)
    return [torch.randn(n, d, generator=g, dtype=torch.float64) for _ in range(4)]


def _byol_values(settings):
    def values(fn):
        for n, d, seed in settings:
            p1, p2, z1, z2 = _views(n, d, seed)
            got = expect_scalar(fn(p1, p2, z1, z2), f"byol_loss with (N, D) = ({n}, {d})")
            want = reference_byol_loss(p1, p2, z1, z2)
            if _rel_close(got, want):
                continue
            if _rel_close(got, reference_byol_loss(p1, p2, z1, z2, symmetric=False)):
                raise CheckFailed(f"N={n}: got {got:.5f}, only the first direction (p1 against z2): add the "
                                  "second, p2 against z1")
            if _rel_close(got, reference_byol_loss(p1, p2, z1, z2, pairing="same")):
                raise CheckFailed(f"N={n}: got {got:.5f}: each prediction was compared with its own view's target; "
                                  "p1 predicts the target of the other view, z2")
            if _rel_close(got, reference_byol_loss(p1, p2, z1, z2, normalise=False)):
                raise CheckFailed(f"N={n}: got {got:.5f}, the squared distance of the raw vectors: normalise each "
                                  "to unit length first (then it equals 2 − 2·cos)")
            if _rel_close(got, want / 2) or _rel_close(got, want * d) or _rel_close(got, want / (2 * d)):
                raise CheckFailed(f"N={n}: got {got:.5f}, the formula gives {want:.5f}: sum the two directions "
                                  "and average over the N images only")
            raise CheckFailed(f"N={n}, D={d}: got {got:.5f}, the formula gives {want:.5f}")

    return values


def byol_cases() -> list[Case]:
    def scalar(fn):
        p1, p2, z1, z2 = _views(4, 8, 0)
        out = expect_tensor(fn(p1, p2, z1, z2), "byol_loss(p1, p2, z1, z2) with (4, 8) each", ())
        if not torch.isfinite(out):
            raise CheckFailed(f"the loss is {float(out)}")

    def perfect(fn):
        p1, p2, _, _ = _views(6, 5, 4)
        got = expect_scalar(fn(p1, p2, 3 * p2, 0.5 * p1), "the loss")  # each prediction equals the other target
        if abs(got) > 1e-5:
            raise CheckFailed(f"predictions pointing like the *other* view's targets should give 0, got {got:.4g}: "
                              "p1 regresses z2, p2 regresses z1")

    def scale_invariant(fn):
        p1, p2, z1, z2 = _views(8, 16, 5)
        a = expect_scalar(fn(p1, p2, z1, z2), "the loss")
        b = expect_scalar(fn(10 * p1, 0.1 * p2, 3 * z1, 0.2 * z2), "the loss")
        if abs(a - b) > 1e-4:
            raise CheckFailed("rescaling the vectors changed the loss: compare directions")

    def gradient(fn):
        p1, p2, z1, z2 = _views(5, 4, 6)
        _, grads = fn.with_grad(p1, p2, z1, z2, wrt=(0, 1))
        a, b = p1.clone().requires_grad_(), p2.clone().requires_grad_()
        ref = torch.autograd.grad(_byol_torch(a, b, z1, z2), (a, b))
        for name, got, want in zip(("p1", "p2"), grads, ref):
            if got.shape != want.shape or not torch.allclose(got.double(), want, atol=1e-6, rtol=1e-4):
                raise CheckFailed(f"the gradient with respect to {name} differs from the formula's")

    def stop_gradient(fn):
        for k, name in ((2, "z1"), (3, "z2")):
            try:
                _, (g,) = fn.with_grad(*_views(5, 4, 7), wrt=(k,))
            except CheckFailed:
                continue  # no gradient reaches the target: stopped
            if g.abs().max() > 0:
                raise CheckFailed(f"{name} received a gradient: the targets come from the momentum network and "
                                  "are constants of the loss (stop-gradient)")

    def shape_error(fn):
        try:
            fn(torch.zeros(8, 128), torch.zeros(8, 128), torch.zeros(8, 64), torch.zeros(8, 64))
        except LearnerError as err:
            if err.info.get("stub") or err.info.get("course"):
                raise
            if not err.is_a("ValueError"):
                raise CheckFailed(f"mismatched shapes raised {err.info['type']} from deep inside; check the shapes "
                                  "first and raise a ValueError naming them") from None
            if "shape" not in err.info["message"].lower() and "128" not in err.info["message"]:
                raise CheckFailed(f"the error should name the shapes, got: {err.info['message']}") from None
            return
        raise CheckFailed("predictions (8, 128) and targets (8, 64) were accepted: check that the shapes match")

    return [
        Case("returns a finite scalar", scalar, "average the per-image losses over the batch"),
        Case("equals the formula", _byol_values([(4, 8, 1), (7, 3, 2), (16, 32, 3)]),
             "2 − 2·cos is the squared distance between two unit vectors; both views predict", kind=VALUE),
        Case("each view predicts the other view's target", perfect, "which target goes with p1?"),
        Case("ignores the length of the vectors", scale_invariant, "cosine similarity: directions only"),
        Case("has the right gradient for the predictions", gradient,
             "autograd only follows torch operations: no conversions to numbers or arrays on the way"),
        Case("stops the gradient at the targets", stop_gradient,
             "the targets come from the momentum network: treat them as constants"),
        Case("mismatched shapes give a clear ValueError", shape_error,
             "compare the four shapes before computing anything, and say what they were"),
    ]


def _byol_torch(p1, p2, z1, z2):
    """The formula in torch, for the reference gradient (targets detached, as the paper says)."""
    def one(p, z):
        p, z = p / p.norm(dim=1, keepdim=True), z.detach() / z.detach().norm(dim=1, keepdim=True)
        return ((p - z) ** 2).sum(1)

    return (one(p1, z2) + one(p2, z1)).mean()


# ---- MoCo's queue ----

def _queue(k, d, seed):
    g = _gen(seed)
    return torch.randn(k, d, generator=g), torch.randn(64, d, generator=g)


def _expect_queue(out, want, want_ptr, what):
    queue, ptr = out
    expect_tensor(queue, f"the queue after {what}", tuple(want.shape))
    expect_tensor(ptr, f"the pointer after {what}", ())
    if ptr.is_floating_point() or ptr.is_complex() or ptr.dtype == torch.bool:
        raise CheckFailed(f"the pointer should stay an integer tensor, got dtype {ptr.dtype}")
    if not torch.allclose(queue.double(), want.double()):
        changed = (queue.double() != want.double()).any(1).nonzero().flatten().tolist()
        raise CheckFailed(f"after {what}, rows {changed[:8]} of the queue differ from the ring buffer's")
    if int(ptr) != want_ptr:
        raise CheckFailed(f"after {what}, the pointer should be {want_ptr}, it is {int(ptr)}")
    return queue, ptr


def _queue_values(settings):
    def values(fn):
        for k, d, ptr, n, seed in settings:
            queue, keys = _queue(k, d, seed)
            want, want_ptr = reference_enqueue(queue, ptr, keys[:n])
            _expect_queue(fn(queue, torch.tensor(ptr), keys[:n]), want, want_ptr,
                          f"enqueuing {n} keys at pointer {ptr} of a queue of {k}")

    return values


def queue_cases() -> list[Case]:
    def many_batches(fn):
        queue, keys = _queue(12, 4, 2)
        want, want_ptr = queue.clone(), 0
        q, ptr = queue, torch.tensor(0)
        for step in range(7):  # 7 batches of 5 keys: several laps around a queue of 12
            batch = keys[5 * step:5 * step + 5]
            want, want_ptr = reference_enqueue(want, want_ptr, batch)
            q, ptr = _expect_queue(fn(q, ptr, batch), want, want_ptr, f"batch {step + 1} of 5 keys")

    def in_place(fn):
        queue, keys = _queue(8, 2, 3)
        want, want_ptr = reference_enqueue(queue, 1, keys[:3])
        _, (q_after, ptr_after, _) = fn.with_inputs(queue, torch.tensor(1), keys[:3])
        if not (type(q_after) is torch.Tensor and torch.equal(q_after, want)):
            raise CheckFailed("the queue passed in was not updated: write the keys into its rows (it is a buffer "
                              "of the method, saved in its checkpoints)")
        if not (type(ptr_after) is torch.Tensor and ptr_after.dim() == 0 and int(ptr_after) == want_ptr):
            raise CheckFailed(f"the pointer passed in still says {int(ptr_after)}: write the new position into it")

    def shapes(fn):
        queue, _ = _queue(8, 4, 5)
        for bad, what in ((torch.zeros(3, 5), "keys (3, 5) into a queue (8, 4)"),
                          (torch.zeros(9, 4), "9 keys into a queue of 8")):
            try:
                fn(queue, torch.tensor(0), bad)
            except LearnerError as err:
                if err.info.get("stub") or err.info.get("course"):
                    raise
                if not err.is_a("ValueError"):
                    raise CheckFailed(f"{what} raised {err.info['type']}; check the shapes first and raise a "
                                      "ValueError that says what was expected") from None
                continue
            raise CheckFailed(f"{what} was accepted: check the shapes")

    return [
        Case("writes a batch of keys at the pointer and advances it",
             _queue_values([(10, 3, 2, 4, 0), (6, 2, 0, 6, 4)]), "the pointer marks the oldest row", kind=VALUE),
        Case("wraps around the end of the queue", _queue_values([(10, 3, 8, 4, 1), (5, 2, 4, 3, 6)]),
             "row indices modulo K", kind=VALUE),
        Case("keeps the K newest keys over many batches", many_batches, "a ring buffer: overwrite, never shift"),
        Case("updates the queue and the pointer in place", in_place,
             "a new tensor bound to a local name is lost to the method that owns the buffer"),
        Case("wrong shapes give a clear ValueError", shapes, "compare D, and N with K"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    def draw(lo, hi):
        return int(torch.randint(lo, hi, (1,), generator=g))

    n, d, seed = draw(2, 20), draw(2, 40), draw(0, 2**31)
    m = round(float(torch.empty(1).uniform_(0.5, 0.999, generator=g)), 3)
    k = draw(8, 40)
    batch, ptr = draw(1, k + 1), draw(0, k)
    return {
        "ema_update": [Case(f"equals the formula for ({n}, {d}), m={m}", _ema_values([((n, d), m, seed)]),
                            kind=VALUE)],
        "byol_loss": [Case(f"equals the formula for N={n}, D={d}", _byol_values([(n, d, seed)]), kind=VALUE)],
        "enqueue": [Case(f"{batch} keys at pointer {ptr} of a queue of {k}",
                         _queue_values([(k, min(d, 8), ptr, batch, seed)]), kind=VALUE)],
    }


def check_ema_update(fn):
    return inline_check("ema_update", fn, ema_cases())


def check_byol_loss(fn):
    return inline_check("byol_loss", fn, byol_cases())


def check_enqueue(fn):
    return inline_check("enqueue", fn, queue_cases(), returns=2)


WRITTEN = ("Why does BYOL not collapse?",)

GRADED = {"ema_update": Graded(ema_cases), "byol_loss": Graded(byol_cases), "enqueue": Graded(queue_cases, returns=2)}
