"""Grade a folder of submissions into a CSV gradebook: ``sslcourse grade SUBMISSIONS/ --exercise NN --out gradebook.csv``.

Every ``*.ipynb`` and ``*.py`` file directly in the folder is one submission, whatever its name. They are
read first (a submission's code can then not change another's file before it is graded), then graded in
parallel, one isolated worker per submission at a time on each of ``jobs`` threads. One row per submission:
file, score, max, the flags ("imported the answer: f", "timed out: f", ...), the error if it could not be
graded, and the points of every check. A bad submission is a row with its error, never the end of the batch.
"""
from __future__ import annotations

import csv
import os
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from .runner import (DEFAULT_TIMEOUT, GradingInputError, _check_course_files, error_report, exercise_of,
                     grade_cells, graded_with_bank, mark_tampered, read_submission)
from .sandbox import DEFAULT_MEMORY_GB


def submissions(folder) -> list[Path]:
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.suffix in (".ipynb", ".py") and not p.name.startswith("."))


def _grade_one(path: Path, cells, exercise, timeout, tests, memory_gb, check_files=True) -> dict:
    if isinstance(cells, Exception):
        return error_report(path, str(cells), exercise)
    code, all_cells = cells
    try:
        return {"path": str(path), **grade_cells(code, exercise, timeout, tests, memory_gb, check_files,
                                                 all_cells=all_cells)}
    except Exception as err:  # one bad submission never stops the batch
        return error_report(path, f"the grader failed on this file: {type(err).__name__}: {err}", exercise)


class _Watch:
    """Which submissions ran while the course's files changed. Checked after each submission; every one in
    flight since the last clean check is a suspect, and suspects are graded again one at a time (where the
    check names the culprit exactly)."""

    def __init__(self):
        self.lock, self.in_flight, self.suspects = threading.Lock(), set(), set()
        self.since_clean = set()
        _check_course_files()

    def start(self, k):
        with self.lock:
            self.in_flight.add(k)
            self.since_clean.add(k)

    def done(self, k):
        with self.lock:
            self.in_flight.discard(k)
            if not _check_course_files():
                self.suspects |= self.since_clean
            self.since_clean = set(self.in_flight)


def grade_folder(folder, exercise: str | None = None, out=None, jobs: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, tests=None, memory_gb: float = DEFAULT_MEMORY_GB,
                 progress: bool = True) -> list[dict]:
    """Grade every submission in ``folder``; write ``out`` (CSV) if given; return the reports in file order."""
    from tqdm.auto import tqdm

    from . import EXERCISES

    folder = Path(folder)
    paths = submissions(folder)
    if not paths:
        raise GradingInputError(f"{folder} holds no .ipynb or .py files to grade")
    if exercise is not None and exercise not in EXERCISES:
        raise GradingInputError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    work = []
    for p in paths:
        ex = exercise or exercise_of(p)
        try:
            if ex is None:
                raise GradingInputError(f"cannot tell the exercise from {p.name!r}: pass --exercise NN")
            cells = read_submission(p)
        except (GradingInputError, OSError, ValueError) as err:
            cells = err
        work.append((p, cells, ex))
    for ex in {ex for _, _, ex in work if ex in EXERCISES}:
        graded_with_bank(ex, tests)  # import every grader (and check the bank) before any learner code runs
    jobs = jobs or os.cpu_count() or 1
    reports = [None] * len(work)
    watch = _Watch()

    def run(k):
        p, cells, ex = work[k]
        watch.start(k)
        try:
            return _grade_one(p, cells, ex, timeout, tests, memory_gb, check_files=False)
        finally:
            watch.done(k)

    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool, \
                tqdm(total=len(work), desc="grading", unit="submission", disable=not progress) as bar:
            futures = {pool.submit(run, k): k for k in range(len(work))}
            for future in as_completed(futures):
                reports[futures[future]] = future.result()
                bar.update(1)
    finally:
        _check_course_files()  # stopped half-way (Ctrl-C, SIGTERM): still put back what a submission deleted
    for k in sorted(watch.suspects):  # one at a time: now the check after each names the culprit
        p, cells, ex = work[k]
        report = _grade_one(p, cells, ex, timeout, tests, memory_gb, check_files=False)
        reports[k] = mark_tampered(report) if not _check_course_files() else report
    if out:
        write_gradebook(reports, out, root=folder)
    return reports


def write_gradebook(reports: list[dict], out, root=None) -> None:
    """One row per submission; one column per check ("function: case"), holding its points (0 if failed);
    then one column per written answer ("by hand: question"), holding the answer's text for the teacher to
    mark (empty if not answered) — never part of score or max_score."""
    columns, written = [], []
    for r in reports:
        for c in r.get("checks", []):
            key = f"{c['function']}: {c['name']}"
            if key not in columns:
                columns.append(key)
        for e in r.get("by_hand", []):
            key = f"by hand: {e['question']}"
            if key not in written:
                written.append(key)
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["file", "exercise", "score", "max_score", "flags", "error", *columns, *written])
        for r in reports:
            points = {f"{c['function']}: {c['name']}": c["points"] if c["passed"] else 0 for c in r.get("checks", [])}
            answers = {f"by hand: {e['question']}": e["answer"] for e in r.get("by_hand", [])}
            name = Path(r["path"]).relative_to(root).as_posix() if root else r["path"]
            w.writerow([name, r.get("exercise") or "", r["score"], r["max_score"], "; ".join(r.get("flags", [])),
                        r.get("error") or "", *[points.get(k, "") for k in columns],
                        *[answers.get(k, "") for k in written]])
