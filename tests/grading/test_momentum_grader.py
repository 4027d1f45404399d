"""Exercise 06's grader: the solution earns full marks, the stub nothing, and the usual mistakes are caught
with a message that names them — in this process and through the isolated worker (``sslcourse grade``)."""
import pytest
import torch
import torch.nn.functional as F

from sslcourse.grading.checks.momentum import reference_byol_loss, reference_ema, reference_enqueue
from sslcourse.grading.classroom.grade import grade_path

from . import exercise
from .exercise import ROOT, solution_functions


@pytest.fixture(scope="module")
def solution():
    """The solution's graded functions, defined from solutions/06_momentum.py (definitions only)."""
    return solution_functions("06", "06_momentum.py")


def score(name, fn, cases=None):
    return exercise.score("06", name, fn, cases)


@pytest.mark.parametrize("name", ["ema_update", "byol_loss", "enqueue"])
def test_the_solution_earns_full_marks_and_the_stub_nothing(solution, name):
    passed, total, why = score(name, solution[name])
    assert passed == total, why

    def stub(*args, **kwargs):
        raise NotImplementedError("replace this line with your solution")

    assert score(name, stub)[0] == 0


def _ema_swapped(t, o, m):
    with torch.no_grad():
        return t.mul_(1 - m).add_(o, alpha=m) if t.is_floating_point() else t.copy_(o)


def _ema_recorded(t, o, m):  # no torch.no_grad(): the target joins the online network's graph
    return t.mul_(m).add_(o, alpha=1 - m) if t.is_floating_point() else t.copy_(o)


def _ema_new_tensor(t, o, m):
    with torch.no_grad():
        return m * t + (1 - m) * o if t.is_floating_point() else o.clone()


def _byol_one_direction(p1, p2, z1, z2):
    return (2 - 2 * F.cosine_similarity(p1, z2.detach())).mean()


def _byol_same_view(p1, p2, z1, z2):
    return (4 - 2 * F.cosine_similarity(p1, z1.detach()) - 2 * F.cosine_similarity(p2, z2.detach())).mean()


def _byol_no_stop_gradient(p1, p2, z1, z2):
    if not p1.shape == p2.shape == z1.shape == z2.shape:
        raise ValueError(f"shapes differ: {p1.shape}, {z1.shape}")
    return (4 - 2 * F.cosine_similarity(p1, z2) - 2 * F.cosine_similarity(p2, z1)).mean()


def _byol_raw(p1, p2, z1, z2):
    return (((p1 - z2.detach()) ** 2).sum(1) + ((p2 - z1.detach()) ** 2).sum(1)).mean()


def _queue_shift(q, p, k):  # a FIFO by shifting: the right keys, in the wrong rows
    q.copy_(torch.cat([q[len(k):], k]))
    p.copy_((p + len(k)) % len(q))
    return q, p


def _queue_no_wrap(q, p, k):
    start = int(p)
    q[start:start + len(k)] = k[:len(q) - start]
    p.copy_((p + len(k)) % len(q))
    return q, p


def _queue_new_tensors(q, p, k):
    rows = (p + torch.arange(len(k))) % len(q)
    q = q.clone()
    q[rows] = k
    return q, (p + len(k)) % len(q)


@pytest.mark.parametrize("name, fn, max_passed, message", [
    ("ema_update", _ema_swapped, 0, "swapped"),
    ("ema_update", _ema_recorded, 5, "autograd recorded the update"),
    ("ema_update", _ema_new_tensor, 5, "the target passed in was not updated"),
    ("byol_loss", _byol_one_direction, 0, "only the first direction"),
    ("byol_loss", _byol_same_view, 0, "its own view's target"),
    ("byol_loss", _byol_no_stop_gradient, 6, "received a gradient"),
    ("byol_loss", _byol_raw, 0, "normalise"),
    ("enqueue", _queue_shift, 0, "differ from the ring buffer"),
    ("enqueue", _queue_no_wrap, 1, "pointer 8 of a queue of 10"),
    ("enqueue", _queue_new_tensors, 4, "the queue passed in was not updated"),
])
def test_typical_mistakes_lose_points_with_a_message_naming_them(name, fn, max_passed, message):
    passed, total, why = score(name, fn)
    assert passed <= max_passed < total
    assert message in why, why


def test_the_references_follow_the_formulas():
    t, o = torch.tensor([1.0, -2.0]), torch.tensor([3.0, 4.0])
    assert torch.allclose(reference_ema(t, o, 0.75), torch.tensor([1.5, -0.5], dtype=torch.float64))
    assert torch.equal(reference_ema(torch.tensor(2), torch.tensor(9), 0.5), torch.tensor(9))
    p = torch.tensor([[1.0, 0.0]])
    assert reference_byol_loss(p, p, p, p) == 0.0  # aligned: 0
    assert abs(reference_byol_loss(p, p, -p, -p) - 8.0) < 1e-12  # opposite: 2 − 2·(−1) per direction
    q, ptr = reference_enqueue(torch.zeros(4, 1), 3, torch.tensor([[1.0], [2.0]]))
    assert q.flatten().tolist() == [2.0, 0.0, 0.0, 1.0] and ptr == 1


def test_sslcourse_grade_gives_the_solution_full_marks_and_the_exercise_zero():
    """Through the isolated worker: in-place updates and gradients come back as they do in this process."""
    report = grade_path(ROOT / "solutions" / "06_momentum.ipynb")
    assert report["score"] == report["max_score"] > 0, [c for c in report["checks"] if not c["passed"]]
    assert grade_path(ROOT / "exercises" / "06_momentum.ipynb")["score"] == 0
