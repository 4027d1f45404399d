"""``sslcourse grade PATH``: grade a learner's notebook with the learner's code kept in an isolated worker.

The trust boundary
------------------
This process (the *parent*) reads the notebook as JSON (nothing of it is executed here), builds every
case's inputs, and computes every reference and every comparison itself. The learner's code runs only in a
worker process (``worker.py``, started by ``sandbox.Worker``: ``python -I``, fresh temporary folder,
minimal environment, its own process group killed at the end, memory/CPU limits, no file writes). The
worker loads the notebook's definitions and, on request, runs one learner function on inputs the parent
sent, returning the raw output, which the parent reads with ``torch.load(weights_only=True)`` and accepts
only as plain ``torch.Tensor`` objects. The score is counted here from the list of cases.

So nothing the learner's code does in its own process earns a point: patching the checks, printing a
report, exiting early, writing to the pipe, a tensor subclass, mutating inputs — none of it reaches the
parent's inputs, references or comparisons. Code that detects "grading mode" (it can: ``sys.argv``, the
missing IPython kernel, the environment) can only change what it returns for the parent's inputs, and only
correct outputs score. In the worker ``sslcourse`` itself is replaced by placeholders, so a graded name
bound to something of the course, or a learner function that reaches one, is reported ("imported the
answer") and scores 0 for that function.

The limit, honestly: the worker runs as the same user as the grader. It cannot write file contents
(RLIMIT_FSIZE = 0), and the course's own files are checked after every worker (a deleted or renamed-away
file is restored and the submission flagged), but a submission written to attack the machine could still
delete or rename other files that user may touch, read what that user may read (for root: even the
parent's /proc entries), or find and execute the course's source from disk on purpose — which copies an
answer that solutions/ publishes anyway. For credit, run the batch as a user who cannot write to the Python
installation, or in a container (otter-grader / Gradescope do).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from dataclasses import asdict

from .core import LOST, FunctionLost, GradingInputError, Result, _Lost, print_results, run_function_cases
from .sandbox import DEFAULT_MEMORY_GB, RemoteFunction, Worker

DEFAULT_TIMEOUT = 60.0  # CPU seconds per graded function (4× that on the clock): a busy machine stretches nothing
LOAD_TIMEOUT = 60.0  # seconds to start Python + torch and load the definitions
TAMPERED = "modified the course's files"
COURSE_MARK = "belongs to the course and is not available while grading"
LOST_FLAG = {"timeout": "timed out", "exit": "exited", "garbled": "broke the channel"}


def exercise_of(path: Path) -> str | None:
    m = re.match(r"(\d\d)_", Path(path).name)
    return m.group(1) if m else None


def _source(cell, path, i) -> str:
    src = cell.get("source", cell.get("input", ""))
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    raise GradingInputError(f"{path}: cell {i} has a malformed source ({type(src).__name__}): re-save the "
                            "notebook from Jupyter")


def _notebook(text: str, path) -> tuple[dict, list]:
    """The notebook's JSON and its list of cells (nbformat 4, or 3 with worksheets); clear errors otherwise."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        raise GradingInputError(f"{path} is not a notebook: not valid JSON ({err.msg} at line {err.lineno}, "
                                f"column {err.colno}); re-save it from Jupyter or download it again") from None
    if not isinstance(nb, dict):
        raise GradingInputError(f"{path} is not a notebook: the JSON is a {type(nb).__name__}, not an object "
                                "with a 'cells' list; hand in the .ipynb saved by Jupyter")
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise GradingInputError(f"{path} is not a notebook: it has no 'cells' list; hand in the .ipynb saved by "
                                "Jupyter (File → Download in Colab)")
    return nb, cells


def cells_of_notebook(text: str, path) -> list[str]:
    """The code cells of a notebook's JSON text (nbformat 4, or 3 with worksheets)."""
    _, cells = _notebook(text, path)
    return [_source(c, path, i) for i, c in enumerate(cells, 1)
            if isinstance(c, dict) and c.get("cell_type") == "code"]


def _text(path) -> str:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.is_dir():
        raise GradingInputError(f"{path} is a folder, not a notebook: give a .ipynb or .py file (or a folder "
                                "without a notebook-like suffix to grade every submission in it)")
    if path.suffix not in (".ipynb", ".py"):
        raise GradingInputError(f"{path}: grade a notebook (.ipynb) or a script (.py)")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise GradingInputError(f"{path} is not UTF-8 text (byte {err.start}): save it as UTF-8 "
                                "(notebooks saved by Jupyter always are)") from None


