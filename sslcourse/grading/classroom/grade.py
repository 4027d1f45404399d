"""``sslcourse grade PATH``: grade one submission — the exercise's checks here, the learner's code in a sandbox.

The trust boundary: this process (the grader) reads the notebook as data, turns its cells into Python,
chooses the statements that define the graded functions, builds every case's inputs, and computes every
reference and comparison. The learner's code runs only in a worker (``grading.runner``) in a sandbox the
operating system enforces (``runner/sandbox.py``): a user of its own, its own PID namespace, no network, a
read-only view of the file system in which the course, its references, ``solutions/``, hidden banks and other
submissions do not exist. The worker returns only outputs: plain tensors and numbers, bounded, no pickles.

A graded name bound to the course's own code, or a graded function that reaches it, scores 0 and is flagged
"imported the answer" — read from the source here, and seen at run time (the course is not there). The
modules an exercise allows (``helpers``: ``sslcourse.config``, and e.g. ``sslcourse.augment`` for SimCLR) are
in the sandbox and may be used.

Grading **for credit** (a folder, a gradebook, hidden tests, or ``--credit``) needs the sandbox and course
files that match their record (``integrity``); without either it refuses with what to do. A learner's
self-check runs anyway, and its report says when it was not isolated.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..checks.core import (LOST, CheckFailed, FunctionLost, GradingInputError, LearnerError, Result, _Lost,
                           check_output, plain_output, print_results,
                           run_function_cases)
from ..runner import process, sandbox, source
from .submission import display_name, exercise_of, read_submission

DEFAULT_TIMEOUT = 60.0  # CPU seconds per graded function (4× that on the clock): a busy machine stretches nothing
DEFAULT_MEMORY_GB = 2.0
LOAD_TIMEOUT = 60.0  # seconds to start Python + torch and load the definitions
WALL_FACTOR = 4  # a function's wall-clock limit, in multiples of its CPU-time limit
COURSE_MARK = "belongs to the course and is not available while grading"
LOST_FLAG = {"timeout": "timed out", "exit": "exited", "garbled": "broke the channel"}
MAX_NOTES = 20


class NotIsolated(GradingInputError):
    """Grading for credit on a machine that cannot isolate the learner's code."""


def graded_with_bank(exercise: str, tests=None) -> dict:
    """{function: (Graded, [cases])}: the public cases, then the instructor's hidden ones (``--tests``)."""
    from .. import graded_functions
    from .bank import hidden_cases

    graded = graded_functions(exercise)
    hidden = hidden_cases(tests, exercise) if tests else {}
    unknown = set(hidden) - set(graded)
    if unknown:
        raise GradingInputError(f"the test bank names functions that exercise {exercise} does not grade: "
                                f"{', '.join(sorted(unknown))}")
    return {name: (g, g.cases() + hidden.get(name, [])) for name, g in graded.items()}


# ---- the grader: settings, the sandbox, the course view ----

