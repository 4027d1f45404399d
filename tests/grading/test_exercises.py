"""Every graded function can fail: a typical wrong answer loses points, with a message that names the mistake
where the grader knows it; the permutation rule of exercise 03 is the package's; written answers are listed for
the teacher and never scored; no exercise gives its answers away."""
import itertools
import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from sslcourse.grading import EXERCISES, graded_functions, written_questions
from sslcourse.grading.checks.core import run_cases
from sslcourse.grading.classroom.generate import BEGIN, END
from sslcourse.grading.classroom.grade import grade_cells
from sslcourse.grading.classroom.submission import read_submission

ROOT = Path(__file__).resolve().parents[2]


def results_of(exercise, function, fn):
    g = graded_functions(exercise)[function]
    return run_cases(function, fn, g.cases(), g.returns)


# ---- typical wrong answers, one or more per graded function ----

def cosine_unnormalised(a, b):
    return a.float() @ b.float().T


def knn_majority(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
    num_classes = num_classes or int(train_labels.max()) + 1
    sim = F.normalize(test_features, dim=1) @ F.normalize(train_features, dim=1).T
    idx = sim.topk(min(k, len(train_features)), dim=1).indices
    votes = torch.zeros(len(test_features), num_classes)
    votes.scatter_add_(1, train_labels[idx], torch.ones(idx.shape))  # counted, not weighted
    return votes.argmax(1)


def loo_self_included(features, labels, k=20, temperature=0.07):
    sim = F.normalize(features.float(), dim=1) @ F.normalize(features.float(), dim=1).T
    top, idx = sim.topk(min(k, len(features)), dim=1)  # the point itself is its own first neighbour
    votes = torch.zeros(len(features), int(labels.max()) + 1)
    votes.scatter_add_(1, labels[idx], torch.exp(top / temperature))
    return (votes.argmax(1) == labels).float().mean()


def block_same_everywhere(n, size=32, block=12, generator=None):
    top, left = (int(torch.randint(0, size - block + 1, (1,), generator=generator)) for _ in range(2))
    mask = torch.ones(n, 1, size, size)
    mask[:, :, top:top + block, left:left + block] = 0
    return mask


def patch_bernoulli(n, size=32, patch=4, mask_ratio=0.75, generator=None):
    g = size // patch
    visible = (torch.rand(n, 1, g, g, generator=generator) >= mask_ratio).float()
    return visible.repeat_interleave(patch, 2).repeat_interleave(patch, 3)


def mse_everywhere(pred, target, mask):
    return (pred - target).pow(2).mean()


def structure_plain(pred, target, mask):
    hidden = 1.0 - mask
    return ((pred - target).pow(2) * hidden).sum() / (hidden.sum() * pred.shape[1]).clamp(min=1.0)


def rotate_clockwise(images):
    n = len(images)
    return torch.cat([torch.rot90(images, -r, dims=(2, 3)) for r in range(4)]), torch.arange(4).repeat_interleave(n)


def orientation_unturned_view_only(logits):
    return torch.log_softmax(logits[0].float(), dim=1)


def orientation_averaged(logits):
    probs = torch.softmax(logits.float(), dim=2)
    s = torch.arange(4)
    return torch.log(sum(probs[r][:, (s + r) % 4] for r in range(4)) / 4)


def _pool(num_tiles, seed):
    pool = torch.tensor(list(itertools.permutations(range(num_tiles))), dtype=torch.int8)
    return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))]


def permutations_max_min(n, num_tiles=9, seed=0):
    """The max–min rule, written as a learner would: the mistake exercise 03 names."""
    pool = _pool(num_tiles, seed)
    nearest, chosen = (pool != pool[0]).sum(1), [0]
    for _ in range(n - 1):
        chosen.append(int(nearest.argmax()))
        nearest = torch.minimum(nearest, (pool != pool[chosen[-1]]).sum(1))
    return pool[chosen].long()


def permutations_random(n, num_tiles=9, seed=0):
    return _pool(num_tiles, seed)[:n].long()


def shuffle_inverse(tiles, permutation):
    return tiles[:, permutation.argsort(-1)] if permutation.dim() == 1 else \
        tiles[torch.arange(len(tiles)).unsqueeze(1), permutation.argsort(-1)]


def positions_transposed(logits, permutations):
    onehot = F.one_hot(permutations.long(), permutations.shape[1]).float()
    return torch.einsum("np,pjk->nkj", torch.softmax(logits.float(), 1), onehot)


