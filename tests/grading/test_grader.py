"""The graders: solutions score full marks, generated exercises zero, wrong answers are caught readably."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sslcourse.grading import EXERCISES, graded_functions
from sslcourse.grading.core import run_cases
from sslcourse.grading.generate import make_exercise, stale
from sslcourse.grading.runner import grade_path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
EXERCISE_FILES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))


def test_every_exercise_has_a_solution_and_a_grader():
    numbers = sorted(p.name[:2] for p in SOLUTIONS)
    assert numbers == sorted(EXERCISES), "solutions/ and sslcourse.grading.EXERCISES list different exercises"
    assert sorted(p.name for p in EXERCISE_FILES) == sorted(p.name for p in SOLUTIONS)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_score_full_marks(path):
    report = grade_path(path)
    failed = [f"{c['function']}: {c['name']}: {c['message']}" for c in report["checks"] if not c["passed"]]
    assert report["error"] is None, report["error"]
    assert report["score"] == report["max_score"] > 0, failed


@pytest.mark.parametrize("path", EXERCISE_FILES, ids=lambda p: p.name)
def test_generated_exercises_score_zero_with_a_readable_message(path):
    report = grade_path(path)
    assert report["score"] == 0 and report["max_score"] > 0
    assert all("not implemented yet" in c["message"] for c in report["checks"])
    assert all("Traceback" not in c["message"] for c in report["checks"])


def test_generated_files_are_up_to_date():
    """exercises/ from solutions/, every .ipynb from its .py — regenerated and compared byte for byte."""
    bad = stale(ROOT)
    assert not bad, f"stale generated files {[str(p.relative_to(ROOT)) for p in bad]}: run `make exercises`"


def test_committed_notebooks_have_no_outputs():
    for path in ROOT.glob("*/[0-9][0-9]_*.ipynb"):
        nb = json.loads(path.read_text())
        assert all(not c.get("outputs") for c in nb["cells"]), f"{path.name} has outputs: run `make sync`"
        assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_make_exercise_replaces_only_the_answers():
    src = "# %% [markdown]\n# Title\n\n# %%\ndef f(x):\n    y = 1\n    ### BEGIN SOLUTION\n    return x + y\n    ### END SOLUTION\n"
    out = make_exercise(src, "99_demo.py")
    assert "return x + y" not in out and "    y = 1" in out
    assert '    raise NotImplementedError("replace this line with your solution")' in out
    assert "solutions/99_demo.py" in out
    with pytest.raises(ValueError, match="never closed"):
        make_exercise("### BEGIN SOLUTION\nx = 1\n", "bad.py")


def write_notebook(tmp_path, name, code_cells):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in code_cells]
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_wrong_dtype_is_reported_with_the_fix(tmp_path):
    path = write_notebook(tmp_path, "00_mine.ipynb", [
        "%matplotlib inline\nimport torch\nimport torch.nn.functional as F",
        "def cosine_similarity_matrix(a, b):\n    return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T",
        "def weighted_knn_predict(train_features, train_labels, test_features, k=20, temperature=0.07, num_classes=None):\n"
        "    sim = cosine_similarity_matrix(test_features, train_features)\n"
        "    return train_labels[sim.argmax(1)].float()",  # float, and a 1-NN
        "heavy = train_for_an_hour()  # not a definition: must not run while grading",
    ])
    report = grade_path(path)
    msgs = {c["name"]: c["message"] for c in report["checks"] if not c["passed"]}
    assert 0 < report["score"] < report["max_score"]
    assert "dtype torch.int64, got torch.float32: use .long()" in msgs["returns one int64 class per query"]


def test_exceptions_in_learner_code_are_one_line(tmp_path):
    path = tmp_path / "00_broken.py"
    path.write_text("import torch\n\ndef cosine_similarity_matrix(a, b):\n    return a @ b\n")
    report = grade_path(path)
    msg = report["checks"][0]["message"]
    assert msg.startswith("raised RuntimeError") and "line 4" in msg and "\n" not in msg
    assert any("function weighted_knn_predict not found" in c["message"] for c in report["checks"])


def test_an_endless_loop_is_stopped(tmp_path):
    path = tmp_path / "00_loop.py"
    path.write_text("def cosine_similarity_matrix(a, b):\n    while True:\n        pass\n")
    report = grade_path(path, timeout=5)
    assert report["score"] == 0 and "grading stopped after 5 s" in report["error"]


def test_cli_grade_prints_a_score_and_json():
    solution = ROOT / "solutions" / "00_knn.ipynb"
    out = subprocess.run([sys.executable, "-m", "sslcourse", "grade", str(solution)], capture_output=True, text=True)
    assert out.returncode == 0 and "Score: 11/11" in out.stdout and "✔" in out.stdout
    out = subprocess.run([sys.executable, "-m", "sslcourse", "grade", str(solution), "--json"],
                         capture_output=True, text=True)
    data = json.loads(out.stdout)
    assert data["score"] == data["max_score"] == 11 and len(data["checks"]) == 11


def test_unknown_exercise_and_missing_file_are_clear(tmp_path):
    with pytest.raises(ValueError, match="name it NN_topic.ipynb or pass --exercise"):
        grade_path(tmp_path / "mine.py")
    with pytest.raises(FileNotFoundError, match="no such file"):
        grade_path(tmp_path / "00_missing.ipynb")


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_graders_fail_a_plausible_wrong_answer(exercise):
    """Every graded function has at least one case that a function returning zeros fails."""
    for name, cases in graded_functions(exercise).items():
        def zeros(*args, **kwargs):
            return torch.zeros(1)

        results = run_cases(name, zeros, cases())
        assert not all(r.passed for r in results), f"{name}: a function returning zeros passed every case"
