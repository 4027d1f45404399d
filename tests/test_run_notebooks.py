"""benchmarks/run_notebooks.py, the GPU check's notebook runner: every output kept, a failed cell recorded and the
notebook carried on, a ``raises-exception`` cell allowed (as under nbval), a notebook past the deadline stopped."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat

RUNNER = Path(__file__).resolve().parents[1] / "benchmarks" / "run_notebooks.py"


def notebook(path: Path, *sources: str, tags: dict | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for index, tag in (tags or {}).items():
        nb.cells[index].metadata["tags"] = [tag]
    nbformat.write(nb, path)
    return path


def run(out: Path, *notebooks: Path, deadline=None):
    args = [sys.executable, str(RUNNER), str(out), *map(str, notebooks), "--jobs", "2"]
    if deadline:
        args += ["--deadline", str(deadline)]
    return subprocess.run(args, capture_output=True, text=True, timeout=300)


def test_a_failed_cell_is_recorded_and_the_notebook_goes_on_with_its_outputs_kept(tmp_path):
    bad = notebook(tmp_path / "bad.ipynb", "x = 41", "assert x == 42, 'the claim failed'", "print('after', x + 1)",
                   "raise ValueError('expected')", tags={3: "raises-exception"})
    good = notebook(tmp_path / "good.ipynb", "print(6 * 7)")
    done = run(tmp_path / "out", bad, good)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = {Path(r["notebook"]).name: r for r in json.loads((tmp_path / "out" / "summary.json").read_text())}
    assert summary["good.ipynb"]["finished"] and summary["good.ipynb"]["failed"] == []
    bad_run = summary["bad.ipynb"]
    assert bad_run["finished"] and bad_run["cells"] == 4
    assert [f["cell"] for f in bad_run["failed"]] == [1]  # the tagged cell's error is allowed
    assert "AssertionError: the claim failed" in bad_run["failed"][0]["error"]
    executed = nbformat.read(tmp_path / "out" / f"{tmp_path.name}-bad.ipynb", as_version=4)
    assert executed.cells[2].outputs[0]["text"] == "after 42\n"  # the cells after the failure ran
    assert "seconds" in executed.cells[0].metadata
    assert "1 failed" in done.stdout and "ok" in done.stdout


def test_a_notebook_past_the_deadline_is_stopped_and_what_it_reached_comes_back(tmp_path):
    slow = notebook(tmp_path / "slow.ipynb", "print('reached')", "import time; time.sleep(600)")
    done = run(tmp_path / "out", slow, deadline=20)  # room for a kernel to start on a loaded machine
    assert done.returncode == 1 and "STOPPED" in done.stdout, done.stdout + done.stderr
    record = json.loads((tmp_path / "out" / "summary.json").read_text())[0]
    assert not record["finished"] and record["cells"] == 1
    executed = nbformat.read(tmp_path / "out" / f"{tmp_path.name}-slow.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "reached\n"