def read_submission(path) -> tuple[list[str], list[tuple[str, str]]]:
    """(the code cells, every cell as (cell type, source)) of a notebook; a .py file is one code cell to run,
    and its jupytext "# %% [markdown]" cells are read for the written answers. Clear errors for anything else."""
    from .written import cells_of_percent_script, typed_cells_of_notebook

    path = Path(path)
    text = _text(path)
    if path.suffix == ".ipynb":
        nb, _ = _notebook(text, path)
        return cells_of_notebook(text, path), typed_cells_of_notebook(nb)
    return [text], cells_of_percent_script(text)


def read_cells(path) -> list[str]:
    """The code cells of a notebook, or the whole of a .py file as one cell; clear errors for anything else."""
    return read_submission(path)[0]


# ---- the course's own files: a submission cannot write to files (RLIMIT_FSIZE = 0), but it could delete or
# rename them; after each worker, every file of the package must still be there (missing ones are restored
# and the submission flagged). Contents are not compared: an instructor editing the course while a batch runs
# must not have the edit reverted, nor a submission blamed for it.

_SNAPSHOT: dict | None = None


def _check_course_files() -> bool:
    """True if every file of the course's package is still in place (restored if not)."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        root = Path(__file__).resolve().parents[1]
        _SNAPSHOT = {p: p.read_bytes() for p in sorted(root.rglob("*.py"))}
        return True
    intact = True
    for p, data in _SNAPSHOT.items():
        if not p.exists():
            intact = False
            try:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(data)
            except OSError:
                pass
    return intact


# ---- grading ----

def graded_with_bank(exercise: str, tests=None) -> dict:
    """{function: (Graded, [cases])}: the public cases, then the instructor's hidden ones (``--tests``)."""
    from . import graded_functions
    from .bank import hidden_cases

    graded = graded_functions(exercise)
    hidden = hidden_cases(tests, exercise) if tests else {}
    unknown = set(hidden) - set(graded)
    if unknown:
        raise GradingInputError(f"the test bank names functions that exercise {exercise} does not grade: "
                                f"{', '.join(sorted(unknown))}")
    return {name: (g, g.cases() + hidden.get(name, [])) for name, g in graded.items()}


def _status_message(name: str, status: dict) -> tuple[str, str]:
    """(message for every case, flag) for a graded name that is not the learner's own function."""
    kind = status["status"]
    if kind == "missing":
        return f"function {name} not found: keep its name and signature", "missing"
    if kind == "course":
        return (f"{name} is imported from the course ({status['origin']}), not written in your notebook: "
                "it scores 0", "imported the answer")
    if kind == "uses_course":
        return (f"{name} calls the course's {', '.join(status['origins'])}: write it yourself; it scores 0",
                "imported the answer")
    return (f"{name} must be a function written in your notebook (def or lambda); it is a {status['type']} from "
            f"{status['module']}", "not the learner's own function")


def grade_cells(cells: list[str], exercise: str, timeout: float = DEFAULT_TIMEOUT, tests=None,
                memory_gb: float = DEFAULT_MEMORY_GB, check_files: bool = True, all_cells=None) -> dict:
    """Grade a notebook's code cells; returns {"score", "max_score", "checks", "flags", "notes", "error",
    "by_hand"}. ``all_cells`` ([(cell type, source)], from ``read_submission``) holds the written answers,
    listed in "by_hand" for the teacher with no automatic points.

    ``check_files=False`` leaves the check of the course's files to the caller (the batch does it, as it
    knows which submissions ran at the same time)."""
    from . import written_questions
    from .written import by_hand

    graded = graded_with_bank(exercise, tests)
    if check_files:
        _check_course_files()
    results, notes, flags, error = {}, [], [], None
    pending = list(graded)
    first = True
    while pending:
        worker = Worker(cells, pending, memory_gb, cpu_seconds=int(LOAD_TIMEOUT + timeout * len(pending) + 10))
        # RLIMIT_CPU is a backstop for the whole worker (and any child it leaves behind)
        try:
            try:
                loaded = worker.start(time.monotonic() + max(LOAD_TIMEOUT, timeout))
            except FunctionLost as lost:
                reason = lost.reason
                tail = worker.output_tail().splitlines()[-1:] or [""]
                error = (f"the notebook's definitions did not load: the worker {LOST.get(reason, reason)}"
                         + (f" ({tail[0][:200]})" if tail[0] else ""))
                for name in pending:
                    results[name] = [Result(name, c.name, False, error, c.hint, c.points) for c in graded[name][1]]
                flags.append("did not load")
                break
            if first:
                notes += loaded["notes"]
                first = False
            while pending:
                name = pending.pop(0)
                cases = graded[name][1]
                status = loaded["functions"].get(name, {"status": "missing"})
                if status["status"] != "ok":
                    message, flag = _status_message(name, status)
                    results[name] = [Result(name, c.name, False, message, c.hint, c.points) for c in cases]
                    flags.append(f"{flag}: {name}")
                    continue
                fn = RemoteFunction(worker, name, graded[name][0].returns, timeout)
                try:
                    results[name] = run_function_cases(name, fn, cases)
                except _Lost as lost:
                    results[name] = lost.results
                    flags.append(f"{LOST_FLAG[lost.reason]}: {name}")
                    break  # a fresh worker for the functions left
        finally:
            worker.stop()
            if check_files and not _check_course_files():
                flags.append(TAMPERED)
    for name in graded:
        if any(COURSE_MARK in r.message for r in results.get(name, [])) and f"imported the answer: {name}" not in flags:
            flags.append(f"imported the answer: {name}")
    report = {"exercise": exercise, "error": error, "flags": flags, "notes": notes,
              "checks": [r for name in graded for r in results.get(name, [])],
              "by_hand": by_hand(all_cells or [], written_questions(exercise))}
    return finish(report)


