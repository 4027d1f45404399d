"""Exercise 07's grader: the solution earns full marks, the stub nothing, the usual mistakes are caught with a message
that names them, and the hidden bank's cases run — in this process and through the isolated worker."""
import pytest
import torch
import torch.nn.functional as F

from sslcourse.grading import graded_functions, random_cases
from sslcourse.grading.checks.mae import reference_mae_loss, reference_patchify, reference_unpatchify
from sslcourse.grading.classroom.grade import grade_path

from . import exercise
from .exercise import ROOT, solution_functions


@pytest.fixture(scope="module")
def solution():
    """The solution's graded functions, defined from solutions/07_mae.py (definitions only)."""
    return solution_functions("07", "07_mae.py")


def score(name, fn, cases=None):
    return exercise.score("07", name, fn, cases)


@pytest.mark.parametrize("name", ["patchify", "random_masking", "mae_loss"])
def test_the_solution_earns_full_marks_and_the_stub_nothing(solution, name):
    passed, total, why = score(name, solution[name])
    assert passed == total, why

    def stub(*args, **kwargs):
        raise NotImplementedError("replace this line with your solution")

    assert score(name, stub)[0] == 0


def test_the_hidden_bank_runs_and_the_solution_passes_it(solution):
    """random_cases is what `sslcourse new-bank` starts every hidden bank from: several seeds, all pass."""
    for seed in range(6):
        bank = random_cases("07", seed)
        assert set(bank) == set(graded_functions("07"))
        for name, cases in bank.items():
            passed, total, why = score(name, solution[name], cases)
            assert passed == total, (seed, why)


# ---- typical mistakes, each named ----

def _patchify_channels_first(images, patch):  # what unfold gives: all of channel 0, then channel 1, ...
    return F.unfold(images.float(), patch, stride=patch).transpose(1, 2).to(images.dtype)


def _patchify_grid_by_columns(images, patch):
    n, c, h, w = images.shape
    x = images.reshape(n, c, h // patch, patch, w // patch, patch).permute(0, 4, 2, 3, 5, 1)
    return x.reshape(n, -1, patch * patch * c)


def _masking_shared(tokens, mask_ratio, generator=None):  # one draw for the whole batch
    n, length, dim = tokens.shape
    k = length - round(mask_ratio * length)
    shuffle = torch.rand(1, length, generator=generator).argsort(1).expand(n, length)
    restore = shuffle.argsort(1)
    return tokens.gather(1, shuffle[:, :k, None].expand(n, k, dim)), (restore < k).float(), restore


def _masking(tokens, mask_ratio, generator=None, restore_is="inverse", inverted=False):
    n, length, dim = tokens.shape
    k = length - round(mask_ratio * length)
    shuffle = torch.rand(n, length, generator=generator).argsort(1)
    restore = shuffle.argsort(1)
    mask = (restore < k).float()
    restore = {"inverse": restore, "shuffle": shuffle, "one-based": restore + 1}[restore_is]
    return tokens.gather(1, shuffle[:, :k, None].expand(n, k, dim)), 1 - mask if inverted else mask, restore


def _masking_restore_is_shuffle(tokens, mask_ratio, generator=None):
    return _masking(tokens, mask_ratio, generator, restore_is="shuffle")


def _masking_one_based(tokens, mask_ratio, generator=None):
    return _masking(tokens, mask_ratio, generator, restore_is="one-based")


def _masking_inverted(tokens, mask_ratio, generator=None):
    return _masking(tokens, mask_ratio, generator, inverted=True)


def _normalised(target):
    return (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6).sqrt()


def _loss_all_patches(pred, target, mask, norm_pix=True):
    return ((pred - (_normalised(target) if norm_pix else target)) ** 2).mean()


def _loss_raw_target(pred, target, mask, norm_pix=True):
    hidden = 1 - mask
    return (((pred - target) ** 2).mean(-1) * hidden).sum() / hidden.sum().clamp(min=1)


def _loss_biased_variance(pred, target, mask, norm_pix=True):
    if norm_pix:
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True, unbiased=False) + 1e-6).sqrt()
    hidden = 1 - mask
    return (((pred - target) ** 2).mean(-1) * hidden).sum() / hidden.sum().clamp(min=1)


@pytest.mark.parametrize("name, fn, max_passed, message", [
    ("patchify", _patchify_channels_first, 1, "channel by channel"),
    ("patchify", _patchify_grid_by_columns, 1, "column by column over the grid"),
    ("random_masking", _masking_shared, 1, "every sequence got the same mask"),
    ("random_masking", _masking_restore_is_shuffle, 1, "the shuffle itself, not its inverse"),
    ("random_masking", _masking_one_based, 1, "off by one"),
    ("random_masking", _masking_inverted, 1, "1 = visible"),
    ("mae_loss", _loss_all_patches, 1, "the loss over all patches"),
    ("mae_loss", _loss_raw_target, 2, "the loss on the raw target"),
    ("mae_loss", _loss_biased_variance, 2, "unbiased variance"),
])
def test_typical_mistakes_lose_points_with_a_message_naming_them(name, fn, max_passed, message):
    passed, total, why = score(name, fn)
    assert passed <= max_passed < total
    assert message in why, why


def test_the_references_follow_the_formulas():
    x = torch.arange(2 * 4 * 4, dtype=torch.float64).view(1, 2, 4, 4)  # 2 channels, values say where they are
    patches = reference_patchify(x, 2)
    assert patches.shape == (1, 4, 8)
    assert patches[0, 1].tolist() == [2.0, 18.0, 3.0, 19.0, 6.0, 22.0, 7.0, 23.0]  # patch (0, 1): pixels, channels together
    assert torch.equal(reference_unpatchify(patches, 2, 2, 4, 4), x)
    pred, target = torch.zeros(1, 2, 3, dtype=torch.float64), torch.tensor([[[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]])
    mask = torch.tensor([[0.0, 1.0]])  # patch 0 hidden, patch 1 visible
    assert reference_mae_loss(pred, target, mask, norm_pix=False) == pytest.approx(14 / 3)
    assert reference_mae_loss(pred, target, mask, norm_pix=True) == pytest.approx(2 / 3 / (1 + 1e-6), rel=1e-9)


def test_sslcourse_grade_gives_the_solution_full_marks_and_the_exercise_zero():
    """Through the isolated worker: three returned tensors and the generator come back as they do here."""
    report = grade_path(ROOT / "solutions" / "07_mae.ipynb")
    assert report["score"] == report["max_score"] > 0, [c for c in report["checks"] if not c["passed"]]
    assert grade_path(ROOT / "exercises" / "07_mae.ipynb")["score"] == 0
