"""``sslcourse grade PATH``: load a learner's graded functions and check them in a subprocess.

Only definitions are taken from the notebook — imports, functions, classes and constant
assignments — so grading does not re-run a notebook's training cells. The checks run in
a child process with a time limit: an infinite loop costs the learner that check, not
the grader.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .core import Report, Result, print_results, run_cases

MARKER = "@@SSLCOURSE-REPORT@@"
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def exercise_of(path: Path) -> str | None:
    m = re.match(r"(\d\d)_", Path(path).name)
    return m.group(1) if m else None


def read_cells(path: Path) -> list[str]:
    """The code cells of a notebook, or the whole of a .py file as one cell."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix == ".ipynb":
        import nbformat

        nb = nbformat.read(path, as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "code"]
    if path.suffix == ".py":
        return [path.read_text()]
    raise ValueError(f"{path}: grade a notebook (.ipynb) or a script (.py)")


def _strip_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: keep the line count, drop the command."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append(line[: len(line) - len(stripped)] + "pass" if stripped[:1] in ("%", "!") else line)
    return "\n".join(lines)


def _is_constant_assignment(node) -> bool:
    if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
        return False
    try:
        ast.literal_eval(node.value)
        return True
    except ValueError:
        return False


def definitions(cells: list[str], filename: str):
    """[(compiled code, cell number)] holding only the definitions of each cell; skipped cells noted."""
    compiled, skipped = [], []
    for i, source in enumerate(cells):
        try:
            tree = ast.parse(_strip_magics(source))
        except SyntaxError as err:
            skipped.append(f"cell {i + 1} has a syntax error (line {err.lineno}: {err.msg}) and was skipped")
            continue
        body = [n for n in tree.body if isinstance(n, _KEEP) or _is_constant_assignment(n)]
        if body:
            module = ast.Module(body=body, type_ignores=[])
            compiled.append((compile(module, f"{filename} [cell {i + 1}]", "exec"), i + 1))
    return compiled, skipped


def load_namespace(path: Path) -> tuple[dict, list[str]]:
    namespace = {"__name__": "__learner__"}
    compiled, notes = definitions(read_cells(path), str(path))
    for code, cell in compiled:
        try:
            exec(code, namespace)
        except Exception as err:
            notes.append(f"cell {cell} raised {type(err).__name__}: {err} while defining functions")
    return namespace, notes


def _grade_here(path: Path, exercise: str) -> Report:
    from . import graded_functions

    report = Report(exercise=exercise)
    namespace, notes = load_namespace(path)
    for note in notes:
        print(f"note: {note}")
    for name, cases in graded_functions(exercise).items():
        fn = namespace.get(name)
        if fn is None:
            report.results += [Result(name, c.name, False,
                                      f"function {name} not found in {path.name}: keep its name and signature",
                                      c.hint) for c in cases()]
        else:
            report.results += run_cases(name, fn, cases())
    return report


def grade_path(path, exercise: str | None = None, timeout: float = 120) -> dict:
    """Grade ``path`` in a subprocess; returns {"score", "max_score", "checks", "error", ...}."""
    path = Path(path)
    exercise = exercise or exercise_of(path)
    if exercise is None:
        raise ValueError(f"cannot tell the exercise from {path.name!r}: name it NN_topic.ipynb or pass --exercise NN")
    from . import EXERCISES

    if exercise not in EXERCISES:
        raise ValueError(f"unknown exercise {exercise!r}: known are {', '.join(EXERCISES)}")
    read_cells(path)  # fail here, clearly, on a missing or unsupported file
    cmd = [sys.executable, "-m", "sslcourse.grading.runner", "--worker", str(path), "--exercise", exercise]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "MPLBACKEND": "Agg"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"path": str(path), "exercise": exercise, "score": 0, "max_score": _max_score(exercise),
                "checks": [], "notes": [],
                "error": f"grading stopped after {timeout:.0f} s: is there an infinite loop or a very slow function?"}
    notes = [line[6:] for line in proc.stdout.splitlines() if line.startswith("note: ")]
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            report = json.loads(line[len(MARKER):])
            return {"path": str(path), **report, "notes": notes}
    err = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"path": str(path), "exercise": exercise, "score": 0, "max_score": _max_score(exercise), "checks": [],
            "notes": notes, "error": f"the grader could not run your file: {err}"}


def _max_score(exercise: str) -> int:
    from . import graded_functions

    return sum(len(cases()) for cases in graded_functions(exercise).values())


def print_report(report: dict) -> None:
    from . import EXERCISES

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
    print(f"Score: {report['score']}/{report['max_score']}")


def _worker(path: str, exercise: str) -> None:
    import torch

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    report = _grade_here(Path(path), exercise)
    print(MARKER + json.dumps(report.to_dict()))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--exercise", required=True)
    a = ap.parse_args()
    _worker(a.worker, a.exercise)
