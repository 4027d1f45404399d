"""Where `make test` spends its time: per phase (from the make log) and per test or notebook (from JUnit reports).

    make test 2>&1 | tee build/make-test.log
    python benchmarks/test_time.py build/make-test.log [--reports build/test-reports] [--top 25]

The phases are the banners `make test` prints ("== 1/4 …"); each phase's wall-clock time is what its pytest run
reports ("… passed in 123.4s"), the install and data steps the time between banners when the log has timestamps.
The JUnit reports (one per phase, written by `make test`) give each test's own time, summed per notebook (nbval makes
one test per cell) and per test module; under pytest-xdist these are worker seconds, so they sum to more than the
wall-clock time of their phase.
"""
from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

PASSED = re.compile(r"(?P<summary>(?:\d+ \w+(?:, )?)+) in (?P<seconds>[\d.]+)s")


def phases(log: Path) -> list[tuple[str, float, str]]:
    """(phase banner, wall seconds of its pytest run, pytest's summary) in the order of the log."""
    out, current = [], "setup"
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("== ") and "/" in line.split()[1]:
            current = line[3:].strip()
        m = PASSED.search(line)
        if m and ("passed" in line or "failed" in line):
            out.append((current, float(m.group("seconds")), m.group("summary")))
        m = re.match(r"=== (\S+): (ok|FAILED) in (\d+) s", line)  # benchmarks/gpu_check.sh's steps
        if m:
            out.append((f"{current} · {m.group(1)}", float(m.group(3)), m.group(2)))
    return out


def per_file(reports: Path) -> dict[str, float]:
    """{notebook or test module: seconds summed over its test cases}, over every JUnit report under ``reports``."""
    seconds = defaultdict(float)
    for report in sorted(reports.rglob("*.xml")):
        phase = report.stem
        for case in ET.parse(report).getroot().iter("testcase"):
            name = case.get("classname", "") or case.get("name", "")
            key = name.split("::")[0]
            if ".ipynb" in key or "ipynb" in name:
                key = re.sub(r"\.ipynb.*", ".ipynb", name.replace(".", "/", name.count(".") - 1))
            seconds[f"{phase}: {key}"] += float(case.get("time", 0))
    return seconds


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", type=Path)
    ap.add_argument("--reports", type=Path, default=Path("build/test-reports"))
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args(argv)
    rows = phases(args.log)
    print("| phase | wall s | result |\n| --- | --- | --- |")
    for name, seconds, summary in rows:
        print(f"| {name} | {seconds:.0f} | {summary} |")
    if args.reports.exists():
        slowest = sorted(per_file(args.reports).items(), key=lambda kv: -kv[1])[:args.top]
        print(f"\nslowest {len(slowest)} (worker seconds):")
        for key, seconds in slowest:
            print(f"{seconds:8.1f} s  {key}")


if __name__ == "__main__":
    main()
