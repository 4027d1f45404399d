"""Exercise 02 — every image in all four rotations, with labels that line up; which way is up.

Graded functions::

    rotate_batch(images) -> (rotated (4N, C, H, W), labels (4N,) int64)
    orientation_log_probs(logits) -> (N, 4) normalised log-probabilities
        logits (4, N, 4): a rotation classifier's logits for image i turned by a further r·90° (logits[r, i]);
        image i is at an unknown orientation s, so view r shows it at orientation (s + r) mod 4:
        out[i, s] = Σ_r log softmax(logits[r, i])[(s + r) mod 4], normalised over s (four views as
        independent evidence)

label r means "rotated by r · 90° counter-clockwise", as ``torch.rot90(x, r, dims=(-2, -1))``.
Any order of the 4N outputs is accepted, as long as each image appears once per rotation.
"""
from __future__ import annotations

import math

import torch

from .core import VALUE, Case, CheckFailed, Graded, expect_close, expect_tensor, inline_check


def _images(n=6, seed=0, dtype=torch.uint8, size=8):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=g, dtype=torch.uint8).to(dtype)


def _pair(fn, images):
    rotated, labels = fn(images)
    n, c, h, w = images.shape
    expect_tensor(rotated, "the rotated images", (4 * n, c, h, w))
    expect_tensor(labels, "the labels", (4 * n,))
    if labels.is_complex() or labels.is_floating_point() and not torch.equal(labels, labels.round()):
        raise CheckFailed("the labels should be whole numbers 0..3")
    return rotated, labels.long()


def _match(rotated, labels, images, direction=1):
    """For each output, which input image it is once rotated back by its label (or -1)."""
    flat = images.flatten(1)
    found = []
    for out, r in zip(rotated, labels):
        back = torch.rot90(out, -direction * int(r), dims=(-2, -1)).flatten().to(flat.dtype)
        hits = (flat == back).all(1).nonzero().view(-1)
        found.append(int(hits[0]) if len(hits) else -1)
    return found


def _aligned_case(n, seed, size=8):
    def aligned(fn):
        images = _images(n, seed, size=size)
        rotated, labels = _pair(fn, images)
        found = _match(rotated, labels, images)
        if -1 in found:
            if -1 not in _match(rotated, labels, images, direction=-1) and labels.remainder(2).any():
                raise CheckFailed("the images are rotated clockwise: label r means r·90° counter-clockwise "
                                  "(torch.rot90 turns from the first of its dims towards the second)")
            i = found.index(-1)
            raise CheckFailed(f"output {i} with label {int(labels[i])} is not an input image rotated by "
                              f"{90 * int(labels[i])}° counter-clockwise")
        if sorted(zip(found, labels.tolist())) != [(j, r) for j in range(n) for r in range(4)]:
            raise CheckFailed("each image should appear once with each label 0, 1, 2, 3, rotated to match it")

    return aligned


def _complete_case(n, seed, size=8):
    def complete(fn):
        images = _images(n, seed, size=size)
        rotated, labels = _pair(fn, images)
        # which (image, rotation) each output is, whatever its label says: the labels are the other case's job
        seen = set()
        for out in rotated:
            hits = [(j, r) for j in range(n) for r in range(4)
                    if torch.equal(torch.rot90(images[j], r, dims=(-2, -1)), out.to(images.dtype))]
            seen.add(hits[0] if hits else None)
        expected = {(j, r) for j in range(n) for r in range(4)}
        if seen != expected:
            missing = sorted(expected - seen)[:3]
            raise CheckFailed(f"not every image appears in all four rotations once; missing (image, rotation) "
                              f"{missing}…")

    return complete