@dataclass
class Grader:
    """How to grade: limits, hidden tests, whether it is for credit; holds the sandbox's settings."""

    timeout: float = DEFAULT_TIMEOUT
    memory_gb: float = DEFAULT_MEMORY_GB
    tests: str | os.PathLike | None = None
    credit: bool = False
    jobs: int = 1
    hidden: tuple = ()  # more paths the learner's code must not see (the submissions, the gradebook)
    isolation: sandbox.Isolation = field(init=False)

    def __post_init__(self):
        from . import integrity

        self.isolation = sandbox.probe()
        if self.credit and not self.isolation.isolated:
            raise NotIsolated("grading for credit needs the operating system to isolate each submission, and this "
                              f"machine cannot: {self.isolation.reason}. A learner's self-check (`sslcourse grade "
                              "NOTEBOOK`) still runs, unisolated")
        self.course_note = integrity.verify(self.credit)
        self.uids = sandbox.UidPool(self.jobs) if self.isolation.mode == "root" else None
        self._views, self._lock, self._active, self.aborted = {}, threading.Lock(), set(), False

    def notes(self) -> list[str]:
        notes = [] if self.isolation.isolated else [
            f"not isolated ({self.isolation.reason}): a self-check, not a grade — the learner's code ran as you, "
            "with your files; grading for credit needs bubblewrap"]
        return notes + ([self.course_note] if self.course_note else [])

    def view(self, exercise: str) -> sandbox.View:
        """The sandbox's view for an exercise: without the course, except the modules the exercise allows."""
        from .. import helpers

        with self._lock:
            if exercise not in self._views:
                self._views[exercise] = course_view(helpers(exercise))
        hidden = [_package_root(), *self.hidden] + ([self.tests] if self.tests else [])
        solutions = _package_root().parent / "solutions"
        if solutions.is_dir():
            hidden.append(solutions.parent)
        return sandbox.View(hidden=tuple(str(h) for h in hidden), course=self._views[exercise])

    def worker(self, exercise: str, functions: int) -> process.Worker:
        """A worker for a submission (not started), with a uid of its own while it runs (root)."""
        if self.aborted:
            raise KeyboardInterrupt
        limits = sandbox.Limits(memory=int(self.memory_gb * 2**30),
                                cpu_seconds=int(LOAD_TIMEOUT + self.timeout * functions + 10))
        uid = self.uids.take() if self.uids else None
        worker = process.Worker(self.isolation, self.view(exercise), limits, uid)
        with self._lock:
            self._active.add(worker)
        return worker

    def release(self, worker: process.Worker) -> None:
        """End the worker and everything it started; its uid is free again only then."""
        worker.stop()
        with self._lock:
            self._active.discard(worker)
        if worker.uid is not None:
            self.uids.give(worker.uid)

    def abort(self) -> None:
        """Stop the batch: no new worker, and the running ones are killed (their submissions are not graded)."""
        self.aborted = True
        with self._lock:
            for worker in list(self._active):
                worker.kill()

    def close(self) -> None:
        for folder in self._views.values():
            shutil.rmtree(Path(folder).parent, ignore_errors=True)
        self._views = {}
        if self.uids is not None:
            self.uids.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _package_root() -> Path:
    return Path(__file__).resolve().parents[2]


def course_view(modules) -> str:
    """A folder holding an ``sslcourse`` package with only ``modules`` (copied from the installed course):
    what the sandbox shows at /course."""
    root = Path(tempfile.mkdtemp(prefix="sslcourse-view-"))
    os.chmod(root, 0o755)
    view = root / "course"
    package = view / "sslcourse"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The course as grading shows it: only the modules the exercise allows."""\n')
    source_root = _package_root()
    for name in modules:
        parts = name.split(".")[1:]
        src = source_root.joinpath(*parts)
        if src.is_dir():
            shutil.copytree(src, package.joinpath(*parts), ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target = package.joinpath(*parts[:-1], parts[-1] + ".py")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.with_suffix(".py"), target)
    for p in [view, *view.rglob("*")]:
        os.chmod(p, 0o755 if p.is_dir() else 0o644)
    return str(view)


# ---- the learner's function as the cases see it ----

class RemoteFunction:
    """The learner's function in the worker: ``fn(*args)``, ``fn.with_grad(...)``, ``fn.with_inputs(...)`` as
    ``checks.core.LocalFunction``; outputs come back checked."""

    def __init__(self, worker: process.Worker, name: str, returns: int, timeout: float):
        """``timeout`` seconds of CPU time for all of this function's calls (of wall time where CPU time cannot be
        read), and at most ``WALL_FACTOR`` times as long on the clock (a function that sleeps uses no CPU)."""
        self.worker, self.name, self.returns = worker, name, returns
        cpu = worker.cpu_seconds()
        self.cpu_deadline = None if cpu is None else cpu + timeout
        self.deadline = time.monotonic() + (timeout if cpu is None else WALL_FACTOR * timeout)

    def _call(self, args, kwargs, grad=(), keep_inputs=False) -> dict:
        try:
            reply = self.worker.call(self.name, [_as_data(a) for a in args],
                                     {k: _as_data(v) for k, v in kwargs.items()}, grad, keep_inputs,
                                     self.deadline, self.cpu_deadline)
        except process.Lost as lost:
            raise FunctionLost(lost.reason) from None
        if "raised" in reply:
            raise LearnerError(_learner_error(reply["raised"]))
        if "value" not in reply:
            raise FunctionLost("garbled")
        return reply

    def __call__(self, *args, **kwargs):
        return check_output(self.name, self._call(args, kwargs)["value"], self.returns)

    def with_grad(self, *args, wrt=(0,), **kwargs):
        reply = self._call(args, kwargs, grad=wrt)
        out = check_output(self.name, reply["value"], self.returns)
        return out, _grads(reply, len(wrt))

    def with_inputs(self, *args, **kwargs):
        reply = self._call(args, kwargs, keep_inputs=True)
        inputs = reply.get("inputs")
        if not isinstance(inputs, list) or len(inputs) != len(args):
            raise FunctionLost("garbled")
        return check_output(self.name, reply["value"], self.returns), [plain_output(i) for i in inputs]


def _as_data(arg):
    return arg.as_data() if hasattr(arg, "as_data") else arg


def _learner_error(info) -> dict:
    """The worker's description of an exception, kept to strings of sensible length (it is untrusted)."""
    if not isinstance(info, dict):
        info = {}
    text = {k: str(info.get(k, ""))[:400] for k in ("type", "message", "where", "text")}
    mro = info.get("mro") if isinstance(info.get("mro"), list) else []
    return {**text, "type": text["type"] or "Exception", "mro": [str(m)[:80] for m in mro[:20]],
            "stub": info.get("stub") is True, "course": info.get("course") is True}


