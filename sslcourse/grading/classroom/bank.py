"""Hidden test banks: an instructor's extra cases, kept out of the package and the public repository.

A bank is a folder with one file per exercise, ``bank_NN.py``, each defining ``cases()`` that returns
``{function name: [Case, ...]}``. ``sslcourse grade --tests BANK_DIR`` adds them to the public cases
(their names start with "hidden:"); they run in the grading parent like every case, so only their
inputs ever reach a learner's code. ``sslcourse new-bank BANK_DIR`` writes a starting bank: new random
value cases from a secret seed (``sslcourse.grading.random_cases``) and a place for checks of your own.
"""
from __future__ import annotations

import importlib.util
import secrets
from pathlib import Path

from ..checks.core import Case, GradingInputError

TEMPLATE = '''"""Hidden tests for exercise {nn} ({title}) — keep this file out of the students' reach.

`sslcourse grade SUBMISSION --tests {folder}` adds these cases to the public ones. Cases run in the
grading process: write them like those in sslcourse/grading/checks/{module}.py (`fn` is the learner's function;
raise CheckFailed with a message that teaches). VALUE cases gate the others: a function scores its
PROPERTY cases only once all its VALUE cases pass.
"""
import torch

from sslcourse.grading import random_cases
from sslcourse.grading import PROPERTY, VALUE, Case, CheckFailed, expect_close, expect_scalar, expect_tensor

SEED = {seed}  # secret: change it every term; new inputs, the same rules


def cases():
    bank = random_cases("{nn}", SEED, repeats=3)  # new random value cases for every graded function
    # Add checks of your own, e.g.:
    # def my_check(fn):
    #     out = fn(...)
    #     if ...:
    #         raise CheckFailed("what was wrong, and what to revisit")
    # bank.setdefault("function_name", []).append(Case("what it checks", my_check, kind=VALUE))
    return bank
'''


def bank_file(folder, exercise: str) -> Path | None:
    folder = Path(folder)
    path = folder / f"bank_{exercise}.py"
    return path if path.exists() else None


def hidden_cases(folder, exercise: str) -> dict:
    """{function: [Case]} from BANK_DIR/bank_NN.py, names prefixed "hidden:"; {} if the bank has no such file."""

    folder = Path(folder)
    if not folder.is_dir():
        raise GradingInputError(f"--tests {folder}: no such folder; make one with `sslcourse new-bank {folder}`")
    path = bank_file(folder, exercise)
    if path is None:
        raise GradingInputError(f"--tests {folder}: no bank_{exercise}.py in it; `sslcourse new-bank {folder}` writes "
                                "one per exercise")
    spec = importlib.util.spec_from_file_location(f"sslcourse_bank_{exercise}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        bank = module.cases()
    except Exception as err:
        old = " (banks written before the grader's folders: import from sslcourse.grading, not sslcourse.grading.core)" \
            if "sslcourse.grading.core" in str(err) else ""
        raise GradingInputError(f"{path} failed: {type(err).__name__}: {err}{old}") from None
    if not isinstance(bank, dict) or not all(isinstance(c, Case) for cs in bank.values() for c in cs):
        raise GradingInputError(f"{path}: cases() should return {{function name: [Case, ...]}}")
    for cs in bank.values():
        for c in cs:
            c.name = c.name if c.name.startswith("hidden: ") else f"hidden: {c.name}"
    return bank


def new_bank(folder) -> list[Path]:
    """Write bank_NN.py for every exercise, each with its own fresh secret seed; existing files are kept."""
    from .. import EXERCISES

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for nn, (module, title) in EXERCISES.items():
        path = folder / f"bank_{nn}.py"
        if path.exists():
            continue
        path.write_text(TEMPLATE.format(nn=nn, title=title, folder=folder, module=module,
                                        seed=secrets.randbelow(2**31)))
        written.append(path)
    return written