def rotate_cases() -> list[Case]:
    def shapes(fn):
        rotated, labels = fn(_images())
        expect_tensor(rotated, "the rotated images", (24, 3, 8, 8))
        expect_tensor(labels, "the labels", (24,), torch.int64)
        if labels.min() < 0 or labels.max() > 3:
            raise CheckFailed(f"labels must be 0..3, got values {sorted(set(labels.tolist()))}")

    def exact(fn):
        rotated, _ = fn(_images(seed=3))
        if rotated.dtype != torch.uint8:
            raise CheckFailed(f"uint8 images came back as {rotated.dtype}")

    def single_and_float(fn):
        rotated, labels = fn(_images(n=1, seed=4, dtype=torch.float32))
        expect_tensor(rotated, "rotate_batch of one float image", (4, 3, 8, 8), torch.float32)
        if sorted(labels.tolist()) != [0, 1, 2, 3]:
            raise CheckFailed(f"one image should give labels 0, 1, 2, 3, got {labels.tolist()}")

    return [
        Case("returns (4N, C, H, W) images and (4N,) int64 labels in 0..3", shapes,
             "four rotated copies of the whole batch, and one integer label per copy"),
        Case("each image is its input rotated by label·90° counter-clockwise", _aligned_case(6, 1),
             "build the labels in the same order as the rotated copies", kind=VALUE),
        Case("every image appears in all four rotations", _complete_case(8, 2),
             "rotate the whole batch once per angle", kind=VALUE),
        Case("exact: uint8 stays uint8, no interpolation", exact,
             "a quarter turn only moves pixels: no resampling, no conversion to float"),
        Case("works for one image and for float images", single_and_float, "the same code, no special cases"),
    ]


def reference_orientation(logits, direction=1, combine="log"):
    """Slow and literal, float64: for each image and orientation s, add up (``combine="log"``) the log-
    probability that view r gives to (s + r) mod 4, then normalise over s. ``direction=-1`` (s − r) and
    ``combine="prob"`` (averaged probabilities) are common mistakes, kept to name them."""
    four, n, _ = logits.shape
    out = torch.zeros(n, 4, dtype=torch.float64)
    for i in range(n):
        scores = []
        for s in range(4):
            total = 0.0
            for r in range(four):
                row = [float(v) for v in logits[r, i]]
                top = max(row)
                log_z = top + math.log(sum(math.exp(v - top) for v in row))
                log_p = row[(s + direction * r) % 4] - log_z
                total += log_p if combine == "log" else math.exp(log_p) / four
            scores.append(total if combine == "log" else math.log(total))
        top = max(scores)
        log_z = top + math.log(sum(math.exp(v - top) for v in scores))
        out[i] = torch.tensor([v - log_z for v in scores], dtype=torch.float64)
    return out


