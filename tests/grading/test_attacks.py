"""Red team: a class's worth of attacks, class-breakers and honest variants, graded as one batch for credit.

Each file in attacks/ is a submission; expected.json says which graded functions it must earn (all their public
and hidden points) and which flags its row must carry. They are graded as one batch through the CLI — for credit,
with a hidden bank, two at a time — beside honest classmates (graded after the attacks) and entries that are not
notebooks at all (a FIFO, a link to /dev/zero, JSON nested 100 000 deep, a 65 MiB file, a folder, a name that is
not UTF-8, a name and a written answer that a spreadsheet would run as formulas, a torch.py and an sslcourse/
that would shadow the real ones if a worker imported from the folder). The grader runs as this test's
user: root in CI (a uid of its own for each worker); test_runner.py's
test_a_grader_that_is_not_root_isolates_in_a_user_namespace runs attacks as an unprivileged user.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sslcourse.grading.classroom.grade import graded_with_bank
from sslcourse.grading.runner import sandbox

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ATTACKS = HERE / "attacks"
EXPECTED = {k: v for k, v in json.loads((ATTACKS / "expected.json").read_text()).items() if not k.startswith("_")}
CLASSMATES = {"04_zz_classmate.ipynb": "04_simclr.ipynb", "05_zz_after_the_escapee.ipynb": "05_gan.ipynb"}
NOT_UTF8 = b"02_\xff\xfe.py"
SECRET = "hunter2-instructor-token"
# the grader's own peak memory (resource.getrusage of its process, not of the workers), around the CLI
PEAK_WRAPPER = """
import resource, sys
from sslcourse.cli import main
try:
    code = main(sys.argv[2:])
finally:
    with open(sys.argv[1], "w") as f:
        f.write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
