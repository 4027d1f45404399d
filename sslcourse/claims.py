"""A lesson's claims about its own numbers, checked in the cell that makes them.

Every number or ranking a lesson's prose states about *this run* is checked by :func:`claim`,
beside the sentence::

    claim("SimCLR beats random init by at least 20 points of linear-probe accuracy",
          gain, ">=", 0.20, fmt="{:+.1%}")

What happens depends on where the lesson runs (``SSLCOURSE_CLAIMS``):

* ``strict`` — ``make test``, ``make run`` and CI: a claim that does not hold stops the lesson with
  an ``AssertionError`` naming the sentence, what it expected and what this run got, so a lesson
  whose prose went stale fails its tests.
* ``show`` (the default, a learner's own session): the same check; a claim that does not hold is
  shown in a box — what the lesson expected, what your run got — and the lesson goes on. Change a
  parameter, re-run, and your numbers stand beside the lesson's instead of a crash.

A claim is **judged only where it was measured**. ``where="quick"`` (the default) means the quick
profile on its own data (``shapes``, all of it): that is where the course's claims were measured,
over seeds and precisions (``BENCHMARKS.md``). On other data (CIFAR-10, your own photos) or in
another profile the claim's code still runs and its number is printed, marked *not judged here*;
``where="any"`` is for claims that hold whatever the data once a run has trained. In smoke mode
(``SSLCOURSE_SMOKE=1``: a few steps that check the code paths, not the learning) those are not judged
either; ``where="always"`` is for what holds in every run, smoke runs included — an identity of the
math, a shape, a property of the code.

Every claim judged or not is appended to ``SSLCOURSE_CLAIMS_LOG`` (a JSON-lines file) when that
is set, with its margin — how far the number is from the bound, positive when it holds — so
``benchmarks/claims.py`` can tabulate every claim over seeds and precisions.
"""
from __future__ import annotations

import html
import json
import operator
import os
from dataclasses import dataclass

from .config import LESSON_RUN, profile

MODES = ("strict", "show")
OPERATORS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
SYMBOLS = {">": ">", ">=": "≥", "<": "<", "<=": "≤"}

_context: dict = {}
made: list = []  # every Claim of this session, in order (the last one is made[-1])


class ClaimFailed(AssertionError):
    """A lesson's claim about its run did not hold (strict mode)."""


def set_context(profile=None, seed: int | None = None, lesson: str | None = None) -> None:
    """What run the claims are about: ``lesson_setup`` records its profile and seed; tests and scripts set theirs
    here (the latest call wins)."""
    if profile is not None:
        LESSON_RUN["profile"] = profile
    if seed is not None:
        LESSON_RUN["seed"] = seed
    if lesson is not None:
        _context["lesson"] = lesson


def mode() -> str:
    value = os.environ.get("SSLCOURSE_CLAIMS", "show")
    if value not in MODES:
        raise ValueError(f"SSLCOURSE_CLAIMS={value!r} is not a claims mode: use strict (tests, make run) "
                         "or show (the default: a claim that does not hold is shown and the lesson goes on)")
    return value


def _run(key):
    """The profile or seed the claims are about: the latest set (``lesson_setup``, ``set_context``), else the
    default profile."""
    if key == "profile" and "profile" not in LESSON_RUN:
        LESSON_RUN["profile"] = profile()
    return LESSON_RUN.get(key)


def _profile():
    return _run("profile")


# Where each profile's claims were measured: the profile on its own data.
HOME_DATA = {"quick": "shapes", "gpu": "cifar10", "full": "cifar10"}


def judged_here(where="quick") -> tuple[bool, str]:
    """(whether a claim measured ``where`` is judged in this run, and why not when it is not)."""
    p = _profile()
    if where == "always":
        return True, ""
    if getattr(p, "smoke", False):
        return False, "smoke run: the code ran, its numbers are not judged"
    if where == "any":
        return True, ""
    places = (where,) if isinstance(where, str) else tuple(where)
    if p.name not in places:
        return False, f"measured in the {' and '.join(places)} profile; this run is {p.name}"
    if p.dataset != HOME_DATA[p.name]:
        return False, f"measured on {HOME_DATA[p.name]}; this run uses {p.dataset}"
    return True, ""


