"""otter-grader interop: the exported assignment grades a solution to full marks and the student version to 0,
with otter's own local grader (`otter assign`, then `otter run`: no container)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

from sslcourse.grading import graded_functions
from sslcourse.grading.classroom.otter import export_otter, master_notebook

ROOT = Path(__file__).resolve().parents[2]
OTTER = shutil.which("otter", path=str(Path(sys.executable).parent))


def test_the_master_notebook_has_otters_markers_and_one_test_per_case():
    nb = master_notebook("04", ROOT / "solutions" / "04_simclr.ipynb")
    raw = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "raw"]
    assert raw[0].startswith("# ASSIGNMENT CONFIG")
    for name, g in graded_functions("04").items():
        assert f"# BEGIN QUESTION\nname: {name}\n" in "\n".join(raw)
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "### BEGIN SOLUTION" not in code and code.count("    # BEGIN SOLUTION") == len(graded_functions("04"))
    assert "# BEGIN QUESTION\nname: written_1\nmanual: true\npoints: 0\n" in raw  # the written answer, by hand
    assert not any("BEGIN SOLUTION -->" in "".join(c["source"]) for c in nb["cells"])
    tests = [c for c in nb["cells"] if "BEGIN TEST CONFIG" in "".join(c["source"])]
    assert len(tests) == sum(len(g.cases()) for g in graded_functions("04").values())


def otter_score(folder, submission):
    out = folder / f"results-{submission.parent.name}"
    out.mkdir()
    zips = sorted((folder / "dist" / "autograder").glob("*.zip"))
    run = subprocess.run([OTTER, "run", "-a", str(zips[0]), str(submission), "-o", str(out)], capture_output=True,
                         text=True, cwd=folder, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    tests = json.loads((out / "results.json").read_text())["tests"]
    scored = [t for t in tests if "max_score" in t]
    return sum(t["score"] for t in scored), sum(t["max_score"] for t in scored)


def test_otter_grades_the_solution_to_full_marks_and_the_student_notebook_to_zero(tmp_path):
    assert OTTER, "otter-grader is missing: it is in the [otter] extra, `make setup` installs it"
    (master,) = export_otter("05", tmp_path)
    folder = master.parent
    assign = subprocess.run([OTTER, "assign", master.name, "dist", "--no-run-tests"], capture_output=True, text=True,
                            cwd=folder, timeout=600)
    assert assign.returncode == 0, assign.stderr[-2000:]
    student = (folder / "dist" / "student" / master.name).read_text()
    assert "A model answer" not in student and "graded by hand" in student  # the prompt stays, the answer goes
    points = sum(len(g.cases()) for g in graded_functions("05").values())
    assert otter_score(folder, folder / "dist" / "autograder" / master.name) == (points, points)
    assert otter_score(folder, folder / "dist" / "student" / master.name) == (0, points)
