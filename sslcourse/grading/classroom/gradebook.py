"""The gradebook: a CSV a spreadsheet opens safely, written whole or not at all, and the journal a stopped batch
resumes from.

* Every text cell is made safe for spreadsheets: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a leading ``'`` (so it is shown as text, never run as a formula — OWASP's advice for CSV
  injection), and characters that UTF-8 cannot write (a lone surrogate) are written as ``\\udXXX``.
* The file is written to a temporary file beside it, flushed to disk, then renamed over the old one: a reader
  sees the old gradebook or the new one, never half of one.
* While a batch runs, each finished submission is appended to ``<gradebook>.partial`` (one JSON line each, with
  a key of the file's content and the grading settings); a batch started again with the same settings takes
  those rows as they are and grades only the rest. The journal is removed once the gradebook is written.
"""
from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

FORMULA = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value) -> str:
    """A cell's text: writable as UTF-8, and never read as a formula."""
    text = str(value).replace("\x00", "")
    text = text.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return "'" + text if text.startswith(FORMULA) else text


def rows(reports: list[dict]) -> list[list]:
    """The header and one row per report: file, exercise, score, max_score, flags, error, one column per check
    ("function: case", its points, 0 if failed), one per written answer ("by hand: question", its text)."""
    columns, written = [], []
    for r in reports:
        for c in r.get("checks", []):
            key = f"{c['function']}: {c['name']}"
            if key not in columns:
                columns.append(key)
        for e in r.get("by_hand", []):
            key = f"by hand: {e['question']}"
            if key not in written:
                written.append(key)
    out = [[safe_text(h) for h in ["file", "exercise", "score", "max_score", "flags", "error", *columns, *written]]]
    for r in reports:
        points = {f"{c['function']}: {c['name']}": c["points"] if c["passed"] else 0 for c in r.get("checks", [])}
        answers = {f"by hand: {e['question']}": e["answer"] for e in r.get("by_hand", [])}
        out.append([safe_text(r["path"]), safe_text(r.get("exercise") or ""), int(r["score"]), int(r["max_score"]),
                    safe_text("; ".join(r.get("flags", []))), safe_text(r.get("error") or ""),
                    *[points.get(k, "") for k in columns], *[safe_text(answers.get(k, "")) for k in written]])
    return out


def write_gradebook(reports: list[dict], out) -> None:
    """Write the CSV atomically (a temporary file beside it, fsync, rename)."""
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows(reports))
    atomic_write(Path(out), buf.getvalue().encode("utf-8"))


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Journal:
    """``<gradebook>.partial``: the rows of a batch so far, to resume it."""

    def __init__(self, out):
        self.path = Path(f"{out}.partial")
        self.done = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                    self.done[entry["key"]] = entry["report"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut short when the batch was stopped
        self.file = None

    def get(self, key: str):
        return self.done.get(key)

    def add(self, key: str, report: dict) -> None:
        if self.file is None:
            self.file = open(self.path, "a", encoding="utf-8")
        self.file.write(json.dumps({"key": key, "report": report}, ensure_ascii=True) + "\n")
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self, finished: bool) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        if finished:
            self.path.unlink(missing_ok=True)