def positions_from_raw_logits(logits, permutations):
    onehot = F.one_hot(permutations.long(), permutations.shape[1]).float()
    return torch.einsum("np,pjk->njk", logits.float(), onehot)


def views_same_draw(images, augment):
    v = augment(images)
    return v, v.clone()


def ntxent_self_in_denominator(z1, z2, temperature=0.5):
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    return F.cross_entropy(z @ z.T / temperature, torch.arange(2 * n).roll(n))


def au_unnormalised(z1, z2, t=2.0):
    a, b = z1.float(), z2.float()

    def uniformity(x):
        d2 = torch.cdist(x, x).pow(2)
        off = ~torch.eye(len(x), dtype=torch.bool)
        return torch.logsumexp(-t * d2[off], 0) - math.log(len(x) * (len(x) - 1))

    return (a - b).pow(2).sum(1).mean(), (uniformity(a) + uniformity(b)) / 2


def au_with_self_pairs(z1, z2, t=2.0):
    a, b = F.normalize(z1.float(), dim=1), F.normalize(z2.float(), dim=1)

    def uniformity(x):
        return torch.logsumexp(-t * torch.cdist(x, x).pow(2).flatten(), 0) - math.log(len(x) ** 2)

    return (a - b).pow(2).sum(1).mean(), (uniformity(a) + uniformity(b)) / 2


def d_loss_naive(real_logits, fake_logits):
    return -torch.log(torch.sigmoid(real_logits)).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()


def g_loss_saturating_default(fake_logits, non_saturating=False):
    return -F.logsigmoid(fake_logits).mean() if non_saturating else F.logsigmoid(-fake_logits).mean()


def value_from_densities(log_p_data, log_p_g, dx):
    p, q = log_p_data.exp(), log_p_g.exp()
    return dx * (p * torch.log(p / (p + q)) + q * torch.log(q / (p + q))).sum()


def value_is_jsd(log_p_data, log_p_g, dx):
    log_total = torch.logaddexp(log_p_data, log_p_g)
    v = dx * (log_p_data.exp() * (log_p_data - log_total) + log_p_g.exp() * (log_p_g - log_total)).sum()
    return (v + math.log(4)) / 2


def ema_swapped(target, online, momentum):
    with torch.no_grad():
        return target.mul_(1 - momentum).add_(online, alpha=momentum)


def byol_one_direction(p1, p2, z1, z2):
    return (2 - 2 * F.cosine_similarity(p1, z2.detach())).mean()


def enqueue_by_shifting(queue, ptr, keys):
    queue.copy_(torch.cat([queue[len(keys):], keys]))
    ptr.copy_((ptr + len(keys)) % len(queue))
    return queue, ptr


def patchify_channels_first(images, patch):  # what unfold gives: all of channel 0, then channel 1, ...
    return F.unfold(images.float(), patch, stride=patch).transpose(1, 2).to(images.dtype)


def masking_shared_by_the_batch(tokens, mask_ratio, generator=None):
    n, length, dim = tokens.shape
    k = length - round(mask_ratio * length)
    shuffle = torch.rand(1, length, generator=generator).argsort(1).expand(n, length)
    restore = shuffle.argsort(1)
    return tokens.gather(1, shuffle[:, :k, None].expand(n, k, dim)), (restore < k).float(), restore


def mae_loss_all_patches(pred, target, mask, norm_pix=True):
    if norm_pix:
        target = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6).sqrt()
    return ((pred - target) ** 2).mean()


