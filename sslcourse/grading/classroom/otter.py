"""Export the exercises as otter-grader assignments: ``sslcourse export-otter NN|all OUTDIR``.

For each exercise this writes ``OUTDIR/NN_topic/NN_topic.ipynb``, an otter *master notebook*: the solution
notebook with otter's cells around every graded function — ``# BEGIN QUESTION`` (one question per function),
``# BEGIN SOLUTION`` (the answer, between otter's ``# BEGIN/END SOLUTION`` lines, which ``otter assign``
replaces by ``...`` in the student version) and ``# BEGIN TESTS``: one exception-based test per case of the
course's grader, each worth its points. A written answer becomes an otter manual question worth 0 points
(graded by hand; its model answer is dropped from the student version). A test calls ``sslcourse.grading.classroom.otter.check``, which runs the same
cases as ``sslcourse grade`` (value cases gate property cases, the hints come along as failure messages).

Then, in OUTDIR/NN_topic::

    otter assign NN_topic.ipynb dist                 # dist/student/ for learners, dist/autograder/*.zip
    otter run -a dist/autograder/*.zip SUBMISSION.ipynb   # local grading, no container

On Gradescope, upload the autograder zip as a programming assignment ("Otter" in README). Otter runs the
learner's notebook in its own container; this module only supplies the checks.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .. import EXERCISES, graded_functions
from .written import SOLUTION

REQUIREMENT = "sslcourse @ git+https://github.com/sslcourse/sslcourse"
_RESULTS: dict = {}


def check(exercise: str, function: str, index: int, fn) -> None:
    """The otter test for case ``index`` of ``function``: raises AssertionError with the message and hint."""
    from ..checks.core import run_cases

    g = graded_functions(exercise)[function]
    key = (exercise, function, id(fn))
    if key not in _RESULTS or _RESULTS[key][0] is not fn:
        _RESULTS[key] = (fn, run_cases(function, fn, g.cases(), g.returns))
    r = _RESULTS[key][1][index]
    if not r.passed:
        raise AssertionError(f"{r.name}: {r.message}" + (f" — hint: {r.hint}" if r.hint else ""))


def _raw(text: str) -> dict:
    return {"cell_type": "raw", "metadata": {}, "source": text}


def _code(text: str, tags=()) -> dict:
    meta = {"tags": list(tags)} if tags else {}
    return {"cell_type": "code", "metadata": meta, "source": text, "outputs": [], "execution_count": None}


def _test_cell(exercise: str, function: str, index: int, name: str, points: int) -> dict:
    return _code(f'""" # BEGIN TEST CONFIG\npoints: {points}\nhidden: false\nfailure_message: "{_yaml(name)}"\n'
                 f'""" # END TEST CONFIG\n'
                 f"def test_{function}_{index}({function}):\n"
                 f"    from sslcourse.grading.classroom.otter import check\n"
                 f"    check({exercise!r}, {function!r}, {index}, {function})\n")


def _yaml(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def master_notebook(exercise: str, solution: Path) -> dict:
    """The otter master notebook of an exercise, built from its solution notebook (.ipynb)."""
    nb = json.loads(Path(solution).read_text(encoding="utf-8"))
    graded = graded_functions(exercise)
    config = (f"# ASSIGNMENT CONFIG\nname: {solution.stem}\nrequirements: requirements.txt\n"
              "export_cell: false\ncheck_all_cell: false\ninit_cell: false\ngenerate: true\n"
              "tests:\n  ok_format: false\n")
    cells = [_raw(config)]
    written = 0
    for cell in nb["cells"]:
        source = _source(cell)
        if cell.get("cell_type") == "markdown" and SOLUTION.search(source):
            # a written answer: an otter manual question (graded by hand, as in ``written``), whose model
            # answer otter drops from the student version; the prompt is the cell before
            prompt = cells.pop() if cells and cells[-1].get("cell_type") == "markdown" else None
            written += 1
            cells.append(_raw(f"# BEGIN QUESTION\nname: written_{written}\nmanual: true\npoints: 0\n"))
            if prompt is not None:
                cells.append(prompt)
            cells.append(_raw("# BEGIN SOLUTION"))
            cells.append({"cell_type": "markdown", "metadata": {}, "source": SOLUTION.sub("", source).strip()})
            cells.append(_raw("# END SOLUTION"))
            cells.append(_raw("# END QUESTION"))
            continue
        defined = [name for name in graded if re.search(rf"^def {name}\(", source, flags=re.M)]
        if cell.get("cell_type") != "code" or "### BEGIN SOLUTION" not in source or not defined:
            cells.append({k: v for k, v in cell.items() if k != "id"})
            continue
        name = defined[0]
        cases = graded[name].cases()
        cells.append(_raw(f"# BEGIN QUESTION\nname: {name}\npoints: {[c.points for c in cases]}\n"))
        cells.append(_raw("# BEGIN SOLUTION"))
        cells.append(_code(source.replace("### BEGIN SOLUTION", "# BEGIN SOLUTION")
                           .replace("### END SOLUTION", "# END SOLUTION"), cell.get("metadata", {}).get("tags", ())))
        cells.append(_raw("# END SOLUTION"))
        cells.append(_raw("# BEGIN TESTS"))
        cells += [_test_cell(exercise, name, i, c.name, c.points) for i, c in enumerate(cases)]
        cells.append(_raw("# END TESTS"))
        cells.append(_raw("# END QUESTION"))
    for i, cell in enumerate(cells):
        cell["id"] = f"otter-{i:03d}"
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    return {"cells": cells, "metadata": nb.get("metadata", {}), "nbformat": 4, "nbformat_minor": 5}


def solutions_folder() -> Path:
    folder = Path(__file__).resolve().parents[3] / "solutions"
    if not folder.is_dir():
        raise FileNotFoundError(f"no solutions/ beside the package ({folder}): export from a clone of the course")
    return folder


def export_otter(exercise: str, out: Path, solutions: Path | None = None) -> list[Path]:
    """Write OUT/NN_topic/{NN_topic.ipynb, requirements.txt} for one exercise (or "all"); returns the notebooks."""
    numbers = list(EXERCISES) if exercise == "all" else [exercise]
    for nn in numbers:
        if nn not in EXERCISES:
            raise ValueError(f"unknown exercise {nn!r}: known are {', '.join(EXERCISES)}, or all")
    solutions = Path(solutions) if solutions else solutions_folder()
    written = []
    for nn in numbers:
        matches = sorted(solutions.glob(f"{nn}_*.ipynb"))
        if not matches:
            raise FileNotFoundError(f"no solutions/{nn}_*.ipynb in {solutions}")
        solution = matches[0]
        folder = Path(out) / solution.stem
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "requirements.txt").write_text(REQUIREMENT + "\n")
        path = folder / solution.name
        path.write_text(json.dumps(master_notebook(nn, solution), indent=1, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        written.append(path)
    return written
