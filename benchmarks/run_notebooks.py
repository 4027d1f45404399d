"""Execute notebooks side by side and keep every output, for a GPU machine lent for a few minutes.

    python benchmarks/run_notebooks.py OUT NOTEBOOK... [--jobs N] [--deadline S] [--cell-timeout S]

Each notebook runs in its own process and kernel (nbclient), in the order given, at most N at a time. The
executed copy is written to OUT/<name>.ipynb after *every* cell, so a run stopped at its deadline still brings
back the numbers it reached; a cell that fails is recorded and the notebook goes on (its later cells may fail
for that reason), so one broken cell does not hide the rest of a lesson's figures. Cells tagged
``raises-exception`` may fail, as under nbval. OUT/summary.json and the printed table give, per notebook, its
seconds, its cells run and the cells that failed with the first lines of each error.

Why not nbval here: nbval keeps no outputs, and on the GPU machine the outputs (every figure and number of the
gpu profile) are what the run is for. ``make test`` checks the same notebooks under nbval (benchmarks/gpu_check.sh,
GPU_CHECK_DRY=1).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (a notebook's kernel runs in a session of its own, out of reach of killpg)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stem(notebook: Path) -> str:
    """The name of a notebook's files in OUT (.ipynb, .json, .log): its folder and stem, e.g. notebooks-04_simclr."""
    return notebook.parent.name + "-" + notebook.stem


def run_one(notebook: Path, out: Path, cell_timeout: int) -> dict:
    """Execute one notebook in a fresh kernel; save after each cell; return its record."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    dest = out / (stem(notebook) + ".ipynb")
    record = {"notebook": str(notebook), "cells": 0, "failed": [], "seconds": 0.0, "finished": False}
    start = time.time()
    cell_start = [start]

    def save():
        record["seconds"] = round(time.time() - start, 1)
        nbformat.write(nb, dest)
        (out / (dest.stem + ".json")).write_text(json.dumps(record, indent=1))

    def before(cell, cell_index, **_):
        cell_start[0] = time.time()

    def after(cell, cell_index, execute_reply, **_):
        record["cells"] += 1
        cell.metadata["seconds"] = round(time.time() - cell_start[0], 2)
        reply = (execute_reply or {}).get("content", {})
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"] or (
            [reply] if reply.get("status") == "error" else [])
        if errors and "raises-exception" not in cell.metadata.get("tags", []):
            e = errors[0]
            record["failed"].append({"cell": cell_index, "error": f"{e.get('ename')}: {e.get('evalue')}"[:600],
                                     "source": cell.source[:300]})
        save()

    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(notebook.parent)}},
                            on_cell_execute=before, on_cell_executed=after)
    try:
        client.execute()
        record["finished"] = True
    except Exception as exc:  # a dead kernel or a cell past its timeout: keep what ran
        record["failed"].append({"cell": None, "error": f"{type(exc).__name__}: {exc}"[:600], "source": ""})
    save()
    return record


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("notebooks", nargs="+", type=Path)
    ap.add_argument("--jobs", type=int, default=4)
    ap.add_argument("--deadline", type=float, default=None, help="seconds; notebooks still running are stopped")
    ap.add_argument("--cell-timeout", type=int, default=900)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.one:
        record = run_one(args.notebooks[0], args.out, args.cell_timeout)
        return 1 if record["failed"] or not record["finished"] else 0

    start, queue, running = time.time(), list(args.notebooks), {}
    while queue or running:
        while queue and len(running) < args.jobs:
            nb = queue.pop(0)
            log = open(args.out / (stem(nb) + ".log"), "w")
            running[nb] = subprocess.Popen([sys.executable, __file__, str(args.out), str(nb), "--one",
                                            "--cell-timeout", str(args.cell_timeout)], stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            print(f"{time.time() - start:6.0f} s  started {nb}", flush=True)
        for nb, proc in list(running.items()):
            if proc.poll() is not None:
                del running[nb]
                print(f"{time.time() - start:6.0f} s  ended   {nb} (exit {proc.returncode})", flush=True)
        if args.deadline and time.time() - start > args.deadline:
            for nb, proc in running.items():
                print(f"{time.time() - start:6.0f} s  STOPPED {nb} at the deadline", flush=True)
                for pid in [proc.pid, *descendants(proc.pid)]:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
            queue_left = [str(nb) for nb in queue]
            if queue_left:
                print("never started:", " ".join(queue_left), flush=True)
            break
        time.sleep(1)

    summary = []
    for nb in args.notebooks:
        path = args.out / (stem(nb) + ".json")
        summary.append(json.loads(path.read_text()) if path.exists() else {"notebook": str(nb), "started": False})
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    bad = 0
    for r in summary:
        state = ("not started" if r.get("started") is False
                 else "ok" if r["finished"] and not r["failed"]
                 else "unfinished" if not r["finished"] else f"{len(r['failed'])} failed")
        bad += state != "ok"
        print(f"{r.get('seconds', 0):7.1f} s  {r.get('cells', 0):3d} cells  {state:<12} {r['notebook']}")
        for f in r.get("failed", [])[:3]:
            print(f"           cell {f['cell']}: {f['error'][:300]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