WRONG = [  # (exercise, function, wrong answer, a phrase in the name or message of a failing check; None: any)
    ("00", "cosine_similarity_matrix", cosine_unnormalised, "ignores the length"),
    ("00", "weighted_knn_predict", knn_majority, "not weighted by exp"),
    ("00", "leave_one_out_accuracy", loo_self_included, "votes for itself"),
    ("01", "random_block_mask", block_same_everywhere, "independently"),
    ("01", "random_patch_mask", patch_bernoulli, "exactly round"),
    ("01", "masked_mse", mse_everywhere, None),
    ("01", "structure_mse", structure_plain, "mean colours were not subtracted"),
    ("02", "rotate_batch", rotate_clockwise, "clockwise"),
    ("02", "orientation_log_probs", orientation_unturned_view_only, "only the unturned view"),
    ("02", "orientation_log_probs", orientation_averaged, "averaged"),
    ("03", "make_permutation_set", permutations_max_min, "max–min rule"),
    ("03", "make_permutation_set", permutations_random, None),
    ("03", "shuffle_tiles", shuffle_inverse, None),
    ("03", "tile_position_probs", positions_transposed, "swapped"),
    ("03", "tile_position_probs", positions_from_raw_logits, "they are logits"),
    ("04", "simclr_views", views_same_draw, None),
    ("04", "nt_xent_loss", ntxent_self_in_denominator, None),
    ("04", "alignment_uniformity", au_unnormalised, "unit sphere"),
    ("04", "alignment_uniformity", au_with_self_pairs, "paired with itself"),
    ("05", "discriminator_loss", d_loss_naive, None),
    ("05", "generator_loss", g_loss_saturating_default, None),
    ("05", "optimal_value", value_from_densities, "compute log D* from the log-densities"),
    ("05", "optimal_value", value_is_jsd, "the JSD"),
    ("06", "ema_update", ema_swapped, "swapped"),
    ("06", "byol_loss", byol_one_direction, "only the first direction"),
    ("06", "enqueue", enqueue_by_shifting, "ring buffer"),
    ("07", "patchify", patchify_channels_first, "channel by channel"),
    ("07", "random_masking", masking_shared_by_the_batch, "every sequence got the same mask"),
    ("07", "mae_loss", mae_loss_all_patches, "the loss over all patches"),
]


def test_every_graded_function_has_a_wrong_answer_here():
    covered = {(ex, fn) for ex, fn, _, _ in WRONG}
    every = {(ex, fn) for ex in EXERCISES for fn in graded_functions(ex)}
    assert every <= covered, f"graded functions without a typical wrong answer: {sorted(every - covered)}"


@pytest.mark.parametrize("exercise, function, wrong, phrase", WRONG, ids=[w[2].__name__ for w in WRONG])
def test_a_typical_wrong_answer_fails(exercise, function, wrong, phrase):
    results = results_of(exercise, function, wrong)
    failed = [r for r in results if not r.passed]
    assert failed, f"{wrong.__name__} passed every check of {function}"
    if phrase:
        assert any(phrase in r.message or phrase in r.name for r in failed), [(r.name, r.message) for r in failed]


def test_no_hidden_bank_lets_a_constant_class_pass_the_knn_case():
    """With 2 classes and up to 24 neighbours, a hidden case's 10 queries could all vote for one class, and a
    constant answer (tests/grading/attacks/00_constant_zeros.py) earned the point in 11 banks of 300 (seeds 69, 100
    and 107 among the first 110)."""
    from sslcourse.grading import random_cases

    for seed in range(110):
        cases = random_cases("00", seed)["weighted_knn_predict"]
        for c in range(5):
            def constant(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):
                return torch.full((len(test_features),), c, dtype=torch.int64)

            passed = [r.name for r in run_cases("weighted_knn_predict", constant, cases, 1) if r.passed]
            assert not passed, (seed, c, passed)


# ---- exercise 03: the paper's rule, the package's rule, the grader's reference ----

def shuffle_nothing(tiles, permutation):  # tiles returned as they came (tests/grading/attacks/03_constant_perms.py)
    return tiles.clone()


@pytest.mark.parametrize("wrong", [shuffle_nothing, shuffle_inverse])
def test_no_hidden_bank_lets_unshuffled_or_inverse_tiles_pass_a_case(wrong):
    """A hidden bank's shuffle_tiles cases use 4 or 5 tiles, where a random permutation is the identity or its own
    inverse 10 times in 24: every case of 300 banks must still fail both wrong answers (a red-team run found a
    do-nothing submission earning a point)."""
    from sslcourse.grading import random_cases

    for seed in range(300):
        cases = random_cases("03", seed)["shuffle_tiles"]
        passed = [r.name for r in run_cases("shuffle_tiles", wrong, cases, 1) if r.passed]
        assert not passed, (seed, passed)


def test_the_grader_reference_is_the_package_rule():
    from sslcourse.grading.checks.jigsaw import reference_permutation_set
    from sslcourse.pretext import make_permutation_set

    for n, t, seed in ((12, 5, 2), (20, 4, 7), (8, 6, 1), (24, 4, 0)):
        assert torch.equal(make_permutation_set(n, t, seed=seed), reference_permutation_set(n, t, seed)), (n, t, seed)
        assert torch.equal(make_permutation_set(n, t, seed=seed, rule="maxmin"),
                           reference_permutation_set(n, t, seed, rule="min")), (n, t, seed)