def finish(report: dict) -> dict:
    """Score a report from its list of cases; a submission that changed the course's files scores 0."""
    checks = report["checks"]
    if TAMPERED in report["flags"]:
        report["error"] = "the submission changed the course's files (they were restored); it scores 0"
        for r in checks:
            r.passed = False
    return {"exercise": report["exercise"], "score": sum(r.points for r in checks if r.passed),
            "max_score": sum(r.points for r in checks), "error": report["error"], "flags": report["flags"],
            "notes": report["notes"], "checks": [asdict(r) for r in checks], "by_hand": report.get("by_hand", [])}


def mark_tampered(report: dict) -> dict:
    """A graded report (dict) of a submission found to have changed the course's files: flagged, scored 0."""
    if TAMPERED not in report["flags"]:
        report["flags"].append(TAMPERED)
    report["error"] = "the submission changed the course's files (they were restored); it scores 0"
    for c in report["checks"]:
        c["passed"] = False
    report["score"] = 0
    return report


def grade_path(path, exercise: str | None = None, timeout: float = DEFAULT_TIMEOUT, tests=None,
               memory_gb: float = DEFAULT_MEMORY_GB) -> dict:
    """Grade ``path`` (.ipynb or .py) with an isolated worker; returns the report as a dict."""
    from . import EXERCISES

    path = Path(path)
    exercise = exercise or exercise_of(path)
    if exercise is None:
        raise GradingInputError(f"cannot tell the exercise from {path.name!r}: name it NN_topic.ipynb or pass "
                                "--exercise NN")
    if exercise not in EXERCISES:
        raise GradingInputError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    cells, all_cells = read_submission(path)
    return {"path": str(path), **grade_cells(cells, exercise, timeout, tests, memory_gb, all_cells=all_cells)}


def error_report(path, message: str, exercise: str | None = None) -> dict:
    """The report of a file that could not be graded at all (the JSON that ``--json`` prints)."""
    return {"path": str(path), "exercise": exercise or exercise_of(Path(path or "")), "score": 0, "max_score": 0, "error": message,
            "flags": ["could not be graded"], "notes": [], "checks": [], "by_hand": []}


def print_report(report: dict) -> None:
    from . import EXERCISES
    from .written import print_by_hand

    title = EXERCISES.get(report.get("exercise"), ("", ""))[1]
    print(f"Exercise {report.get('exercise')}: {title} — {report.get('path')}")
    for note in report.get("notes", []):
        print(f"  note: {note}")
    by_function: dict = {}
    for c in report.get("checks", []):
        by_function.setdefault(c["function"], []).append(Result(**c))
    for function, results in by_function.items():
        print_results(results, f"{function}:")
    if report.get("error"):
        print(f"  ✘ {report['error']}")
    if report.get("flags"):
        print(f"  flags: {'; '.join(report['flags'])}")
    print_by_hand(report.get("by_hand", []))
    print(f"Score: {report['score']}/{report['max_score']}" + (" (written answers not included: graded by hand)"
                                                               if report.get("by_hand") else ""))
