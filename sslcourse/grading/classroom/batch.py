"""Grade a folder of submissions into a CSV gradebook: ``sslcourse grade SUBMISSIONS/ --exercise NN --out gradebook.csv``.

Every entry of the folder (except hidden ones, starting with ".") gets a row: graded, or an error row saying
why not (a folder, a FIFO or a device, too large, not UTF-8, not JSON, nested too deeply, not a notebook, no
exercise number). Files are read first, all of them, by this process; then graded ``jobs`` at a time, each
submission in a sandbox of its own (``runner/sandbox.py``) that cannot see the folder, the other submissions,
the course or the gradebook. The batch is for credit: without isolation, or with changed course files, it
refuses before reading anything (``grade.Grader``).

Each finished row goes to the journal (``<gradebook>.partial``), so that a stopped batch resumes where it
stopped; when every process of the batch has ended, the gradebook is written in one piece and rows whose graded
code is near-identical are flagged (``similarity``).
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from ..checks.core import GradingInputError
from .grade import DEFAULT_MEMORY_GB, DEFAULT_TIMEOUT, Grader, error_report, grade_cells, graded_with_bank
from .gradebook import Journal, write_gradebook
from .submission import display_name, exercise_of, read_submission


def entries(folder, skip=()) -> list[Path]:
    """Every entry of the folder but hidden ones and ``skip``, in name order (as bytes: any encoding)."""
    skip = {os.path.realpath(s) for s in skip}
    found = [Path(e.path) for e in os.scandir(folder) if not e.name.startswith(".")]
    return sorted((p for p in found if os.path.realpath(p) not in skip), key=lambda p: os.fsencode(p.name))


def _settings_key(grader: Grader) -> str:
    """What a resumed row must have been graded with: the limits, the hidden bank, the grading code."""
    h = hashlib.sha256(f"{grader.timeout}:{grader.memory_gb}".encode())
    if grader.tests:
        for bank in sorted(Path(grader.tests).glob("bank_*.py")):
            h.update(bank.name.encode() + bank.read_bytes())
    for p in sorted(Path(__file__).resolve().parents[1].rglob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def grade_folder(folder, exercise: str | None = None, out=None, jobs: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, tests=None, memory_gb: float = DEFAULT_MEMORY_GB,
                 progress: bool = True) -> list[dict]:
    """Grade every entry of ``folder``; write ``out`` (CSV) if given; return the reports in file order."""
    from tqdm.auto import tqdm

    from .. import EXERCISES

    folder = Path(folder)
    if exercise is not None and exercise not in EXERCISES:
        raise GradingInputError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    journal_path = f"{out}.partial" if out else None
    paths = entries(folder, skip=[p for p in (out, journal_path) if p])
    if not paths:
        raise GradingInputError(f"{display_name(str(folder))} holds no files to grade")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(paths)))
    hidden = tuple(str(p) for p in (folder, out, journal_path) if p)
    with Grader(timeout=timeout, memory_gb=memory_gb, tests=tests, credit=True, jobs=jobs, hidden=hidden) as grader:
        work = []
        for p in paths:
            ex = exercise or exercise_of(p)
            try:
                if ex is None:
                    raise GradingInputError(f"cannot tell the exercise from {display_name(p.name)!r}: pass --exercise NN")
                sub = read_submission(p)
            except (GradingInputError, OSError, ValueError) as err:
                sub = err
            work.append((p, sub, ex))
        for ex in {ex for _, sub, ex in work if ex in EXERCISES and not isinstance(sub, Exception)}:
            graded_with_bank(ex, tests)  # every grader imported and the bank checked before any learner code runs
        settings = _settings_key(grader)
        journal = Journal(out) if out else None
        reports, todo = [None] * len(work), []
        for k, (p, sub, ex) in enumerate(work):
            if isinstance(sub, Exception):
                reports[k] = error_report(p.name, str(sub).replace(str(folder) + os.sep, ""), ex)
                continue
            key = f"{display_name(p.name)}:{sub.digest}:{ex}:{settings}"
            earlier = journal.get(key) if journal else None
            if earlier is not None:
                reports[k] = earlier
            else:
                todo.append((k, key))

        def run(k):
            p, sub, ex = work[k]
            try:
                return {"path": display_name(p.name), **grade_cells(sub.code, ex, grader, sub.cells)}
            except GradingInputError as err:
                return error_report(p.name, str(err), ex)
            except (OSError, RuntimeError, ValueError, TypeError, AttributeError, MemoryError, RecursionError) as err:
                return error_report(p.name, f"the grader failed on this file: {type(err).__name__}: {str(err)[:300]}", ex)

        finished = False
        try:
            with ThreadPoolExecutor(max_workers=jobs) as pool, \
                    tqdm(total=len(work), initial=len(work) - len(todo), desc="grading", unit="submission",
                         disable=not progress) as bar:
                futures = {pool.submit(run, k): (k, key) for k, key in todo}
                try:
                    for future in as_completed(futures):
                        k, key = futures[future]
                        reports[k] = future.result()
                        if journal:
                            journal.add(key, reports[k])
                        bar.update(1)
                except BaseException:
                    grader.abort()  # stop the workers running now; what is done stays in the journal
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
            finished = True
        finally:
            if journal:
                journal.close(finished=False)
    flag_similar(reports, work)
    if out:
        write_gradebook(reports, out)
        if journal:
            journal.close(finished=True)
    return reports


def flag_similar(reports: list[dict], work: list) -> None:
    """Flag, on both rows, every pair of submissions of one exercise with near-identical graded code; and a
    submission near-identical to the published solution (where solutions/ is beside the package)."""
    from .. import graded_functions
    from .similarity import fingerprint, similar_pairs

    by_exercise: dict = {}
    for k, (p, sub, ex) in enumerate(work):
        if not isinstance(sub, Exception) and reports[k] and not reports[k].get("error"):
            by_exercise.setdefault(ex, {})[k] = sub.code
    for ex, subs in by_exercise.items():
        names = list(graded_functions(ex))
        prints = {k: fingerprint(code, names) for k, code in subs.items()}
        published = _published_solution(ex)
        if published is not None:
            prints["solution"] = fingerprint(published, names)
        for a, b, ratio in similar_pairs(prints):
            for me, other in ((a, b), (b, a)):
                if me == "solution":
                    continue
                who = "the published solution" if other == "solution" else reports[other]["path"]
                reports[me]["flags"].append(f"similar code: {who} ({ratio:.0%})")


def _published_solution(exercise: str):
    from .submission import read_submission

    folder = Path(__file__).resolve().parents[3] / "solutions"
    matches = sorted(folder.glob(f"{exercise}_*.ipynb")) if folder.is_dir() else []
    try:
        return read_submission(matches[0]).code if matches else None
    except (GradingInputError, OSError):
        return None
