"""Grading: inline checks for exercise notebooks, and the ``sslcourse grade`` command.

In a notebook, after the exercise cell::

    from sslcourse.grading import check_weighted_knn_predict
    check_weighted_knn_predict(weighted_knn_predict)      # prints ✔/✘ per case, with hints

From a shell: ``sslcourse grade exercises/00_knn.ipynb [--json]`` grades a notebook (or .py) with the same
cases, the learner's code run in a sandbox; ``sslcourse grade SUBMISSIONS/ --exercise NN --out gradebook.csv``
grades a class; ``--tests PRIVATE_DIR`` adds an instructor's hidden cases; ``sslcourse export-otter NN OUTDIR``
writes an otter-grader assignment.

Three folders, three concerns:

* ``checks/`` — each exercise's cases and references (one module per exercise, ``checks/core.py`` the
  machinery). A case calls ``fn`` and judges what comes back; it knows nothing of processes.
* ``runner/`` — the isolated runner: a sandbox the operating system enforces, the worker that runs the
  learner's code in it, and the typed messages between them. It knows no exercise.
* ``classroom/`` — the class tools: grading a submission and a folder into a gradebook, the course's
  integrity, hidden banks, written answers, the otter export, exercise generation.

Adding an exercise is one file, ``checks/<topic>.py`` (``GRADED``, ``WRITTEN``, ``HELPERS``, ``random_cases``
and its ``check_*`` functions, like ``checks/momentum.py``), and one line in ``EXERCISES`` below.
"""
from __future__ import annotations

import importlib

from .checks.core import (PROPERTY, VALUE, Case, CheckFailed, Graded, LearnerError, Report, expect_close,
                          expect_equal, expect_scalar, expect_tensor)

# exercise number -> (module under sslcourse.grading.checks, title)
EXERCISES = {
    "00": ("knn", "The weighted kNN classifier, and choosing k without the test set"),
    "01": ("masking", "Masks, the masked reconstruction loss and the structure target"),
    "02": ("rotation", "Rotating a batch, and which way is up from four views"),
    "03": ("jigsaw", "The permutation set, shuffling tiles, and where each tile belongs"),
    "04": ("ntxent", "The NT-Xent loss, SimCLR's two views, alignment and uniformity"),
    "05": ("gan", "GAN losses from logits, and the value of the optimal discriminator"),
    "06": ("momentum", "The momentum update, BYOL's loss and MoCo's queue"),
}

# course modules every exercise's graded code may use (`p = lesson_setup()` in the first cell); an exercise
# adds its own in HELPERS (e.g. ("sslcourse.augment",)): modules that hold none of its answers
COMMON_HELPERS = ("sslcourse.config", "sslcourse.claims")


def exercise_module(exercise: str):
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    return importlib.import_module(f"{__name__}.checks.{EXERCISES[exercise][0]}")


def graded_functions(exercise: str) -> dict:
    """{function name: Graded(cases factory, returns)} for an exercise number such as "00"."""
    return exercise_module(exercise).GRADED


def written_questions(exercise: str) -> tuple:
    """The titles of the exercise's written answers, graded by hand: no automatic points."""
    return tuple(getattr(exercise_module(exercise), "WRITTEN", ()))


def helpers(exercise: str) -> tuple:
    """The course modules the exercise's graded functions may use while graded (none of them holds an answer)."""
    return COMMON_HELPERS + tuple(getattr(exercise_module(exercise), "HELPERS", ()))


def random_cases(exercise: str, seed: int, repeats: int = 1) -> dict:
    """{function name: [value cases]} on random inputs drawn from ``seed``: the start of a hidden test bank."""
    import torch

    g = torch.Generator().manual_seed(int(seed))
    bank: dict = {}
    for _ in range(repeats):
        for name, cases in exercise_module(exercise).random_cases(g).items():
            bank.setdefault(name, []).extend(cases)
    return bank


def __getattr__(name: str):
    """``from sslcourse.grading import check_nt_xent_loss``: the check of whichever exercise defines it."""
    if name.startswith("check_"):
        for number in EXERCISES:
            fn = getattr(exercise_module(number), name, None)
            if fn is not None:
                return fn
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EXERCISES", "graded_functions", "written_questions", "helpers", "random_cases", "Report",
           "CheckFailed", "LearnerError", "Case", "Graded", "VALUE", "PROPERTY", "expect_close", "expect_equal",
           "expect_scalar", "expect_tensor"]
