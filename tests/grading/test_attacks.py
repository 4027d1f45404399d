"""Red team: every way found to get points without the work scores what that work is worth.

Each file in attacks/ is a submission; expected.json holds the score it must get (and the gradebook flags
it must carry). They are graded as one batch, through the CLI and the CSV, as an instructor would.
"""
import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sslcourse.grading import graded_functions
from sslcourse.grading.runner import grade_path

HERE = Path(__file__).parent
ATTACKS = HERE / "attacks"
EXPECTED = {k: v for k, v in json.loads((ATTACKS / "expected.json").read_text()).items() if not k.startswith("_")}
PACKAGE = Path(__file__).resolve().parents[2] / "sslcourse"


def max_points(exercise):
    return sum(c.points for g in graded_functions(exercise).values() for c in g.cases())


def package_digest():
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(PACKAGE.rglob("*.py"))}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    before = package_digest()
    out = tmp_path_factory.mktemp("gradebook") / "gradebook.csv"
    run = subprocess.run([sys.executable, "-m", "sslcourse", "grade", str(ATTACKS), "--out", str(out),
                          "--timeout", "10", "--json"], capture_output=True, timeout=900)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-3000:]
    reports = {Path(r["path"]).name: r for r in json.loads(run.stdout)}
    rows = {row["file"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    return reports, rows, before


def test_every_attack_is_in_the_manifest():
    assert sorted(p.name for p in ATTACKS.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_attack_scores_what_the_work_is_worth(graded, name):
    reports, rows, _ = graded
    report, want = reports[name], EXPECTED[name]
    assert (report["score"], report["max_score"]) == (want["score"], want["max_score"]), \
        (report["flags"], report["error"], [(c["name"], c["message"]) for c in report["checks"] if not c["passed"]])
    assert int(rows[name]["score"]) == want["score"] and int(rows[name]["max_score"]) == want["max_score"]
    for flag in want.get("flags", []):
        assert flag in report["flags"] and flag in rows[name]["flags"], report["flags"]


def test_no_attack_regains_full_marks_unless_it_is_honest_work(graded):
    reports, _, _ = graded
    full = sorted(n for n, r in reports.items() if r["score"] == r["max_score"])
    honest = sorted(n for n, w in EXPECTED.items() if w["score"] == w["max_score"])
    assert full == honest


def test_the_course_files_are_unchanged_after_the_attacks(graded):
    *_, before = graded
    assert package_digest() == before


def test_a_later_stub_still_scores_zero(graded):
    report = grade_path(Path(__file__).resolve().parents[2] / "exercises" / "00_knn.ipynb")
    assert report["score"] == 0 and report["max_score"] == max_points("00")


def test_the_background_child_did_not_outlive_the_grading(graded):
    alive = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"987"]:
                alive.append(proc.name)
        except OSError:
            pass
    assert not alive, f"sleep 987 still running as {alive}"


def test_torch_not_implemented_error_is_named_not_called_a_stub(graded):
    reports, _, _ = graded
    msgs = [c["message"] for c in reports["01_torch_not_implemented.py"]["checks"] if c["function"] == "masked_mse"]
    assert all("not implemented yet" not in m for m in msgs)
    assert any("raised NotImplementedError: Subtraction" in m and "line 23" in m for m in msgs), msgs


def test_secrets_in_the_environment_do_not_reach_the_learner(tmp_path):
    leak = tmp_path / "00_leak.py"
    leak.write_text("import os\nSECRET = os.environ.get('SSLCOURSE_TEST_SECRET', 'absent')\n"
                    "raise_it = (_ for _ in ()).throw(RuntimeError(SECRET))\n"
                    "def cosine_similarity_matrix(a, b, _s=SECRET, _r=raise_it):\n    raise ValueError(_s)\n")
    env = {**os.environ, "SSLCOURSE_TEST_SECRET": "hunter2-instructor-token"}
    run = subprocess.run([sys.executable, "-m", "sslcourse", "grade", str(leak), "--json"], capture_output=True,
                         text=True, env=env, timeout=300)
    assert "hunter2" not in run.stdout + run.stderr
    assert "absent" in run.stdout


def test_a_package_shadow_beside_the_notebook_is_not_imported(tmp_path):
    """A sslcourse/ (or torch.py) next to the submission would be imported first if the worker ran with the
    notebook's folder on sys.path."""
    fake = tmp_path / "sslcourse" / "grading"
    fake.mkdir(parents=True)
    (tmp_path / "sslcourse" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "runner.py").write_text("raise SystemExit('shadowed')\n")
    (tmp_path / "torch.py").write_text("raise SystemExit('shadowed torch')\n")
    stub = tmp_path / "02_shadow.py"
    stub.write_text("def rotate_batch(images):\n    raise NotImplementedError\n")
    run = subprocess.run([str(Path(sys.executable).parent / "sslcourse"), "grade", str(stub), "--json"], capture_output=True,
                         text=True, cwd=tmp_path, timeout=300)
    report = json.loads(run.stdout)
    assert report["score"] == 0 and report["max_score"] == max_points("02") and report["error"] is None
    assert all("not implemented yet" in c["message"] for c in report["checks"] if c["function"] == "rotate_batch")