def _grads(reply, n):
    import torch

    if "grad_error" in reply:
        raise CheckFailed(f"no gradient reaches the inputs ({str(reply['grad_error'])[:200]})")
    grads = reply.get("grads") or [None] * n
    if not isinstance(grads, list) or len(grads) != n or any(type(g) is not torch.Tensor for g in grads):
        raise CheckFailed("no gradient reaches the inputs: the result does not depend on them through torch "
                          "operations")
    return grads


# ---- grading one submission ----

def protect_grader() -> None:
    """Linux: make this process non-dumpable, so that no process of the same user (a learner's code in a
    self-check that could not be isolated) reads its environment or memory through /proc. The ``sslcourse
    grade`` command calls it; importing the module does not."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def _status_message(name: str, status: dict) -> tuple[str, str]:
    """(message for every case, flag) for a graded name that is not the learner's own function."""
    kind = status.get("status")
    if kind == "missing":
        return f"function {name} not found: keep its name and signature", "missing"
    if kind == "course":
        return (f"{name} is imported from the course ({status['origin']}), not written in your notebook: "
                "it scores 0", "imported the answer")
    if kind == "uses_course":
        return (f"{name} calls the course's {', '.join(status['origins'])}: write it yourself; it scores 0",
                "imported the answer")
    return (f"{name} must be a function written in your notebook (def or lambda); it is a "
            f"{str(status.get('type'))[:60]} from {str(status.get('module'))[:80]}", "not the learner's own function")


def _first_reply(reply: dict, functions: list[str]) -> tuple[list[str], dict]:
    """(notes, {name: status}) from the worker's first reply, which is untrusted: anything odd is garbled."""
    notes, statuses = reply.get("notes"), reply.get("functions")
    if not isinstance(notes, list) or not isinstance(statuses, dict):
        raise process.Lost("garbled")
    out = {}
    for name in functions:
        st = statuses.get(name)
        st = st if isinstance(st, dict) and st.get("status") in ("ok", "missing", "foreign") else {"status": "missing"}
        out[name] = st
    return [str(n)[:300] for n in notes[:MAX_NOTES]], out


