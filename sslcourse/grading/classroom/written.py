"""Written answers, graded by hand: found in a submission, listed for the teacher, never scored automatically.

An exercise asks for a judgement in a markdown cell whose first line is a heading of the form::

    ## Written answer (graded by hand): Choosing k without the test set

(any heading level). The learner's answer is the markdown that follows it, up to the next code cell or the
next heading: in ``exercises/`` one cell holding ``PLACEHOLDER``, which the learner replaces. In
``solutions/`` that cell holds a model answer between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->``
(HTML comments, invisible in Jupyter), which ``make exercises`` turns into the placeholder.

Each grader module lists its questions' titles in ``WRITTEN``. ``sslcourse grade`` reports one entry per
title — ``{"question", "answered", "answer", "points": 0}`` — in the report, the JSON (``"by_hand"``) and
the gradebook (a column "by hand: TITLE" holding the answer's text). They carry no automatic points and are
never counted in ``score`` or ``max_score``: the teacher reads and marks them. "answered" only means the
cell is no longer the placeholder (or empty); it says nothing about the answer's worth.

The notebook is read as JSON (or a jupytext percent ``.py`` as text); nothing in it is executed.
"""
from __future__ import annotations

import re

PLACEHOLDER = "*Your answer here: double-click this cell and replace this line.*"
HEADING = re.compile(r"^\s{0,3}#{1,6}\s*Written answer\s*\(graded by hand\)\s*:?\s*(?P<title>.*?)\s*#*\s*$",
                     re.IGNORECASE)
SOLUTION = re.compile(r"<!--\s*(BEGIN|END) SOLUTION\s*-->")
MAX_ANSWER = 4000  # characters kept per answer in a report


def _normal(title: str) -> str:
    return " ".join(title.lower().split())


def _is_heading(source: str) -> bool:
    first = source.strip().splitlines()[:1]
    return bool(first) and first[0].lstrip().startswith("#")


def find_answers(cells: list[tuple[str, str]]) -> dict:
    """{normalised title: answer text} for every written-answer heading in the cells."""
    found = {}
    for i, (kind, source) in enumerate(cells):
        if kind != "markdown":
            continue
        # the heading is usually the cell's first line; a learner may have merged it into the cell above
        m = next((m for m in map(HEADING.match, source.strip().splitlines()) if m), None)
        if not m:
            continue
        answer = []
        for kind2, source2 in cells[i + 1:]:
            if kind2 != "markdown" or _is_heading(source2):
                break
            answer.append(source2.strip())
        found[_normal(m.group("title"))] = "\n\n".join(a for a in answer if a)
    return found


def _clean(answer: str) -> str:
    text = SOLUTION.sub("", answer).replace(PLACEHOLDER, "").strip()
    return text[:MAX_ANSWER] + ("…" if len(text) > MAX_ANSWER else "")


def by_hand(cells: list[tuple[str, str]], questions) -> list[dict]:
    """One entry per question of the exercise: {"question", "answered", "answer", "points": 0}."""
    found = find_answers(cells)
    out = []
    for title in questions:
        answer = _clean(found.get(_normal(title), ""))
        out.append({"question": title, "answered": bool(answer), "answer": answer, "points": 0})
    return out


def print_by_hand(entries: list[dict], file=None) -> None:
    import sys

    file = file or sys.stdout
    if not entries:
        return
    print("Written answers — graded by hand, no automatic points:", file=file)
    for e in entries:
        if e["answered"]:
            print(f"  ✎ {e['question']}: answered ({len(e['answer'].split())} words), for your teacher to mark",
                  file=file)
        else:
            print(f"  ✘ {e['question']}: not answered (the cell after its heading still holds the placeholder)",
                  file=file)
