"""Grading: inline checks for exercise notebooks, and the ``sslcourse grade`` command.

In a notebook, after the exercise cell::

    from sslcourse.grading import check_weighted_knn_predict
    check_weighted_knn_predict(weighted_knn_predict)      # prints ✔/✘ per case, with hints

From a shell: ``sslcourse grade exercises/00_knn.ipynb [--json]`` grades a notebook (or .py) with the
same cases, the learner's code kept in an isolated worker process (see ``runner``'s docstring for the
trust boundary); ``sslcourse grade SUBMISSIONS/ --exercise NN --out gradebook.csv`` grades a class
(``batch``); ``--tests PRIVATE_DIR`` adds an instructor's hidden cases (``bank``);
``sslcourse export-otter NN OUTDIR`` writes an otter-grader assignment (``otter``).
``exercises/`` is generated from ``solutions/`` (``make exercises``).
"""
from __future__ import annotations

import importlib

from .core import CheckFailed, Report
from .knn import check_cosine_similarity_matrix, check_weighted_knn_predict
from .gan import check_discriminator_loss, check_generator_loss
from .jigsaw import check_make_permutation_set, check_shuffle_tiles
from .ntxent import check_nt_xent_loss, check_simclr_views
from .masking import check_masked_mse, check_random_block_mask, check_random_patch_mask
from .rotation import check_rotate_batch

# exercise number -> (module under sslcourse.grading, title)
EXERCISES = {
    "00": ("knn", "The weighted kNN classifier"),
    "01": ("masking", "Masks and the masked reconstruction loss"),
    "02": ("rotation", "Rotating a batch, with labels that line up"),
    "03": ("jigsaw", "The permutation set and shuffling tiles"),
    "04": ("ntxent", "The NT-Xent loss and SimCLR's two views"),
    "05": ("gan", "GAN losses from logits"),
}


def _module(exercise: str):
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    return importlib.import_module(f"{__name__}.{EXERCISES[exercise][0]}")


def graded_functions(exercise: str) -> dict:
    """{function name: Graded(cases factory, returns)} for an exercise number such as "00"."""
    return _module(exercise).GRADED


def random_cases(exercise: str, seed: int, repeats: int = 1) -> dict:
    """{function name: [value cases]} on random inputs drawn from ``seed``: the start of a hidden test bank."""
    import torch

    g = torch.Generator().manual_seed(int(seed))
    bank: dict = {}
    for _ in range(repeats):
        for name, cases in _module(exercise).random_cases(g).items():
            bank.setdefault(name, []).extend(cases)
    return bank


__all__ = ["EXERCISES", "graded_functions", "random_cases", "Report", "CheckFailed",
           "check_cosine_similarity_matrix", "check_weighted_knn_predict",
           "check_random_block_mask", "check_random_patch_mask", "check_masked_mse", "check_rotate_batch",
           "check_make_permutation_set", "check_shuffle_tiles", "check_nt_xent_loss", "check_simclr_views",
           "check_discriminator_loss", "check_generator_loss"]