sys.exit(code)
"""

needs_isolation = pytest.mark.skipif(not sandbox.probe().isolated, reason=f"the machine cannot isolate: "
                                     f"{sandbox.probe().reason}")


def points(exercise, functions, bank):
    graded = graded_with_bank(exercise, bank)
    return sum(c.points for name in functions for c in graded[name][1])


def write_breakers(folder: Path) -> dict:
    """Entries a teacher's folder may hold that are not notebooks; {name: what its row's error must say}."""
    os.mkfifo(folder / "00_fifo.ipynb")
    os.symlink("/dev/zero", folder / "00_zero.ipynb")
    (folder / "00_deep.ipynb").write_text("[" * 100_000)
    with open(folder / "00_huge.ipynb", "wb") as f:
        f.truncate(65 << 20)  # sparse: 65 MiB that take no disk
    (folder / "01_a_folder.ipynb").mkdir()
    (folder / "=1+2.py").write_text("x = 1\n")
    (folder / "04_notes.txt").write_text("my notes\n")
    (folder / "torch.py").write_text("raise SystemExit('shadowed torch')\n")  # beside the notebooks: never imported
    (folder / "sslcourse").mkdir()
    (folder / "sslcourse" / "__init__.py").write_text("raise SystemExit('shadowed course')\n")
    fd = os.open(os.fsencode(folder) + b"/" + NOT_UTF8, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"def rotate_batch(images):\n    raise NotImplementedError\n")
    os.close(fd)
    answer = '=HYPERLINK(\\"http://example.com\\", \\"see\\") and a lone surrogate \\ud800'
    (folder / "06_formula_answer.ipynb").write_text(
        '{"cells": [{"cell_type": "markdown", "metadata": {}, "source": "## Written answer (graded by hand): '
        'Why does BYOL not collapse?"}, {"cell_type": "markdown", "metadata": {}, "source": "' + answer + '"}], '
        '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    return {"00_fifo.ipynb": "FIFO", "00_zero.ipynb": "a device", "00_deep.ipynb": "nested more than",
            "00_huge.ipynb": "too large", "01_a_folder.ipynb": "a folder", "'=1+2.py": "cannot tell the exercise",
            "04_notes.txt": "not a notebook", "torch.py": "cannot tell the exercise", "sslcourse": "cannot tell the exercise"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    from sslcourse.grading.classroom.bank import new_bank

    if not sandbox.probe().isolated:
        pytest.skip(f"the machine cannot isolate: {sandbox.probe().reason}")
    base = tmp_path_factory.mktemp("attacks")
    folder = base / "submissions"
    folder.mkdir()
    for name in EXPECTED:
        (folder / name).write_bytes((ATTACKS / name).read_bytes())
    for name, solution in CLASSMATES.items():
        (folder / name).write_bytes((ROOT / "solutions" / solution).read_bytes())
    errors = write_breakers(folder)
    bank = base / "bank"
    new_bank(bank)
    out, peak = base / "gradebook.csv", base / "peak"
    env = {**os.environ, "SSLCOURSE_TEST_SECRET": SECRET}
    run = subprocess.run([sys.executable, "-c", PEAK_WRAPPER, str(peak), "grade", str(folder), "--out", str(out),
                          "--timeout", "3", "--jobs", "2", "--tests", str(bank), "--json"],
                         capture_output=True, timeout=1200, env=env)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-3000:]
    assert SECRET.encode() not in run.stdout + run.stderr
    reports = {r["path"]: r for r in json.loads(run.stdout)}
    rows = {row["file"]: row for row in csv.DictReader(out.open(encoding="utf-8", newline=""))}
    return {"reports": reports, "rows": rows, "bank": bank, "errors": errors, "folder": folder,
            "peak_mib": int(peak.read_text()) / 1024, "out": out}


def test_every_attack_is_in_the_manifest():
    assert sorted(p.name for p in ATTACKS.iterdir() if p.name != "expected.json") == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_submission_scores_what_its_work_is_worth(graded, name):
    report, row, want = graded["reports"][name], graded["rows"][name], EXPECTED[name]
    exercise = name[:2]
    from sslcourse.grading import graded_functions

    expected = (points(exercise, want["earns"], graded["bank"]),
                points(exercise, graded_functions(exercise), graded["bank"]))
    assert (report["score"], report["max_score"]) == expected, \
        (report["flags"], report["error"], [(c["name"], c["message"]) for c in report["checks"] if not c["passed"]])
    assert (int(row["score"]), int(row["max_score"])) == expected
    for flag in want.get("flags", []):
        assert flag in report["flags"] and flag in row["flags"], report["flags"]


def test_no_attack_gets_full_marks_unless_it_is_honest_work(graded):
    from sslcourse.grading import graded_functions

    full = sorted(n for n in EXPECTED if graded["reports"][n]["score"] == graded["reports"][n]["max_score"])
    honest = sorted(n for n, w in EXPECTED.items() if set(w["earns"]) == set(graded_functions(n[:2])))
    assert full == honest


def test_honest_classmates_graded_after_the_attacks_get_full_marks(graded):
    for name in CLASSMATES:
        report = graded["reports"][name]
        assert report["max_score"] > 0 and report["score"] == report["max_score"], report["flags"]
        assert not any(f.startswith(("imported", "timed out", "exited", "broke")) for f in report["flags"])


def test_every_entry_of_the_folder_has_a_row_saying_why(graded):
    rows = graded["rows"]
    names = {os.fsencode(e.name) for e in os.scandir(graded["folder"])}
    assert len(rows) == len(names) == len(EXPECTED) + len(CLASSMATES) + len(graded["errors"]) + 2
    for name, reason in graded["errors"].items():
        assert reason in rows[name]["error"] and rows[name]["score"] == "0", (name, rows[name]["error"])
    assert rows["02_\\xff\\xfe.py"]["max_score"] != "0"  # graded, under a name any spreadsheet can show


def test_the_gradebook_is_safe_to_open_in_a_spreadsheet(graded):
    text = graded["out"].read_text(encoding="utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    answer = graded["rows"]["06_formula_answer.ipynb"]["by hand: Why does BYOL not collapse?"]
    assert answer.startswith("'=HYPERLINK") and "\\ud800" in answer
    assert not Path(f"{graded['out']}.partial").exists()  # the journal goes once the gradebook is written


def test_the_graders_memory_stays_under_1_gib_with_huge_messages(graded):
    assert graded["peak_mib"] < 1024, f"the grader peaked at {graded['peak_mib']:.0f} MiB"


def test_nothing_the_batch_started_outlives_it(graded):
    """No process of the batch still runs: none as a pool uid, none of the attacks' sleeps. A zombie — a process
    that has ended and waits for its parent to collect its exit status — runs nothing; one reparented to the
    machine's init (its sandbox gone) is init's to collect, and counts only if its parent is this process. A uid
    another grader holds now (the other xdist worker grading a class: its lock in /proc/locks) is that grader's."""
    others = sandbox.uids_held_by_others()
    left = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line)
            uid, state, parent = int(status["Uid"].split()[0]), status["State"].split()[0], int(status["PPid"])
        except (OSError, KeyError, ValueError, IndexError):
            continue
        if state == "Z" and parent != os.getpid():
            continue
        if cmd[:2] in ([b"sleep", b"986"], [b"sleep", b"987"]) or (
                sandbox.UID_BASE <= uid < sandbox.UID_BASE + 64 and uid not in others):
            left.append((proc.name, cmd[:3], uid, state, parent))
    assert not left, left


def test_the_course_is_as_recorded_after_the_attacks(graded):
    from sslcourse.grading.classroom.integrity import changes

    assert changes() == []


def test_a_later_stub_still_scores_zero(graded):
    from sslcourse.grading.classroom.grade import grade_path

    report = grade_path(ROOT / "exercises" / "00_knn.ipynb", credit=True)
    assert report["score"] == 0 and report["max_score"] > 0 and report["isolation"].startswith("isolated")


def test_the_graders_environment_does_not_reach_the_learner(graded):
    messages = [c["message"] for c in graded["reports"]["00_leak_my_environment.py"]["checks"]]
    assert any("the grader's secret: absent" in m for m in messages) and not any(SECRET in m for m in messages)
    assert SECRET not in graded["out"].read_text(encoding="utf-8")


def test_torch_not_implemented_error_is_named_not_called_a_stub(graded):
    msgs = [c["message"] for c in graded["reports"]["01_torch_not_implemented.py"]["checks"]
            if c["function"] == "masked_mse"]
    assert all("not implemented yet" not in m for m in msgs)
    assert any("raised NotImplementedError: Subtraction" in m and "line 23" in m for m in msgs), msgs
