"""Run the whole course (``make run``): execute every lesson, keep the executed copies and HTML,
and print one table of the results the lessons recorded.

What produced the outputs (profile, device, precision, torch, commit, date: :func:`run_record`) is kept
in each executed notebook's metadata (``metadata.sslcourse``) and in ``run.json`` beside the results, for
the course's website (``make site``), which shows it.

Lessons record their figures with :func:`record_results`; where ``SSLCOURSE_RESULTS`` is
set (``make run`` sets it to ``build/results``) they land there, otherwise in the cache.
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from .config import cache_dir

REPO = Path(__file__).resolve().parents[1]


def results_dir() -> Path:
    path = Path(os.environ.get("SSLCOURSE_RESULTS") or cache_dir() / "results" / "lessons")
    path.mkdir(parents=True, exist_ok=True)
    return path


def record_results(lesson: str, results: dict, **extra) -> None:
    """Save a lesson's results {encoder name: protocol dict} for the course table (``make run``)."""
    path = results_dir() / f"{lesson}.json"
    rows = {name: {k: v for k, v in r.items() if isinstance(v, (int, float, str))} for name, r in results.items()}
    path.write_text(json.dumps({"lesson": lesson, "results": rows, **extra}, indent=1))
    print(f"results of {lesson} saved to {path}")


def results_table(folder: Path) -> str:
    lines = [f"{'lesson':<28}{'encoder':<24}{'kNN':>8}{'linear':>9}",
             "-" * 69]
    for path in sorted(Path(folder).glob("*.json")):
        data = json.loads(path.read_text())
        for name, r in data["results"].items():
            knn, lin = r.get("knn_accuracy"), r.get("linear_probe_accuracy")
            lines.append(f"{data['lesson']:<28}{name:<24}"
                         + (f"{100 * knn:7.1f}%" if knn is not None else f"{'-':>8}")
                         + (f"{100 * lin:8.1f}%" if lin is not None else f"{'-':>9}"))
    return "\n".join(lines)


def _machine(device: str) -> str:
    import torch

    if device.startswith("cuda"):
        return torch.cuda.get_device_name(torch.device(device))
    try:
        model = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                     if line.startswith("model name"))
    except (OSError, StopIteration):
        import platform

        model = platform.processor() or platform.machine()
    return f"{model}, {os.cpu_count()} CPU cores"


def _commit() -> str:
    """The course's git commit (``+changes`` when the working tree differs from it), or ``unknown``."""
    import subprocess

    try:
        head = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def run_record() -> dict:
    """What produces a run's outputs: profile, data, device and machine, precision, versions, commit, date."""
    from datetime import datetime, timezone

    import torch

    from . import __version__
    from .config import profile

    p = profile()
    return {"profile": p.name, "smoke": p.smoke, "dataset": p.dataset,
            "backbone": p.backbone, "device": p.device, "machine": _machine(p.device), "precision": p.precision,
            "torch": torch.__version__, "sslcourse": __version__, "commit": _commit(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _save_run(out: Path, record: dict, lessons: dict) -> None:
    """``out/run.json``: this run's record, and every lesson's (kept from earlier runs of other lessons)."""
    path = out / "run.json"
    earlier = json.loads(path.read_text()).get("lessons", {}) if path.exists() else {}
    path.write_text(json.dumps({"run": record, "lessons": {**earlier, **lessons}}, indent=1, sort_keys=True))


def run_course(out: Path, only=None, timeout: int = 1800) -> int:
    """Execute notebooks/NN_*.ipynb in order into ``out``; returns 0 when all ran."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    from .config import profile

    out = Path(out).resolve()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    (out / "html").mkdir(parents=True, exist_ok=True)
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    os.environ["SSLCOURSE_RESULTS"] = str(results)
    os.environ.setdefault("SSLCOURSE_STATIC", "1")  # pictures, not widgets, in the saved HTML
    os.environ.setdefault("TQDM_MININTERVAL", "5")
    os.environ.setdefault("SSLCOURSE_PROGRESS", "text")  # a widget's state is not saved in the HTML
    lessons = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if only:
        unknown = sorted(set(only) - {p.name[:2] for p in lessons})
        if unknown:
            raise ValueError(f"no lesson numbered {', '.join(unknown)}: "
                             f"the lessons are {', '.join(p.name[:2] for p in lessons)}")
        lessons = [p for p in lessons if p.name[:2] in only]
    print(f"running {len(lessons)} lesson(s) with {profile()}")
    failed, timings, record, ran = [], {}, run_record(), {}
    for path in lessons:
        os.environ["SSLCOURSE_LESSON"] = path.stem  # the lesson's kernel inherits it: its claims are logged under it
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        # The kernel's start-up warning about unencrypted local TCP is noise here: it listens on localhost only.
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3", extra_arguments=["--log-level=ERROR"],
                                resources={"metadata": {"path": str(path.parent)}})
        try:
            client.execute()
            status = "ok"
        except Exception as err:  # keep going: one broken lesson should not hide the others
            status = f"FAILED: {type(err).__name__}: {str(err).strip().splitlines()[-1][:200]}"
            failed.append(path.name)
        timings[path.name] = time.perf_counter() - t0
        ran[path.name] = nb.metadata["sslcourse"] = {**record, "status": status,
                                                     "seconds": round(timings[path.name], 1)}
        nbformat.write(nb, out / "notebooks" / path.name)
        html, _ = HTMLExporter().from_notebook_node(nb)
        (out / "html" / path.with_suffix(".html").name).write_text(html)
        print(f"  {path.name:<36} {timings[path.name]:6.1f} s  {status}")
    _save_run(out, record, ran)
    print(f"\nexecuted notebooks: {out / 'notebooks'}\nHTML: {out / 'html'}\n")
    print(results_table(results))
    print(f"\n{len(lessons) - len(failed)}/{len(lessons)} lessons ran in {sum(timings.values()):.0f} s")
    return 1 if failed else 0


WORKSPACE_README = """# Your copy of the course

`make lab` opened this folder: your own copies of the lessons (`lessons/`) and exercises (`exercises/`), made on
first use and never overwritten. Edit, run and save them freely; the course's tracked files stay untouched.

A fresh copy of a lesson or exercise: `sslcourse workspace --fresh 04` (your old copy is kept beside it as
`04_….ipynb.old-<time>`), or delete the file and run `make lab` again.
"""


def make_workspace(dest: Path, fresh=None) -> list[Path]:
    """Copy every lesson and exercise notebook into ``dest`` (lessons/, exercises/) where no copy exists yet.

    ``fresh``: lesson or exercise numbers ("04") whose copies are replaced (the old one is kept, renamed).
    Returns the files written. The copies are plain notebooks (jupytext pairing off), so saving them never
    writes a ``.py`` next to them.
    """
    import shutil
    import time

    dest = Path(dest)
    fresh = set(fresh or ())
    written = []
    for folder, sub in (("notebooks", "lessons"), ("exercises", "exercises")):
        (dest / sub).mkdir(parents=True, exist_ok=True)
        for src in sorted((REPO / folder).glob("[0-9][0-9]_*.ipynb")):
            target = dest / sub / src.name
            if target.exists() and src.name[:2] in fresh:
                target.rename(target.with_name(f"{target.name}.old-{time.strftime('%Y%m%d-%H%M%S')}"))
            if not target.exists():
                shutil.copyfile(src, target)
                written.append(target)
    (dest / "jupytext.toml").write_text("# Your copies are plain notebooks: no paired .py files.\nformats = \"ipynb\"\n")
    if not (dest / "README.md").exists():
        (dest / "README.md").write_text(WORKSPACE_README)
    return written