@pytest.mark.parametrize("rule", ["mean", "maxmin"])
def test_the_package_permutation_set_is_graded_by_its_rule(rule):
    """The package's default (Algorithm 1) earns full marks; its max–min variant gets the named message."""
    from sslcourse.grading.checks.jigsaw import MAX_MIN
    from sslcourse.pretext import make_permutation_set

    def package(n, num_tiles=9, seed=0):
        return make_permutation_set(n, num_tiles, seed=seed, rule=rule)

    results = results_of("03", "make_permutation_set", package)
    if rule == "mean":
        assert all(r.passed for r in results), [(r.name, r.message) for r in results if not r.passed]
    else:
        failed = [r for r in results if not r.passed]
        assert failed and all(r.message == MAX_MIN for r in failed if "summed" in r.name or "reference" in r.name)
        assert any(r.message == MAX_MIN for r in failed)
        assert any("9 tiles" in r.name for r in failed), "the 9-tile case must tell the two rules apart"


# ---- written answers: found, listed for the teacher, never scored ----

@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_every_exercise_asks_for_a_written_answer_graded_by_hand(exercise):
    questions = written_questions(exercise)
    assert questions, f"exercise {exercise} asks for no written answer"
    name = next(p.name for p in (ROOT / "solutions").glob(f"{exercise}_*.ipynb"))
    for folder, answered in (("solutions", True), ("exercises", False)):
        cells = read_submission(ROOT / folder / name).cells
        entries = __import__("sslcourse.grading.classroom.written", fromlist=["by_hand"]).by_hand(cells, questions)
        assert [e["question"] for e in entries] == list(questions)
        assert all(e["answered"] is answered and e["points"] == 0 for e in entries), (folder, entries)
        if answered:
            assert all("BEGIN SOLUTION" not in e["answer"] and len(e["answer"].split()) > 30 for e in entries)


def test_written_answers_carry_no_points_and_are_marked_by_hand(capsys):
    from sslcourse.grading.classroom.grade import print_report

    path = ROOT / "solutions" / "05_gan.ipynb"
    sub = read_submission(path)
    report = grade_cells(sub.code, "05", all_cells=sub.cells)
    assert report["score"] == report["max_score"] == sum(c.points for g in graded_functions("05").values()
                                                         for c in g.cases())
    assert [e["question"] for e in report["by_hand"]] == list(written_questions("05"))
    print_report({"path": str(path), **report})
    out = capsys.readouterr().out
    assert "graded by hand, no automatic points" in out and "for your teacher to mark" in out
    assert "(written answers not included: graded by hand)" in out


def test_a_heading_merged_into_another_cell_is_still_found():
    from sslcourse.grading.classroom.written import by_hand

    cells = [("markdown", "Some text.\n\n## Written answer (graded by hand): Why?\nExplain."),
             ("markdown", "Because."), ("code", "x = 1")]
    assert by_hand(cells, ("Why?",)) == [{"question": "Why?", "answered": True, "answer": "Because.", "points": 0}]


# ---- exercises do not give their answers away ----

def solution_lines(source: str) -> list[str]:
    out, inside = [], False
    for line in source.splitlines():
        if line.strip() == BEGIN:
            inside = True
        elif line.strip() == END:
            inside = False
        elif inside and len(line.strip()) > 18 and not line.strip().startswith("#"):
            out.append(line.strip())
    return out


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_no_line_of_an_answer_appears_in_its_exercise(exercise):
    solution = next((ROOT / "solutions").glob(f"{exercise}_*.py"))
    text = (ROOT / "exercises" / solution.name).read_text()
    leaked = [line for line in solution_lines(solution.read_text()) if line in text]
    assert not leaked, f"exercises/{solution.name} holds lines of its answers: {leaked}"


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_markdown_hints_do_not_hold_code(exercise):
    """Inline code in the exercise's prose is a name or a signature, never a call with arguments that does the work."""
    text = next((ROOT / "exercises").glob(f"{exercise}_*.py")).read_text()
    prose = "\n".join(line for line in text.splitlines() if line.startswith("# ") and not line.startswith("# %%"))
    calls = [c for c in re.findall(r"`([^`]*\w+_?\([^`]*\)[^`]*)`", prose)
             if re.search(r"\b(scatter_add_|cross_entropy|logsigmoid|argsort|topk|masked_fill|einsum|logsumexp|"
                          r"logaddexp|repeat_interleave|normalize)\(", c)]
    assert not calls, f"exercise {exercise}'s prose holds code that does the work: {calls}"
