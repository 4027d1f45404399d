"""Grading: inline checks for exercise notebooks, and the ``sslcourse grade`` command.

In a notebook, after the exercise cell::

    from sslcourse.grading import check_weighted_knn_predict
    check_weighted_knn_predict(weighted_knn_predict)      # prints ✔/✘ per case, with hints

From a shell: ``sslcourse grade exercises/00_knn.ipynb [--json]`` grades a notebook (or .py) with the
same cases, the learner's code kept in an isolated worker process (see ``runner``'s docstring for the
trust boundary); ``sslcourse grade SUBMISSIONS/ --exercise NN --out gradebook.csv`` grades a class
(``batch``); ``--tests PRIVATE_DIR`` adds an instructor's hidden cases (``bank``);
``sslcourse export-otter NN OUTDIR`` writes an otter-grader assignment (``otter``).
Written answers ("## Written answer (graded by hand): …" cells) are listed for the teacher, with no
automatic points (``written``).
``exercises/`` is generated from ``solutions/`` (``make exercises``).
"""
from __future__ import annotations

import importlib

from .core import CheckFailed, Report
from .knn import check_cosine_similarity_matrix, check_leave_one_out_accuracy, check_weighted_knn_predict
from .gan import check_discriminator_loss, check_generator_loss, check_optimal_value
from .jigsaw import check_make_permutation_set, check_shuffle_tiles, check_tile_position_probs
from .ntxent import check_alignment_uniformity, check_nt_xent_loss, check_simclr_views
from .masking import check_masked_mse, check_random_block_mask, check_random_patch_mask, check_structure_mse
from .momentum import check_byol_loss, check_ema_update, check_enqueue
from .mae import check_mae_loss, check_patchify, check_random_masking
from .rotation import check_orientation_log_probs, check_rotate_batch

# exercise number -> (module under sslcourse.grading, title)
EXERCISES = {
    "00": ("knn", "The weighted kNN classifier, and choosing k without the test set"),
    "01": ("masking", "Masks, the masked reconstruction loss and the structure target"),
    "02": ("rotation", "Rotating a batch, and which way is up from four views"),
    "03": ("jigsaw", "The permutation set, shuffling tiles, and where each tile belongs"),
    "04": ("ntxent", "The NT-Xent loss, SimCLR's two views, alignment and uniformity"),
    "05": ("gan", "GAN losses from logits, and the value of the optimal discriminator"),
    "06": ("momentum", "The momentum update, BYOL's loss and MoCo's queue"),
    "07": ("mae", "Images as patches, MAE's random masking and the loss on the hidden patches"),
}


def _module(exercise: str):
    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    return importlib.import_module(f"{__name__}.{EXERCISES[exercise][0]}")


def graded_functions(exercise: str) -> dict:
    """{function name: Graded(cases factory, returns)} for an exercise number such as "00"."""
    return _module(exercise).GRADED


def written_questions(exercise: str) -> tuple:
    """The titles of the exercise's written answers, graded by hand (``written``): no automatic points."""
    return tuple(getattr(_module(exercise), "WRITTEN", ()))


def random_cases(exercise: str, seed: int, repeats: int = 1) -> dict:
    """{function name: [value cases]} on random inputs drawn from ``seed``: the start of a hidden test bank."""
    import torch

    g = torch.Generator().manual_seed(int(seed))
    bank: dict = {}
    for _ in range(repeats):
        for name, cases in _module(exercise).random_cases(g).items():
            bank.setdefault(name, []).extend(cases)
    return bank


__all__ = ["EXERCISES", "graded_functions", "written_questions", "random_cases", "Report", "CheckFailed",
           "check_cosine_similarity_matrix", "check_weighted_knn_predict", "check_leave_one_out_accuracy",
           "check_random_block_mask", "check_random_patch_mask", "check_masked_mse", "check_structure_mse",
           "check_rotate_batch", "check_orientation_log_probs",
           "check_make_permutation_set", "check_shuffle_tiles", "check_tile_position_probs",
           "check_nt_xent_loss", "check_simclr_views", "check_alignment_uniformity",
           "check_discriminator_loss", "check_generator_loss", "check_optimal_value",
           "check_ema_update", "check_byol_loss", "check_enqueue",
           "check_patchify", "check_random_masking", "check_mae_loss"]
