"""Build the course's website (`make site`) from the lessons `make run` executed: nothing is executed again.

    python docs/build_site.py [EXECUTED] [--out build/site] [--allow-missing]

EXECUTED is the folder of executed lessons, `build/notebooks` by default (what `make run` writes, with `run.json`
and `results/` beside it). The site holds a home page (what the course teaches, the lessons, how to run them, what
produced this build's outputs), every lesson with its outputs and figures, the exercises (the student versions),
the results the lessons recorded and `BENCHMARKS.md`, and an API reference from the package's docstrings.

Before Sphinx runs, each lesson is checked and a problem stops the build with the lesson named: a lesson that
raised or stopped early, an executed copy older than its source (run `make run` again), a lesson not executed at
all (`--allow-missing` shows it without outputs instead), an exercise that holds a solution. Sphinx then runs with
warnings as errors (`-W --keep-going`): a broken cross-reference or a missing figure fails the build, and the
message names the page (and the notebook's cell).

The repository and release in every badge, install cell and link come from pyproject.toml, as for the notebooks
(`sslcourse.grading.generate.release`).
"""
from __future__ import annotations

import argparse
import json
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))

import nbformat  # noqa: E402

from sslcourse.grading.generate import BEGIN, install_requirement, release, with_release  # noqa: E402

NUMBERED = "[0-9][0-9]_*.ipynb"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"  # served locally: the site works offline
SOLUTION_MARKERS = (BEGIN, "<!-- BEGIN SOLUTION -->")  # generate.py's, in a code and in a markdown cell
EXERCISE_NOTE = re.compile(r"^> \*\*Exercise notebook\*\* generated from .*\n\n?", re.M)  # for authors, not readers


class SiteError(Exception):
    """A problem that stops the build: it names the file and says what to do."""


def title_of(nb, path: Path) -> str:
    """The page title: the notebook's first `# ` heading."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    raise SiteError(f"{path}: no title (a markdown cell with a '# ' heading): every page needs one")


def short_title(title: str) -> str:
    """'00 — Introduction: …' -> 'Introduction: …'; 'Exercise 00 — the kNN …' -> 'the kNN …'."""
    return re.sub(r"^(Exercise )?\d\d\s*[—–-]\s*", "", title)


def sources(nb, release_: tuple[str, str]) -> list[tuple[str, str]]:
    """The cells' text, with badges and install cells at one release: a fork needs no new run for its address."""
    return [(cell.cell_type, with_release(cell.source, *release_)) for cell in nb.cells]


def lesson_problems(executed, source, name: str, release_: tuple[str, str]) -> list[str]:
    """What keeps an executed lesson off the site: it failed, stopped early, or was run from another version."""
    problems = []
    status = executed.metadata.get("sslcourse", {}).get("status", "ok")
    if status != "ok":
        problems.append(f"{name}: `make run` recorded {status}")
    for i, cell in enumerate(executed.cells):
        if cell.cell_type != "code":
            continue
        allowed = "raises-exception" in cell.metadata.get("tags", [])
        for out in cell.get("outputs", []):
            if out.output_type == "error" and not allowed:
                problems.append(f"{name}: cell {i} raised {out.ename}: {out.evalue.strip()[:300]}")
        if cell.source.strip() and cell.execution_count is None:
            problems.append(f"{name}: cell {i} and the ones after it never ran (the lesson stopped before them)")
            break
    ran, now = sources(executed, release_), sources(source, release_)
    if ran != now:
        changed = next((i for i, (a, b) in enumerate(zip(ran, now)) if a != b), min(len(ran), len(now)))
        problems.append(f"{name}: the executed copy was run from another version of notebooks/{name} (cell "
                        f"{changed} differs): run `make run` again")
    return problems


def with_this_release(nb, repository: str, version: str):
    """Every badge and install cell pointing at pyproject.toml's repository and release; the badge image local."""
    for cell in nb.cells:
        cell.source = with_release(cell.source, repository, version).replace(BADGE_IMAGE, "/colab-badge.svg")
    return nb


def add_to_title_cell(nb, markdown: str) -> None:
    """Append to the cell that holds the title (a cell of its own would shift the cell numbers in messages)."""
    cell = next(c for c in nb.cells if c.cell_type == "markdown" and any(line.startswith("# ")
                                                                          for line in c.source.splitlines()))
    cell.source = cell.source.rstrip("\n") + "\n\n" + markdown


def sphinx_messages(text: str, src: Path) -> str:
    """Sphinx's warnings with the staged copies' paths made the course's: ``notebooks/04_simclr.ipynb, cell 12``
    (counted from 0, as in the messages above) instead of ``…/src/notebooks/04_simclr.ipynb:130002``."""
    def cell(m):
        line = int(m["line"])
        return f"{m['path']}, cell {line // 10000 - 1}:" if line >= 10000 else m[0]

    text = re.sub(rf"{re.escape(str(src))}/(?P<path>[\w/.-]+\.ipynb):(?P<line>\d+):", cell, text)
    return text.replace(f"{src}/", "")


