"""Repository-wide pytest hooks: each test file's seconds (the notebooks' shown at the end of a run, all of them
written with ``--scope-seconds FILE``), and the order `make test`'s workers take the files in: the longest first.

`make test` runs pytest-xdist with ``--dist loadscope``: a file is one unit (a notebook's cells stay in order on one
worker) and each unit goes to the next free worker in the order of the collection. xdist's own order puts the files
with the most tests first; by that order lesson 08 (22 cells, 8 minutes) started half way through the run and the
JupyterLab browser test (one test, 100 s) came last, alone on one core while the other had nothing left to do.
Longest first (``--no-loadscope-reorder`` and this hook) ends the run on short files instead.

How long each file took is measured, not guessed: ``--scope-seconds FILE`` writes each file's seconds (setup, call
and teardown of its tests) at the end of a run, and ``tests/scope-seconds.json`` holds a measured run's (BENCHMARKS.md,
"`make test`: where its time goes", says how to refresh it). A file it does not know counts one second per test. The
order only decides which worker starts what when; no test depends on it.
"""
from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

RECORDED = Path(__file__).parent / "tests" / "scope-seconds.json"


def scope_of(nodeid: str) -> str:
    """The unit of ``--dist loadscope``: the file (``tests/test_cli.py``, ``notebooks/08_compare_and_apply.ipynb``)."""
    return nodeid.split("::", 1)[0]


def pytest_addoption(parser):
    parser.addoption("--scope-seconds", metavar="FILE", default=None,
                     help="write each test file's seconds (its tests' setup, call and teardown) to FILE as JSON")


def recorded_seconds(path: Path = RECORDED) -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):  # missing or malformed: every file counts its tests
        return {}


def longest_first(items: list, seconds: dict[str, float]) -> list:
    """``items`` grouped by file, the files in decreasing recorded seconds (unknown: one second per test), each
    file's tests in their own order."""
    groups: dict[str, list] = {}
    for item in items:
        groups.setdefault(scope_of(item.nodeid), []).append(item)
    order = sorted(groups, key=lambda s: -seconds.get(s, float(len(groups[s]))))  # stable: ties keep collection order
    return [item for scope in order for item in groups[scope]]


def pytest_collection_modifyitems(session, config, items):
    items[:] = longest_first(items, recorded_seconds())


_seconds: dict[str, float] = defaultdict(float)  # file -> seconds of its tests' reports (xdist: every worker's)


def pytest_runtest_logreport(report):
    _seconds[scope_of(report.nodeid)] += report.duration


def pytest_terminal_summary(terminalreporter):
    notebooks = {path: s for path, s in _seconds.items() if path.endswith(".ipynb")}
    if notebooks:
        where = os.environ.get("SSLCOURSE_PROFILE") or "default"
        where += " profile" + (", smoke run" if os.environ.get("SSLCOURSE_SMOKE") == "1" else "")
        if os.environ.get("SSLCOURSE_DATASET"):
            where += f", {os.environ['SSLCOURSE_DATASET']} data"
        terminalreporter.section(f"notebook durations (nbval, {where})")
        for path, seconds in sorted(notebooks.items()):
            terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
        terminalreporter.write_line(f"{sum(notebooks.values()):7.1f} s  in all")
    path = terminalreporter.config.getoption("--scope-seconds", default=None)
    if path and not hasattr(terminalreporter.config, "workerinput") and _seconds:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        ordered = dict(sorted(((k, round(v, 1)) for k, v in _seconds.items()), key=lambda kv: -kv[1]))
        Path(path).write_text(json.dumps(ordered, indent=1) + "\n")