def grade_cells(cells: list[str], exercise: str, grader: Grader | None = None, all_cells=None) -> dict:
    """Grade a notebook's code cells; returns {"exercise", "score", "max_score", "checks", "flags", "notes",
    "error", "by_hand", "isolation"}. ``all_cells`` ([(cell type, source)]) holds the written answers, listed in
    "by_hand" for the teacher with no automatic points."""
    from .. import helpers, written_questions
    from .written import by_hand

    own = grader is None
    grader = grader or Grader()
    try:
        graded = graded_with_bank(exercise, grader.tests)
        names = list(graded)
        plan = source.plan(cells, names)
        results, flags, error = {}, [], None
        notes = grader.notes() + plan.notes
        for name, status in source.course_references(plan, names, allowed=("sslcourse",) + helpers(exercise)).items():
            message, flag = _status_message(name, status)
            results[name] = [Result(name, c.name, False, message, c.hint, c.points) for c in graded[name][1]]
            flags.append(f"{flag}: {name}")
        pending = [n for n in names if n not in results]
        first = True
        while pending:
            worker = grader.worker(exercise, len(pending))
            try:
                try:
                    reply = worker.start({**plan.for_worker(), "hidden": "sslcourse"}, pending,
                                         time.monotonic() + max(LOAD_TIMEOUT, grader.timeout))
                    loaded_notes, statuses = _first_reply(reply, pending)
                except process.Lost as lost:
                    tail = worker.output_tail().splitlines()[-1:] or [""]
                    error = (f"the notebook's definitions did not load: the worker {LOST.get(lost.reason, lost.reason)}"
                             + (f" ({tail[0][:200]})" if tail[0] else ""))
                    for name in pending:
                        results[name] = [Result(name, c.name, False, error, c.hint, c.points) for c in graded[name][1]]
                    flags.append("did not load")
                    break
                if first:
                    notes += loaded_notes
                    first = False
                while pending:
                    name = pending.pop(0)
                    cases = graded[name][1]
                    if statuses[name]["status"] != "ok":
                        message, flag = _status_message(name, statuses[name])
                        results[name] = [Result(name, c.name, False, message, c.hint, c.points) for c in cases]
                        flags.append(f"{flag}: {name}")
                        continue
                    fn = RemoteFunction(worker, name, graded[name][0].returns, grader.timeout)
                    try:
                        results[name] = run_function_cases(name, fn, cases)
                    except _Lost as lost:
                        results[name] = lost.results
                        flags.append(f"{LOST_FLAG[lost.reason]}: {name}")
                        break  # a fresh worker for the functions left
            finally:
                grader.release(worker)
        for name in graded:
            if any(COURSE_MARK in r.message for r in results.get(name, [])) and f"imported the answer: {name}" not in flags:
                flags.append(f"imported the answer: {name}")
        checks = [r for name in graded for r in results.get(name, [])]
        return {"exercise": exercise, "score": sum(r.points for r in checks if r.passed),
                "max_score": sum(r.points for r in checks), "error": error, "flags": flags, "notes": notes,
                "checks": [asdict(r) for r in checks], "by_hand": by_hand(all_cells or [], written_questions(exercise)),
                "isolation": grader.isolation.describe()}
    finally:
        if own:
            grader.close()


def grade_path(path, exercise: str | None = None, grader: Grader | None = None, **settings) -> dict:
    """Grade ``path`` (.ipynb or .py) with the learner's code in a sandbox; returns the report as a dict.
    ``settings`` (timeout, memory_gb, tests, credit) make a ``Grader`` when none is given."""
    from .. import EXERCISES

    path = Path(path)
    exercise = exercise or exercise_of(path)
    if exercise is None:
        raise GradingInputError(f"cannot tell the exercise from {display_name(path.name)!r}: name it NN_topic.ipynb "
                                "or pass --exercise NN")
    if exercise not in EXERCISES:
        raise GradingInputError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    submission = read_submission(path)
    own = grader is None
    grader = grader or Grader(**settings)
    try:
        return {"path": display_name(str(path)), **grade_cells(submission.code, exercise, grader, submission.cells)}
    finally:
        if own:
            grader.close()


def error_report(path, message: str, exercise: str | None = None) -> dict:
    """The report of a file that could not be graded at all (the JSON that ``--json`` prints)."""
    return {"path": display_name(str(path or "")), "exercise": exercise or exercise_of(Path(path or "")), "score": 0,
            "max_score": 0, "error": message, "flags": ["could not be graded"], "notes": [], "checks": [],
            "by_hand": []}


def print_report(report: dict) -> None:
    from .. import EXERCISES
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
