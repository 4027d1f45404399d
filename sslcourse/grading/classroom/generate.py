"""Keep the notebook files consistent: exercises from solutions, .ipynb from .py.

    python -m sslcourse.grading.generate            regenerate exercises/ and every .ipynb
    python -m sslcourse.grading.generate --sync     only rebuild .ipynb files from their .py
    python -m sslcourse.grading.generate --check    exit 1, listing files, if anything is stale

* ``solutions/NN_topic.py`` is the single source of an exercise: every block between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (nbgrader's markers) becomes
  ``raise NotImplementedError(...)`` in ``exercises/NN_topic.py``; in a markdown cell, a model answer
  between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` (invisible when rendered) becomes the
  written answer's placeholder (``written.PLACEHOLDER``).
* Every ``.py`` (jupytext percent format) is the source of its ``.ipynb``, written without
  outputs and with stable cell ids, so regenerating gives the same bytes (the test
  ``tests/grading/test_grader.py`` regenerates and compares — no trust in file timestamps).
* The Colab badge and the Colab install cell of every notebook are generated from
  ``pyproject.toml`` (``[project.urls] Repository`` and ``version``): the badge opens the notebook
  at the release tag ``v<version>``, and the install cell installs that release of the package
  alone — no ``[dev]`` extra, which would replace Colab's own Jupyter packages.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

FOLDERS = ("notebooks", "solutions", "exercises")
BADGE = re.compile(r"\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
                   r"\(https://colab\.research\.google\.com/github/[^)]*/(?P<folder>notebooks|exercises)/"
                   r"(?P<name>[^/)]+\.ipynb)\)")
INSTALL = re.compile(r'"sslcourse(\[[^\]]*\])? @ git\+[^"]*"')


def release(root: Path) -> tuple[str, str]:
    """(repository URL, version) from pyproject.toml: the one place the course's address and release live."""
    text = (Path(root) / "pyproject.toml").read_text()
    try:
        import tomllib

        project = tomllib.loads(text)["project"]
        return project["urls"]["Repository"].rstrip("/"), project["version"]
    except ModuleNotFoundError:  # Python 3.10: no tomllib; the two keys are simple lines
        url = re.search(r'^Repository\s*=\s*"([^"]+)"', text, re.M).group(1).rstrip("/")
        return url, re.search(r'^version\s*=\s*"([^"]+)"', text, re.M).group(1)


def colab_badge(repository: str, version: str, folder: str, name: str) -> str:
    path = repository.split("github.com/", 1)[1]
    return ("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{path}/blob/v{version}/{folder}/{name})")


def install_requirement(repository: str, version: str) -> str:
    """What the first cell installs on Colab: this release of the package, nothing else."""
    return f"sslcourse @ git+{repository}@v{version}"


def with_release(source: str, repository: str, version: str) -> str:
    """A notebook's .py source with its badge and install cell pointing at this release."""
    source = BADGE.sub(lambda m: colab_badge(repository, version, m["folder"], m["name"]), source)
    return INSTALL.sub(f'"{install_requirement(repository, version)}"', source)
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
MD_BEGIN, MD_END = "# <!-- BEGIN SOLUTION -->", "# <!-- END SOLUTION -->"  # a model answer in a markdown cell
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def make_exercise(source: str, solution_name: str) -> str:
    """The exercise text of a solution file: answers replaced by stubs, a note on top."""
    from .written import PLACEHOLDER

    out, inside, indent = [], False, ""
    for lineno, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped in (BEGIN, MD_BEGIN):
            if inside:
                raise ValueError(f"{solution_name}:{lineno}: {stripped} inside another solution block")
            inside, indent = (END if stripped == BEGIN else MD_END), line[: len(line) - len(line.lstrip())]
            if stripped == BEGIN:
                out.append(f"{indent}# YOUR CODE HERE")
                out.append(f'{indent}raise NotImplementedError("replace this line with your solution")')
            else:
                out.append(f"{indent}# {PLACEHOLDER}")
        elif stripped in (END, MD_END):
            if inside != stripped:
                raise ValueError(f"{solution_name}:{lineno}: {stripped} without its BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"{solution_name}: a solution block is never closed by {inside}")
    text = "\n".join(out) + "\n"
    note = (f"# > **Exercise notebook** generated from `solutions/{solution_name}` by `make exercises` — "
            "edit the solution, not this file. Replace each `raise NotImplementedError(...)` with your code, "
            "then run the check cell below it.\n#\n")
    return re.sub(r"(# %% \[markdown\]\n)", lambda m: m.group(1) + note, text, count=1)


def notebook_json(py_path: Path) -> str:
    """The .ipynb text for a percent-format .py: no outputs, python3 kernel, stable cell ids."""
    import jupytext

    nb = jupytext.read(py_path)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.pop("jupytext", None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return jupytext.writes(nb, fmt="ipynb")


def expected_files(root: Path) -> dict[Path, str]:
    """Every generated file and the text it should have."""
    files = {}
    repository, version = release(root)
    for folder in ("notebooks", "solutions"):  # sources too: their badge and install cell follow pyproject
        for py in sorted((root / folder).glob("[0-9][0-9]_*.py")):
            files[py] = with_release(py.read_text(), repository, version)
    for sol in sorted((root / "solutions").glob("[0-9][0-9]_*.py")):
        files[root / "exercises" / sol.name] = make_exercise(files[sol], sol.name)
    for folder in FOLDERS:
        sources = set((root / folder).glob("[0-9][0-9]_*.py"))
        if folder == "exercises":
            sources |= {p for p in files if p.suffix == ".py"}
        for py in sorted(sources):
            target = py.with_suffix(".ipynb")
            if py in files and files[py] != (py.read_text() if py.exists() else None):
                tmp = py.with_name(f".{py.stem}.gen.py")  # the .ipynb of the source as it will be written
                tmp.write_text(files[py])
                try:
                    files[target] = notebook_json(tmp)
                finally:
                    tmp.unlink()
            else:
                files[target] = notebook_json(py)
    return files


def stale(root: Path) -> list[Path]:
    """Generated files that are missing or differ from what their sources give."""
    return [p for p, text in expected_files(root).items() if not p.exists() or p.read_text() != text]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=".")
    ap.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    ap.add_argument("--sync", action="store_true",
                    help="rebuild .ipynb from .py and the Colab cells of the sources (not exercises/*.py)")
    args = ap.parse_args(argv)
    root = Path(args.root)
    if args.check:
        bad = stale(root)
        for p in bad:
            print(f"stale: {p}")
        if bad:
            print("run `make exercises` (exercises/ from solutions/, .ipynb from .py) and commit the result")
        return 1 if bad else 0
    files = expected_files(root)
    for path, text in files.items():
        if args.sync and path.suffix == ".py" and path.parent.name == "exercises":
            continue
        if not path.exists() or path.read_text() != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path}")
    # exercises without a solution any more are stale leftovers
    for folder in ("exercises",):
        for p in (root / folder).glob("[0-9][0-9]_*"):
            if p not in files and p.suffix in (".py", ".ipynb"):
                print(f"note: {p} has no source in solutions/; delete it if the exercise was removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
