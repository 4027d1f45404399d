"""Every lesson's claims over seeds and precisions: does each hold in every run, and by what margin?

    python benchmarks/claims.py run [--seeds 0 1 2] [--precisions bf16 fp32] [--only 00 04] [--out build/claims]
    python benchmarks/claims.py table [--out build/claims]        # the markdown table for BENCHMARKS.md

``run`` executes the quick course (``sslcourse course``) once per seed and precision, each in a fresh cache so that
every run trains anew, with ``SSLCOURSE_CLAIMS=show`` (a claim that does not hold is recorded and the lesson goes
on) and ``SSLCOURSE_CLAIMS_LOG`` (every claim with its margin: how far the number is on the right side of its
bound). ``table`` lists every judged claim with its margin in each run and says which do not hold in all of them.
On a CPU without bf16 units (``SSLCOURSE_PRECISION=bf16`` is then emulated, and slower) a run takes longer.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run(args) -> None:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for precision in args.precisions:
        for seed in args.seeds:
            name = f"s{seed}-{precision}"
            log = out / f"claims-{name}.jsonl"
            if log.exists() and not args.again:
                print(f"{name}: done already ({log}); --again to rerun")
                continue
            env = {**os.environ, "SSLCOURSE_PROFILE": "quick", "SSLCOURSE_SEED": str(seed),
                   "SSLCOURSE_PRECISION": precision, "SSLCOURSE_CLAIMS": "show",
                   "SSLCOURSE_CLAIMS_LOG": str(log.with_suffix(".tmp")), "SSLCOURSE_CACHE": str(out / f"cache-{name}")}
            env.pop("SSLCOURSE_SMOKE", None)
            log.with_suffix(".tmp").unlink(missing_ok=True)
            t0 = time.perf_counter()
            cmd = [sys.executable, "-m", "sslcourse", "course", "--out", str(out / f"course-{name}")]
            if args.only:
                cmd += ["--only", ",".join(args.only)]  # the course command takes 00,04
            done = subprocess.run(cmd, env=env, cwd=REPO)
            if not log.with_suffix(".tmp").exists():
                raise SystemExit(f"{name}: the course run recorded no claim (exit {done.returncode}): see its output above")
            log.with_suffix(".tmp").rename(log)
            print(f"{name}: {time.perf_counter() - t0:.0f} s, exit {done.returncode}")


def table(args) -> None:
    out = Path(args.out)
    runs = sorted(out.glob("claims-*.jsonl"))
    if not runs:
        raise SystemExit(f"no claims-*.jsonl in {out}: run `python benchmarks/claims.py run` first")
    names = [p.stem.removeprefix("claims-") for p in runs]
    rows: dict = defaultdict(dict)  # (lesson, statement) -> {run: row}
    for name, path in zip(names, runs):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            if r["judged"]:
                rows[(r["lesson"], r["statement"])][name] = r
    print("| lesson | claim | " + " | ".join(names) + " | smallest margin | holds in all |")
    print("| --- | --- | " + " | ".join("---" for _ in names) + " | --- | --- |")
    failing = 0
    for (lesson, statement), by_run in sorted(rows.items()):
        cells, margins, holds = [], [], True
        for name in names:
            r = by_run.get(name)
            if r is None:
                cells.append("—")
                continue
            holds &= r["holds"]
            if r["margin"] is None:
                cells.append("✔" if r["holds"] else "✘")
            else:
                margins.append(r["margin"])
                cells.append(f"{r['margin']:+.3g}" + ("" if r["holds"] else " ✘"))
        failing += not holds
        smallest = f"{min(margins):+.3g}" if margins else "—"
        print(f"| {lesson[:2]} | {statement} | " + " | ".join(cells) + f" | {smallest} | {'yes' if holds else '**no**'} |")
    print(f"\n{len(rows)} judged claims in {len(names)} runs; {failing} do not hold in every run.")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    r.add_argument("--precisions", nargs="+", default=["bf16", "fp32"])
    r.add_argument("--only", nargs="+", help="lesson numbers, e.g. 04 05")
    r.add_argument("--again", action="store_true", help="rerun runs that are done")
    r.add_argument("--out", default="build/claims")
    t = sub.add_parser("table")
    t.add_argument("--out", default="build/claims")
    args = ap.parse_args(argv)
    {"run": run, "table": table}[args.command](args)


if __name__ == "__main__":
    main()