@dataclass
class Claim:
    """One checked sentence: what the lesson says, what this run got, and whether it holds."""

    statement: str
    holds: bool
    got: str
    expected: str
    margin: float | None
    judged: bool
    why_not_judged: str = ""
    detail: str = ""
    checked: str = ""  # the comparison itself, shown where ``got`` is another description of the result

    @property
    def status(self) -> str:
        if not self.judged:
            return "not judged here"
        return "holds" if self.holds else "does not hold"

    def text(self) -> str:
        mark = {"holds": "✔", "does not hold": "✘", "not judged here": "·"}[self.status]
        line = f"{mark} claim: {self.statement} — got {self.got}"
        if self.checked:
            line += f" (checked: {self.checked})"
        elif self.expected:
            line += f" (expected {self.expected})"
        if not self.judged:
            line += f" [not judged: {self.why_not_judged}]"
        return line

    def __repr__(self) -> str:
        if self.judged and not self.holds:
            bar = "─" * 72
            lines = [bar, "✘ This run does not show what the lesson says:", f"    “{self.statement}”",
                     f"  the lesson expected: {self.expected or 'it to hold'}", f"  this run got:        {self.got}"]
            if self.checked:
                lines.append(f"  checked:             {self.checked}")
            if self.detail:
                lines.append(f"  {self.detail}")
            lines += ["  Your settings (a seed, a parameter, other data) can change this; the lesson goes on.", bar]
            return "\n".join(lines)
        return self.text()

    def _repr_html_(self) -> str:
        if not (self.judged and not self.holds):
            return f"<pre style='margin:0'>{html.escape(self.text())}</pre>"
        detail = f"<br>{html.escape(self.detail)}" if self.detail else ""
        return ("<div style='border:2px solid #c0392b;border-radius:6px;padding:8px 12px;margin:4px 0;"
                "background:#fdf2f0'><b>✘ This run does not show what the lesson says</b><br>"
                f"“{html.escape(self.statement)}”<br>the lesson expected: <b>{html.escape(self.expected or 'it to hold')}"
                f"</b><br>this run got: <b>{html.escape(self.got)}</b>{detail}<br>"
                "<i>Your settings (a seed, a parameter, other data) can change this; the lesson goes on.</i></div>")


def _format(value, fmt) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if fmt is None:
        return f"{value:.4g}" if isinstance(value, float) else str(value)
    return fmt(value) if callable(fmt) else fmt.format(value)


def claim(statement: str, value, op: str | None = None, bound=None, *, fmt=None, where="quick",
          got: str | None = None, detail: str = "") -> None:
    """Check one sentence of the lesson against this run's number.

    ``claim(statement, value, op, bound)``: holds when ``value op bound`` (``op`` one of ``> >= < <=``);
    its margin is how far ``value`` is on the right side of ``bound``. ``claim(statement, flag)``: a
    yes/no claim (no margin). ``fmt``: a format string or function for the numbers shown (``got``
    replaces the shown value). ``where``: the profile(s) it was measured in (``"quick"``, the
    default, means the quick profile on ``shapes``), ``"any"`` (any data, not smoke runs) or ``"always"``
    (every run). The :class:`Claim` is shown and kept in ``made`` (nothing is returned, so a cell that ends with
    a claim shows it once); in strict mode a claim that does not hold raises :class:`ClaimFailed`.
    """
    strict = mode() == "strict"
    if op is None:
        if bound is not None:
            raise TypeError("claim(statement, value, op, bound): give the comparison, e.g. claim(s, gain, '>=', 0.2)")
        holds, margin, expected = bool(value), None, ""
    else:
        if op not in OPERATORS:
            raise ValueError(f"op must be one of {', '.join(OPERATORS)}, got {op!r}")
        value, bound = float(value), float(bound)
        holds = bool(OPERATORS[op](value, bound))
        margin = value - bound if op in (">", ">=") else bound - value
        expected = f"{SYMBOLS[op]} {_format(bound, fmt)}"
    judged, why = judged_here(where)
    checked = f"{_format(value, fmt)} {SYMBOLS[op]} {_format(bound, fmt)}" if got is not None and op else ""
    c = Claim(statement, holds, got if got is not None else _format(value, fmt), expected, margin, judged, why, detail,
              checked)
    made.append(c)
    _log(c, where)
    if judged and not holds and strict:
        raise ClaimFailed(f"the lesson says “{statement}”, but this run does not show it: expected "
                          f"{c.expected or 'it to hold'}, got {c.got}" + (f" ({detail})" if detail else ""))
    _show(c)


def _show(c: Claim) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(c)
            return
    except ImportError:
        pass
    print(repr(c))


def _log(c: Claim, where) -> None:
    path = os.environ.get("SSLCOURSE_CLAIMS_LOG")
    if not path:
        return
    p = _profile()
    row = {"lesson": _context.get("lesson") or os.environ.get("SSLCOURSE_LESSON", ""), "statement": c.statement,
           "holds": c.holds, "judged": c.judged, "margin": c.margin, "got": c.got, "expected": c.expected,
           "where": where, "profile": p.name, "dataset": p.dataset, "precision": p.precision,
           "seed": _run("seed"), "smoke": getattr(p, "smoke", False)}
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:  # one short line per write: concurrent runs do not interleave
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
