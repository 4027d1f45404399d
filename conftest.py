"""Repository-wide pytest hooks: per-notebook durations for nbval runs."""
import os
from collections import defaultdict

_notebook_seconds = defaultdict(float)


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _notebook_seconds[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _notebook_seconds:
        return
    where = os.environ.get("SSLCOURSE_PROFILE") or "default"
    where += " profile" + (", smoke run" if os.environ.get("SSLCOURSE_SMOKE") == "1" else "")
    if os.environ.get("SSLCOURSE_DATASET"):
        where += f", {os.environ['SSLCOURSE_DATASET']} data"
    terminalreporter.section(f"notebook durations (nbval, {where})")
    for path, seconds in sorted(_notebook_seconds.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
    terminalreporter.write_line(f"{sum(_notebook_seconds.values()):7.1f} s  in all")