def describe_run(record: dict | None) -> str:
    """One sentence on what produced a lesson's outputs (course.run_record)."""
    if not record:
        return "This notebook carries no record of how it was executed (it was not run by `make run`)."
    smoke = (" in **smoke** mode — a few optimiser steps: the code ran, its numbers mean nothing —"
             if record.get("smoke") else "")
    return (f"The outputs below come from `make run`: the **{record['profile']}** profile "
            f"({record['dataset']}, {record['backbone']}){smoke} on {record['device']} ({record['machine']}) in "
            f"{record['precision']}; torch {record['torch']}, sslcourse {record['sslcourse']}, "
            f"commit `{record['commit']}`, {record['date']}.")


NOT_EXECUTED = "not executed in this build"


def lesson_header(name: str, record: dict | None, exercise: tuple[str, str] | None, executed: bool = True) -> str:
    if executed:
        seconds = f" The lesson ran in {record['seconds']:.0f} s." if record and "seconds" in record else ""
        about = describe_run(record) + seconds
    else:
        about = (f"This lesson was {NOT_EXECUTED}: you see its code without outputs. `make run` (or `sslcourse "
                 f"course --only {name[:2]}`) executes it, and `make site` then shows what it prints and draws.")
    links = [f"{{download}}`Download the notebook <../_downloads_src/notebooks/{name}>` (without outputs, to run)"]
    if exercise:
        links.append(f"its exercise: [{exercise[1]}](../exercises/{exercise[0]})")
    return (f":::{{admonition}} How this page was made\n:class: {'tip' if executed else 'warning'}\n{about}\n\n"
            + " · ".join(links) + "\n:::\n")


def exercise_header(name: str, lesson: tuple[str, str] | None) -> str:
    after = f" It follows the lesson [{lesson[1]}](../notebooks/{lesson[0]})." if lesson else ""
    return (":::{admonition} Your turn\n:class: note\n"
            "This is the student version: replace each `raise NotImplementedError(...)` with your code, then run "
            "the check cell below it, which tells you which cases pass. Open it in Colab (the badge above) or "
            f"{{download}}`download the notebook <../_downloads_src/exercises/{name}>`; "
            f"`sslcourse grade {name}` grades it from a terminal.{after}\n:::\n")