def _view_logits(n, seed, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(4, n, 4, generator=g) * scale


def _orientation_value_case(settings):
    def value(fn):
        for n, seed in settings:
            logits = _view_logits(n, seed)
            got = expect_tensor(fn(logits), f"orientation_log_probs(logits (4, {n}, 4))", (n, 4))
            if got.is_complex() or not got.is_floating_point():
                raise CheckFailed(f"log-probabilities should be floating point, got {got.dtype}")
            want = reference_orientation(logits)
            if torch.allclose(got.double(), want, atol=1e-4):
                continue
            near = lambda ref: torch.allclose(got.double(), ref, atol=1e-4)  # noqa: E731
            if near(reference_orientation(logits, direction=-1)):
                raise CheckFailed("the views were read the wrong way round: view r turns the image a further r "
                                  "quarter turns, so it shows orientation s + r, not s − r")
            if near(reference_orientation(logits, combine="prob")):
                raise CheckFailed("the views' probabilities were averaged: independent evidence multiplies, so "
                                  "their log-probabilities add up")
            if torch.allclose(got.double() - got.double().logsumexp(1, keepdim=True), want, atol=1e-4):
                raise CheckFailed("right up to a constant per image, but not normalised: the four probabilities "
                                  "of an image should sum to 1")
            if near(reference_orientation(logits[:1])):
                raise CheckFailed("only the unturned view was used: the other three views are evidence too")
            expect_close(got, want.float(), "the orientation log-probabilities", atol=1e-4)

    return value


def orientation_cases() -> list[Case]:
    def shape(fn):
        out = expect_tensor(fn(_view_logits(5, 0)), "orientation_log_probs(logits (4, 5, 4))", (5, 4))
        if not out.is_floating_point():
            raise CheckFailed(f"log-probabilities should be floating point, got {out.dtype}")

    def sure(fn):
        # a sure classifier: view r of image i says (s_i + r) mod 4 with logit 30, the rest 0
        s = torch.tensor([0, 1, 2, 3, 1])
        logits = torch.zeros(4, 5, 4)
        for r in range(4):
            logits[r, torch.arange(5), (s + r) % 4] = 30.0
        got = expect_tensor(fn(logits), "the orientation log-probabilities", (5, 4))
        if not torch.equal(got.argmax(1), s):
            raise CheckFailed(f"four views that agree on orientations {s.tolist()} gave {got.argmax(1).tolist()}")

    def normalised(fn):
        got = expect_tensor(fn(_view_logits(6, 2)), "the orientation log-probabilities", (6, 4)).double()
        if not torch.allclose(got.exp().sum(1), torch.ones(6, dtype=torch.float64), atol=1e-5):
            raise CheckFailed("the four probabilities of an image should sum to 1")

    def equivariant(fn):
        logits = _view_logits(4, 3)
        a = expect_tensor(fn(logits), "the orientation log-probabilities", (4, 4))
        b = expect_tensor(fn(logits.roll(-1, 0)), "the orientation log-probabilities", (4, 4))
        if not torch.allclose(b.double(), a.double().roll(1, 1), atol=1e-4):
            raise CheckFailed("turning every image one more quarter turn (its views shift by one) should shift the "
                              "answer by one orientation")

    def stable(fn):
        logits = _view_logits(3, 4, scale=1e4)
        got = expect_tensor(fn(logits), "the orientation log-probabilities at logits of ±10⁴", (3, 4))
        if not torch.isfinite(got).all():
            raise CheckFailed("logits of ±10⁴ gave inf or nan: a probability that rounds to 0 has no log")
        expect_close(got, reference_orientation(logits).float(), "the orientation log-probabilities at logits ±10⁴",
                     atol=1e-2, rtol=1e-5)

    return [
        Case("returns (N, 4) floating-point log-probabilities", shape, "one log-probability per image and orientation"),
        Case("equals Σ_r log p_r((s + r) mod 4), normalised", _orientation_value_case([(5, 1), (3, 7)]),
             "if the image sits at orientation s, the view turned r more quarter turns sits at s + r (mod 4); each "
             "view's log-probability of that is evidence for s, and the evidence adds up", kind=VALUE),
        Case("four agreeing views find the orientation", sure, "orientation s explains every view at once",
             kind=VALUE),
        Case("sums to 1 over the orientations", normalised, "normalise in log space: subtract the log of the total"),
        Case("turning the image once more shifts the answer by one", equivariant,
             "the rule treats every view the same way"),
        Case("stable for a sure classifier (logits ±10⁴)", stable,
             "a log of a softmax computed in one step stays finite; a log of a rounded probability does not"),
    ]


def random_cases(g: torch.Generator) -> dict:
    """Value cases on random sizes, for an instructor's hidden test bank."""
    n, size = int(torch.randint(2, 9, (1,), generator=g)), int(torch.randint(4, 12, (1,), generator=g))
    seed = int(torch.randint(0, 2**31, (1,), generator=g))
    return {"rotate_batch": [
        Case(f"{n} images of {size}×{size}: each output is its input rotated by its label", _aligned_case(n, seed, size),
             kind=VALUE),
        Case(f"{n} images of {size}×{size}: all four rotations of each", _complete_case(n, seed, size), kind=VALUE),
    ], "orientation_log_probs": [
        Case(f"the formula for {n} images", _orientation_value_case([(n, seed % 100000)]), kind=VALUE),
    ]}


def check_rotate_batch(fn):
    return inline_check("rotate_batch", fn, rotate_cases(), returns=2)


def check_orientation_log_probs(fn):
    return inline_check("orientation_log_probs", fn, orientation_cases())


GRADED = {"rotate_batch": Graded(rotate_cases, returns=2), "orientation_log_probs": Graded(orientation_cases)}
WRITTEN = ("Is four views' vote worth it?",)
