"""The class tools: any file is read safely or refused with its reason, the gradebook is safe to open and written
whole, a stopped batch resumes, the course's files are checked against their record, near-identical code is
flagged."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sslcourse.grading.checks.core import GradingInputError
from sslcourse.grading.classroom import gradebook, integrity, similarity
from sslcourse.grading.classroom.submission import read_submission
from sslcourse.grading.runner import sandbox

ROOT = Path(__file__).resolve().parents[2]
CLI = str(Path(sys.executable).parent / "sslcourse")


# ---- reading what a folder holds ----

def test_a_fifo_a_device_and_deep_json_are_refused_at_once(tmp_path):
    os.mkfifo(tmp_path / "00_fifo.ipynb")
    os.symlink("/dev/zero", tmp_path / "00_zero.ipynb")
    (tmp_path / "00_deep.ipynb").write_text("{\"cells\": " + "[" * 50_000)
    done = []
    reader = threading.Thread(target=lambda: done.append([_error(tmp_path / n) for n in
                                                          ("00_fifo.ipynb", "00_zero.ipynb", "00_deep.ipynb")]),
                              daemon=True)
    reader.start()
    reader.join(timeout=20)
    assert done, "reading hung"
    fifo, zero, deep = done[0]
    assert "a FIFO" in fifo and "a device" in zero and "nested more than" in deep


def _error(path):
    with pytest.raises(GradingInputError) as err:
        read_submission(path)
    return str(err.value)


# ---- the gradebook ----

def test_gradebook_cells_are_never_formulas_and_always_utf8():
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert gradebook.safe_text(text).startswith("'")
    assert gradebook.safe_text("a\ud800b") == "a\\ud800b"
    assert gradebook.safe_text("plain: 3-1=2") == "plain: 3-1=2"


def test_the_gradebook_is_replaced_whole_or_not_at_all(tmp_path):
    out = tmp_path / "gradebook.csv"
    report = {"path": "a.py", "exercise": "00", "score": 1, "max_score": 2, "flags": [], "error": None,
              "checks": [], "by_hand": []}
    gradebook.write_gradebook([report], out)
    before = out.read_bytes()
    with pytest.raises(ValueError):
        gradebook.write_gradebook([{**report, "score": "not a number"}], out)
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["gradebook.csv"]


@pytest.mark.skipif(not sandbox.probe().isolated, reason="grading for credit needs isolation")
def test_a_stopped_batch_resumes_with_the_rows_it_had(tmp_path):
    folder, out = tmp_path / "subs", tmp_path / "gradebook.csv"
    folder.mkdir()
    stub = "def discriminator_loss(real_logits, fake_logits):\n    raise NotImplementedError\n"
    (folder / "05_a.py").write_text(stub)
    (folder / "05_b.py").write_text(stub)
    (folder / "05_c.py").write_text("import time\n\ndef discriminator_loss(real_logits, fake_logits):\n"
                                    "    time.sleep(1000)\n")
    run = subprocess.Popen([CLI, "grade", str(folder), "--out", str(out), "--jobs", "1", "--timeout", "60"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    journal = Path(f"{out}.partial")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 2):
        time.sleep(0.5)
    run.send_signal(signal.SIGTERM)  # while 05_c sleeps in its worker
    _, err = run.communicate(timeout=60)
    assert run.returncode == 130 and "run the same command again" in err and not out.exists()
    lines = [json.loads(x) for x in journal.read_text().splitlines()]
    assert sorted(e["report"]["path"] for e in lines) == ["05_a.py", "05_b.py"]
    journal.write_text("".join(json.dumps({**e, "report": {**e["report"], "flags": ["from the journal"]}}) + "\n"
                               for e in lines))  # marked, to see that a resumed batch takes these rows as they are
    (folder / "05_c.py").write_text(stub)
    run = subprocess.run([CLI, "grade", str(folder), "--out", str(out), "--jobs", "1", "--timeout", "60"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = {r["file"]: r for r in csv.DictReader(out.open(encoding="utf-8"))}
    assert [rows[n]["flags"] for n in ("05_a.py", "05_b.py")] == ["from the journal"] * 2
    assert rows["05_c.py"]["flags"].startswith("missing: ") and rows["05_c.py"]["score"] == "0"  # graded now
    assert not journal.exists()


# ---- the course's files ----

@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    copy = tmp_path / "sslcourse"
    shutil.copytree(ROOT / "sslcourse", copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(integrity, "package_dir", lambda: copy)
    monkeypatch.setenv("SSLCOURSE_COURSE_RECORD", str(tmp_path / "record.json"))
    integrity.record()
    return copy


def test_a_changed_course_file_stops_grading_for_credit(course_copy):
    assert integrity.verify(for_credit=True) is None
    module = course_copy / "grading" / "checks" / "knn.py"
    module.write_text(module.read_text().replace("def reference_knn", "def _unused_then_reference_knn"))
    (course_copy / "grading" / "checks" / "gan.py").write_text("")  # truncated
    (course_copy / "grading" / "extra.py").write_text("x = 1\n")
    with pytest.raises(integrity.CourseChanged) as err:
        integrity.verify(for_credit=True)
    message = str(err.value)
    for part in ("sslcourse/grading/checks/knn.py: changed", "sslcourse/grading/checks/gan.py: changed",
                 "sslcourse/grading/extra.py: added since install", "sslcourse record-course"):
        assert part in message
    assert integrity.verify(for_credit=False).startswith("this self-check may not be right")


def test_compiled_code_that_is_not_its_source_is_a_change(course_copy):
    import importlib.util
    import marshal

    source = course_copy / "grading" / "checks" / "gan.py"
    pyc = Path(importlib.util.cache_from_source(str(source)))
    pyc.parent.mkdir(exist_ok=True)
    forged = compile("def discriminator_loss(*a):\n    return 0\n", str(source), "exec")
    pyc.write_bytes(b"\0" * 16 + marshal.dumps(forged))
    assert integrity.changes() == [f"sslcourse/grading/checks/__pycache__/{pyc.name}: compiled code that is not its "
                                   "source's"]
    pyc.write_bytes(b"\0" * 16 + marshal.dumps(compile(source.read_bytes(), str(source), "exec", dont_inherit=True)))
    assert integrity.changes() == []


def test_without_a_record_grading_for_credit_says_how_to_make_one(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_COURSE_RECORD", str(tmp_path / "none.json"))
    monkeypatch.setattr(integrity, "recorded", lambda: (None, "no record of the course's files"))
    with pytest.raises(integrity.CourseChanged, match="run `sslcourse record-course` once after installing"):
        integrity.verify(for_credit=True)
    assert integrity.verify(for_credit=False) is None


# ---- near-identical code ----

ORIGINAL = """
import torch
import torch.nn.functional as F