def build_summary(records: dict[str, dict | None]) -> str:
    """The home page's account of what produced the outputs: one sentence, or one line per lesson where they differ."""
    keys = ("profile", "smoke", "dataset", "backbone", "device", "machine", "precision", "torch", "sslcourse", "commit")
    kinds = {tuple(r.get(k) for k in keys) if r else None for r in records.values()}
    if len(kinds) == 1:
        first = next(iter(records.values()))
        if first:
            dates = sorted(r["date"] for r in records.values())
            first = {**first, "date": dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"}
        return describe_run(first).replace("The outputs below come", "The lessons' outputs come")
    lines = ["The lessons were executed by different runs:", ""]
    lines += [f"- {name}: " + describe_run(r).replace("The outputs below come", "its outputs come")
              .replace("This notebook carries", "it carries") for name, r in records.items()]
    return "\n".join(lines)


def results_page(results: Path, staged: set[str]) -> str:
    """The leaderboard of this build: every staged lesson's recorded protocol numbers."""
    rows = []
    for path in sorted(results.glob("*.json")) if results.is_dir() else []:
        data = json.loads(path.read_text())
        if not isinstance(data, dict) or data.get("lesson") not in staged:
            continue  # run.json, or results of a lesson that is not on this site
        link = f"[{data['lesson'][:2]}](notebooks/{data['lesson']}.ipynb)"
        for encoder, r in data.get("results", {}).items():
            cells = [f"{100 * r[k]:.1f} %" if isinstance(r.get(k), (int, float)) else "–"
                     for k in ("knn_accuracy", "linear_probe_accuracy")]
            rows.append(f"| {link} | {encoder} | {cells[0]} | {cells[1]} |")
    table = ("| lesson | encoder | kNN | linear probe |\n| --- | --- | ---: | ---: |\n" + "\n".join(rows)
             if rows else "No lesson recorded results in this run.")
    return ("# Results of this build\n\nWhat each lesson measured in the run these pages show: the accuracy of every "
            "encoder it trained on the test split, by a k-nearest-neighbour vote and by a linear probe on its frozen "
            "features (the course's shared protocol). Lesson 08 puts all methods side by side; `BENCHMARKS.md` "
            "(next page) has the measurements over seeds, profiles and machines.\n\n" + table + "\n")


def api_pages(src: Path) -> list[str]:
    """One page per module of the package (the grading references excepted: they hold the exercises' answers)."""
    import sslcourse

    modules = ["sslcourse"] + sorted(m.name for m in pkgutil.walk_packages(sslcourse.__path__, "sslcourse.")
                                     if m.name != "sslcourse.__main__" and not m.name.startswith("sslcourse.grading."))
    (src / "api").mkdir()
    for name in modules:
        heading = f"``{name}``"  # reStructuredText: the docstrings are written in it
        (src / "api" / f"{name}.rst").write_text(f"{heading}\n{'=' * len(heading)}\n\n.. automodule:: {name}\n")
    (src / "api" / "index.md").write_text(
        "# API reference\n\nThe package every lesson imports, from its docstrings. Each lesson shows the code it "
        "teaches; `sslcourse.show_source(fn)` prints any function in a notebook. The grading package is described "
        "by its overview only: its modules hold the reference answers of the exercises.\n\n"
        "```{toctree}\n:maxdepth: 1\n\n" + "\n".join(f"{name}" for name in modules) + "\n```\n")
    return modules


def toctree(caption: str, entries: list[str]) -> str:
    return f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(entries) + "\n```\n"


def check(executed: Path, repo: Path, allow_missing: bool) -> tuple[dict, dict, list[str]]:
    """Read the executed lessons and the exercises; raise SiteError listing every problem, each with its file.

    Returns ({lesson stem: (notebook, title, executed?)}, {exercise stem: (notebook, title)}, lessons not executed).
    """
    lesson_sources = sorted((repo / "notebooks").glob(NUMBERED))
    if not lesson_sources:
        raise SiteError(f"no lessons in {repo / 'notebooks'}")
    problems, missing, lessons = [], [], {}
    for path in lesson_sources:
        source, copy = nbformat.read(path, as_version=4), executed / path.name
        if copy.exists():
            nb = nbformat.read(copy, as_version=4)
            problems += lesson_problems(nb, source, path.name, release(repo))
            lessons[path.stem] = (nb, title_of(source, path), True)
        else:
            missing.append(path.name)
            lessons[path.stem] = (source, title_of(source, path), False)
    if len(missing) == len(lesson_sources):
        problems.append(f"no executed lesson in {executed}: run `make run` first")
    elif missing and not allow_missing:
        problems.append(f"{NOT_EXECUTED}: {', '.join(missing)} (no copy in {executed}): run `make run` (or "
                        "`sslcourse course --only NN`); `python docs/build_site.py --allow-missing` shows them "
                        "without outputs")
    exercises = {}
    for path in sorted((repo / "exercises").glob(NUMBERED)):
        nb = nbformat.read(path, as_version=4)
        if any(marker in cell.source for cell in nb.cells for marker in SOLUTION_MARKERS):
            problems.append(f"{path}: holds a solution block: exercises/ is generated by `make exercises`")
        exercises[path.stem] = (nb, title_of(nb, path))
    if problems:
        raise SiteError("the site cannot be built:\n  " + "\n  ".join(problems))
    return lessons, exercises, missing


def home_page(repo: Path, lessons: dict, exercises: dict, records: dict, api: bool = True) -> str:
    repository, version = release(repo)
    by_number = {stem[:2]: stem for stem in exercises}
    rows = ["| | lesson | exercise |", "| --- | --- | --- |"]
    for stem, (_, title, ran) in lessons.items():
        ex = by_number.get(stem[:2])
        lesson = f"[{short_title(title)}](notebooks/{stem}.ipynb)" + ("" if ran else f" *({NOT_EXECUTED})*")
        exercise = f"[{short_title(exercises[ex][1])}](exercises/{ex}.ipynb)" if ex else "—"
        rows.append(f"| {stem[:2]} | {lesson} | {exercise} |")
    page = (DOCS / "index.md").read_text()
    for key, value in {"lessons": "\n".join(rows), "this_build": build_summary(records),
                       "repository": repository, "tag": f"v{version}",
                       "install": f"`{install_requirement(repository, version)}`"}.items():
        page = page.replace(f"{{{{{key}}}}}", value)
    return (page + "\n" + toctree("Lessons", [f"notebooks/{stem}" for stem in lessons])
            + toctree("Exercises", [f"exercises/{stem}" for stem in exercises])
            + toctree("Results and reference", ["results", "benchmarks"] + (["api/index"] if api else [])))


def stage(executed: Path, src: Path, allow_missing: bool = False, repo: Path = REPO, api: bool = True) -> dict:
    """Check the lessons, then write the site's sources into ``src`` (see the module's docstring)."""
    lessons, exercises, missing = check(executed, repo, allow_missing)
    repository, version = release(repo)
    records = {f"{stem}.ipynb": nb.metadata.get("sslcourse") for stem, (nb, _, ran) in lessons.items() if ran}
    for folder in ("notebooks", "exercises", "_downloads_src/notebooks", "_downloads_src/exercises"):
        (src / folder).mkdir(parents=True)
    shutil.copyfile(DOCS / "_static" / "colab-badge.svg", src / "colab-badge.svg")
    exercise_of = {stem[:2]: (f"{stem}.ipynb", title) for stem, (_, title) in exercises.items()}
    lesson_of = {stem[:2]: (f"{stem}.ipynb", title) for stem, (_, title, _) in lessons.items()}
    for stem, (nb, _, ran) in lessons.items():
        name = f"{stem}.ipynb"
        add_to_title_cell(with_this_release(nb, repository, version),
                           lesson_header(name, records.get(name), exercise_of.get(stem[:2]), ran))
        nbformat.write(nb, src / "notebooks" / name)
    for stem, (nb, _) in exercises.items():
        nb.cells[0].source = EXERCISE_NOTE.sub("", nb.cells[0].source)
        add_to_title_cell(with_this_release(nb, repository, version),
                           exercise_header(f"{stem}.ipynb", lesson_of.get(stem[:2])))
        nbformat.write(nb, src / "exercises" / f"{stem}.ipynb")
    for folder, stems in (("notebooks", lessons), ("exercises", exercises)):  # what "download the notebook" gives
        for stem in stems:
            clean = nbformat.read(repo / folder / f"{stem}.ipynb", as_version=4)
            for cell in clean.cells:
                cell.source = with_release(cell.source, repository, version)
            nbformat.write(clean, src / "_downloads_src" / folder / f"{stem}.ipynb")
    (src / "index.md").write_text(home_page(repo, lessons, exercises, records, api))
    ran = {stem for stem, (_, _, r) in lessons.items() if r}
    (src / "results.md").write_text(results_page(executed.parent / "results", ran))
    shutil.copyfile(repo / "BENCHMARKS.md", src / "benchmarks.md")
    modules = api_pages(src) if api else []
    return {"lessons": sorted(ran), "missing": missing, "exercises": list(exercises), "modules": modules}


def build(executed: Path, out: Path, allow_missing: bool = False, jobs: str = "1", repo: Path = REPO,
          api: bool = True) -> dict:
    """Check and stage the pages, then run Sphinx into ``out`` (no site is left there if the build fails)."""
    executed, out = Path(executed).resolve(), Path(out).resolve()
    try:
        import myst_nb  # noqa: F401
    except ImportError:
        raise SiteError("the site needs the [site] extra, for Python >= 3.11: `make setup` installs it "
                        "(or pip install -e '.[site]')") from None
    if not executed.is_dir():
        raise SiteError(f"{executed} does not exist: run `make run` first (it executes the lessons the site shows)")
    if out.exists():  # a failed build leaves no site behind, rather than an older one
        if not (out / ".buildinfo").exists():
            raise SiteError(f"{out} exists and is not a site built here: choose another --out")
        shutil.rmtree(out)
    work = out.with_name(out.name + "-build")  # Sphinx's sources, doctrees and myst-nb's output folder
    shutil.rmtree(work, ignore_errors=True)
    staged = stage(executed, work / "src", allow_missing, repo, api)
    # -N: no colour codes, whatever the environment asks for (Sphinx colours its output when CI=true or FORCE_COLOR
    # is set, and the messages are rewritten and matched line by line below)
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-N", "-j", jobs,
           "-c", str(DOCS), "-d", str(work / "doctrees"), str(work / "src"), str(work / "html")]
    sphinx = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(sphinx_messages(sphinx.stdout, work / "src"), end="", file=sys.stderr)
    if sphinx.returncode != 0:
        raise SiteError(f"Sphinx found the problems above (warnings are errors): no site was written; the pages "
                        f"it read are in {work / 'src'}")
    (work / "html").rename(out)
    shutil.rmtree(work)
    return staged


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("executed", nargs="?", default=str(REPO / "build" / "notebooks"),
                    help="the executed lessons (make run: build/notebooks)")
    ap.add_argument("--out", default=str(REPO / "build" / "site"), help="where the site goes (default build/site)")
    ap.add_argument("--allow-missing", action="store_true",
                    help="show lessons that were not executed without outputs, instead of stopping")
    ap.add_argument("--jobs", default="1", help="Sphinx's parallel jobs (-j)")
    args = ap.parse_args(argv)
    try:
        staged = build(Path(args.executed), Path(args.out), args.allow_missing, args.jobs)
    except SiteError as err:
        print(f"make site: {err}", file=sys.stderr)
        return 1
    missing = f"; not executed: {', '.join(staged['missing'])}" if staged["missing"] else ""
    print(f"site: {Path(args.out).resolve() / 'index.html'} ({len(staged['lessons'])} lessons, "
          f"{len(staged['exercises'])} exercises, {len(staged['modules'])} API pages{missing})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