def nt_xent_loss(z1, z2, temperature=0.5):
    # the loss
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(sim, torch.arange(2 * n).roll(n))

def simclr_views(images, augment):
    return augment(images), augment(images)
"""
RENAMED = """
import torch
import torch.nn.functional as F


def nt_xent_loss(a, b, temperature=0.5):
    \"\"\"My own work, honestly.\"\"\"
    size = len(a)
    emb = F.normalize(torch.cat([a, b]), dim=1)
    s = emb @ emb.T / temperature
    s = s.masked_fill(torch.eye(2 * size, dtype=torch.bool), float("-inf"))   # no self
    return F.cross_entropy(s, torch.arange(2 * size).roll(size))
def simclr_views(x, f):
    return f(x), f(x)
"""
OTHER = """
import torch

def nt_xent_loss(z1, z2, temperature=0.5):
    z = torch.cat([z1, z2])
    z = z / z.norm(dim=1, keepdim=True)
    logits = (z @ z.T) / temperature
    n2 = logits.shape[0]
    logits = logits - 1e9 * torch.eye(n2)
    targets = (torch.arange(n2) + n2 // 2) % n2
    log_p = logits.log_softmax(dim=1)
    return -log_p[torch.arange(n2), targets].mean()

def simclr_views(images, augment):
    first = augment(images)
    second = augment(images)
    return first, second
"""
STUB = "def nt_xent_loss(z1, z2, temperature=0.5):\n    raise NotImplementedError\n"


def test_renamed_and_reformatted_copies_are_flagged_and_different_work_is_not():
    names = ["nt_xent_loss", "simclr_views", "alignment_uniformity"]
    prints = {k: similarity.fingerprint([code], names) for k, code in
              {"original": ORIGINAL, "renamed": RENAMED, "other": OTHER, "stub": STUB}.items()}
    assert prints["stub"] == []
    pairs = similarity.similar_pairs(prints)
    assert [(a, b) for a, b, _ in pairs] == [("original", "renamed")] and pairs[0][2] == 1.0
