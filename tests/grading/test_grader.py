"""The graders: solutions score full marks, generated exercises zero, wrong answers are caught readably,
and a class's batch grades into a correct gradebook."""
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sslcourse.grading import EXERCISES, graded_functions
from sslcourse.grading.checks.core import run_cases
from sslcourse.grading.classroom.generate import BEGIN, END, make_exercise, stale
from sslcourse.grading.classroom.grade import GradingInputError, grade_path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
EXERCISE_FILES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
SSLCOURSE = str(Path(sys.executable).parent / "sslcourse")


def max_points(exercise, function=None):
    return sum(c.points for name, g in graded_functions(exercise).items() if function in (None, name)
               for c in g.cases())


def test_every_exercise_has_a_solution_and_a_grader():
    numbers = sorted(p.name[:2] for p in SOLUTIONS)
    assert numbers == sorted(EXERCISES), "solutions/ and sslcourse.grading.EXERCISES list different exercises"
    assert sorted(p.name for p in EXERCISE_FILES) == sorted(p.name for p in SOLUTIONS)


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


# ---- a class's batch into one CSV ----

def stub_function(source: str, name: str) -> str:
    """The solution with only the answer of function `name` replaced by the exercise stub."""
    start = source.index(BEGIN, source.index(f"def {name}("))
    end = source.index(END, start) + len(END)
    return source[:start] + 'raise NotImplementedError("replace this line with your solution")' + source[end:]


CORRECT_D = ("import torch.nn.functional as F\n\n"
             "def discriminator_loss(real_logits, fake_logits):\n"
             "    return -F.logsigmoid(real_logits).mean() - F.logsigmoid(-fake_logits).mean()\n\n")


@pytest.fixture(scope="module")
def class_batch(tmp_path_factory):
    """A class as a teacher gets it: any names, solutions, stubs, half-done work, an endless loop, a memory hog,
    broken files (attacks: test_attacks.py). Graded by the CLI into a CSV, for credit, two at a time."""
    from sslcourse.grading.runner.sandbox import probe

    if not probe().isolated:
        pytest.skip(f"grading a class is for credit, which needs isolation: {probe().reason}")
    folder = tmp_path_factory.mktemp("submissions")
    expected = {}
    for sol in sorted((ROOT / "solutions").glob("[0-9][0-9]_*.py")):
        ex = sol.name[:2]
        (folder / f"{ex}_alice.ipynb").write_bytes((sol.with_suffix(".ipynb")).read_bytes())
        expected[f"{ex}_alice.ipynb"] = (max_points(ex), max_points(ex))
        (folder / f"{ex}_bob.ipynb").write_bytes((ROOT / "exercises" / sol.with_suffix(".ipynb").name).read_bytes())
        expected[f"{ex}_bob.ipynb"] = (0, max_points(ex))
        if ex in ("00", "04"):  # half-done work: two exercises are enough
            first = list(graded_functions(ex))[-1]  # the last: earlier ones may call it in exercise 00
            (folder / f"{ex}_carol.py").write_text(stub_function(sol.read_text(), first))
            expected[f"{ex}_carol.py"] = (max_points(ex) - max_points(ex, first), max_points(ex))
    (folder / "05_erin_loop.py").write_text(CORRECT_D + "def generator_loss(fake_logits, non_saturating=True):\n"
                                            "    while True:\n        pass\n")
    expected["05_erin_loop.py"] = (max_points("05", "discriminator_loss"), max_points("05"))
    (folder / "05_frank_hog.py").write_text(CORRECT_D + "import torch\n\ndef generator_loss(fake_logits, "
                                            "non_saturating=True):\n    return torch.ones(2**33).sum() * 0\n")
    expected["05_frank_hog.py"] = (max_points("05", "discriminator_loss"), max_points("05"))
    (folder / "02_grace_empty.ipynb").write_text("{}")
    (folder / "03_heidi_latin1.py").write_bytes("# ½\n".encode("latin-1"))
    (folder / "04_ivan_syntax.py").write_text("def nt_xent_loss(z1, z2, temperature=0.5)\n    return 0\n")
    expected.update({"02_grace_empty.ipynb": (0, 0), "03_heidi_latin1.py": (0, 0),
                     "04_ivan_syntax.py": (0, max_points("04"))})
    assert len(expected) == 2 * len(EXERCISES) + 7  # 21 for exercises 00–06, 2 more per exercise added
    out = folder.parent / "gradebook.csv"
    run = subprocess.run([SSLCOURSE, "grade", str(folder), "--out", str(out), "--timeout", "10", "--jobs", "2"],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    rows = {row["file"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    return rows, expected, run


def test_a_class_batch_grades_into_a_correct_gradebook(class_batch):
    rows, expected, _ = class_batch
    assert sorted(rows) == sorted(expected)
    got = {name: (int(row["score"]), int(row["max_score"])) for name, row in rows.items()}
    assert got == expected


def test_the_gradebook_names_what_went_wrong(class_batch):
    rows, _, run = class_batch
    assert "timed out: generator_loss" in rows["05_erin_loop.py"]["flags"]
    assert "similar code: the published solution (100%)" in rows["04_alice.ipynb"]["flags"]  # a copy of it
    assert "similar code" not in rows["04_bob.ipynb"]["flags"]  # stubs are never similar
    assert "not a notebook" in rows["02_grace_empty.ipynb"]["error"]
    assert "not UTF-8" in rows["03_heidi_latin1.py"]["error"]
    assert "syntax error" not in rows["04_ivan_syntax.py"]["error"]  # a note, and the functions are missing
    assert "missing: nt_xent_loss" in rows["04_ivan_syntax.py"]["flags"]
    checks = [c for c in rows["05_alice.ipynb"] if c.startswith("discriminator_loss: ")]
    assert checks and all(rows["05_alice.ipynb"][c] == "1" for c in checks)
    assert all(rows["05_erin_loop.py"][c] == "1" for c in checks)
    assert "grading" in run.stderr  # the progress bar


def test_a_bad_submission_never_stops_the_batch(class_batch):
    rows, _, _ = class_batch
    assert int(rows["05_alice.ipynb"]["score"]) == max_points("05")  # graded after the broken files


# ---- one notebook ----

def write_notebook(tmp_path, name, code_cells):
    cells = [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
             for c in code_cells]
    path = tmp_path / name
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
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
    assert report["score"] == max_points("00", "cosine_similarity_matrix") + 1  # "uses cosine similarity"
    assert "dtype torch.int64, got torch.float32: use .long()" in msgs["returns one int64 class per query"]


def test_exceptions_in_learner_code_are_one_line_with_the_line_even_under_a_sslcourse_folder(tmp_path):
    folder = tmp_path / "sslcourse" / "exercises"  # what a git clone of the course creates
    folder.mkdir(parents=True)
    path = folder / "00_broken.py"
    path.write_text("import torch\n\ndef cosine_similarity_matrix(a, b):\n    return a @ b\n")
    report = grade_path(path)
    msg = report["checks"][0]["message"]
    assert msg.startswith("raised RuntimeError") and "line 4: return a @ b" in msg and "\n" not in msg
    assert "missing: weighted_knn_predict" in report["flags"]


def test_an_endless_loop_costs_that_function_only(tmp_path):
    path = tmp_path / "00_loop.py"
    path.write_text("import torch.nn.functional as F\n\ndef cosine_similarity_matrix(a, b):\n"
                    "    return F.normalize(a.float(), dim=1) @ F.normalize(b.float(), dim=1).T\n\n"
                    "def weighted_knn_predict(*args, **kwargs):\n    while True:\n        pass\n")
    report = grade_path(path, timeout=3)
    assert report["score"] == max_points("00", "cosine_similarity_matrix")
    assert "timed out: weighted_knn_predict" in report["flags"]
    assert any("timed out in this case" in c["message"] for c in report["checks"])


def test_cli_grade_prints_a_score_and_json():
    solution = ROOT / "solutions" / "00_knn.ipynb"
    out = subprocess.run([SSLCOURSE, "grade", str(solution)], capture_output=True, text=True)
    assert out.returncode == 0 and "Score: 17/17" in out.stdout and "✔" in out.stdout
    out = subprocess.run([SSLCOURSE, "grade", str(solution), "--json"], capture_output=True, text=True)
    data = json.loads(out.stdout)
    assert data["score"] == data["max_score"] == 17 and len(data["checks"]) == 17


@pytest.mark.parametrize("content, message", [
    ("{}", "no 'cells' list"), ("[]", "the JSON is a list"), ("{not json", "not valid JSON"),
    ('{"cells": [{"cell_type": "code", "source": 3}]}', "malformed source"), (None, "is a folder")])
def test_malformed_notebooks_are_clear_errors_and_json(tmp_path, content, message):
    path = tmp_path / "00_bad.ipynb"
    path.mkdir() if content is None else path.write_text(content)
    with pytest.raises(GradingInputError, match=re.escape(message)):
        grade_path(path)
    out = subprocess.run([SSLCOURSE, "grade", str(path), "--json"], capture_output=True, text=True)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    data = json.loads(out.stdout)
    assert message in data["error"] and data["score"] == 0 and data["checks"] == []


def test_unknown_exercise_and_missing_file_are_clear(tmp_path):
    with pytest.raises(ValueError, match="name it NN_topic.ipynb or pass --exercise"):
        grade_path(tmp_path / "mine.py")
    with pytest.raises(FileNotFoundError, match="no such file"):
        grade_path(tmp_path / "00_missing.ipynb")
    out = subprocess.run([SSLCOURSE, "grade", str(tmp_path / "mine.py"), "--json"], capture_output=True, text=True)
    assert out.returncode == 2 and "pass --exercise" in json.loads(out.stdout)["error"]


def test_grading_needs_only_the_core_install():
    """nbformat, jupytext, pytest... are [dev]: grading must not import them (nor anything not in the core)."""
    code = ("import sys\nfor m in ('nbformat', 'jupytext', 'nbclient', 'pytest', 'otter'):\n    sys.modules[m] = None\n"
            "from sslcourse.grading.classroom.grade import grade_path\n"
            f"print(grade_path({str(SOLUTIONS[0])!r})['score'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "17", out.stderr[-2000:]


# ---- the cases themselves: constants earn nothing, hints name the idea and the usual mistakes ----

@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_constant_outputs_earn_nothing(exercise):
    for name, g in graded_functions(exercise).items():
        for constant in (torch.zeros, torch.ones):
            def fn(*args, **kwargs):
                return (constant(()), constant(())) if g.returns == 2 else constant(())

            results = run_cases(name, fn, g.cases(), g.returns)
            assert not any(r.passed for r in results), f"{name}: a constant earned {[r.name for r in results if r.passed]}"


BROADCAST_PROBE = """
import resource, torch
from sslcourse.grading import EXERCISES, graded_functions
from sslcourse.grading.checks.core import run_cases
used = int(open("/proc/self/status").read().split("VmSize:")[1].split()[0]) * 1024
resource.setrlimit(resource.RLIMIT_AS, (used + 512 * 2**20, resource.RLIM_INFINITY))
wrong = torch.zeros(262144, 1, 1, 1, 1)  # 1 MB, shaped to broadcast against anything
for ex in EXERCISES:
    for name, g in graded_functions(ex).items():
        for r in run_cases(name, lambda *a, **k: (wrong, wrong) if g.returns == 2 else wrong, g.cases(), g.returns):
            if "allocate" in r.message or "memory" in r.message.lower():
                print(ex, name, r.name, r.message[:120])
"""


def test_a_wrong_shaped_output_is_refused_before_it_is_compared():
    """Every case checks an output's shape before computing with it: a 1 MB output shaped (262144, 1, 1, 1, 1)
    would broadcast against a reference into gigabytes in the grader."""
    out = subprocess.run([sys.executable, "-c", BROADCAST_PROBE], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout == "", out.stdout + out.stderr[-2000:]


CODE_IN_HINTS = re.compile(r"torch\.|F\.|\breturn\b|scatter|argsort|topk|rot90|repeat_interleave|cross_entropy|"
                           r"normalize|logsigmoid|softplus|randint|randperm|\.sum\(|\.mean\(|arange|masked_fill|"
                           r"clamp|argmax|gather|one_hot|itertools|Generator\(|\[:")


@pytest.mark.parametrize("exercise", sorted(EXERCISES))
def test_hints_point_to_the_idea_not_the_line(exercise):
    for name, g in graded_functions(exercise).items():
        for case in g.cases():
            assert case.hint, f"{name}: {case.name} has no hint"
            assert not CODE_IN_HINTS.search(case.hint), f"{name}: the hint of {case.name!r} holds code: {case.hint}"


def results_of(exercise, function, fn):
    g = graded_functions(exercise)[function]
    return run_cases(function, fn, g.cases(), g.returns)


def test_clockwise_rotation_gets_one_clear_message():
    def clockwise(images):
        n = len(images)
        return torch.cat([torch.rot90(images, -r, dims=(2, 3)) for r in range(4)]), torch.arange(4).repeat_interleave(n)

    failed = [r for r in results_of("02", "rotate_batch", clockwise) if not r.passed and "holds, but" not in r.message]
    assert len(failed) == 1 and "clockwise" in failed[0].message


def test_an_inverted_mask_convention_is_named():
    def inverted_block(n, size=32, block=12, generator=None):
        top = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
        left = torch.randint(0, size - block + 1, (n, 1, 1), generator=generator)
        r, c = torch.arange(size).view(1, size, 1), torch.arange(size).view(1, 1, size)
        return ((r >= top) & (r < top + block) & (c >= left) & (c < left + block)).float().unsqueeze(1)

    def inverted_mse(pred, target, mask):
        return ((pred - target) ** 2 * mask).sum() / (mask.sum() * pred.shape[1]).clamp(min=1)

    for exercise, function, fn in (("01", "random_block_mask", inverted_block), ("01", "masked_mse", inverted_mse)):
        messages = [r.message for r in results_of(exercise, function, fn) if not r.passed]
        assert any("1 = visible" in m or "*visible*" in m for m in messages), messages


def test_a_missing_temperature_is_named():
    import torch.nn.functional as F

    def no_tau(z1, z2, temperature=0.5):
        n = len(z1)
        z = F.normalize(torch.cat([z1, z2]), dim=1)
        sim = (z @ z.T).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
        return F.cross_entropy(sim, torch.arange(2 * n).roll(n))

    messages = [r.message for r in results_of("04", "nt_xent_loss", no_tau) if not r.passed]
    assert any("divided by τ" in m for m in messages), messages
    assert not any("torch operations only" in m for m in messages)


def test_inline_checks_run_on_clones_and_reject_subclasses(capsys):
    from sslcourse.grading import check_masked_mse

    class Agreeable(torch.Tensor):
        pass

    report = check_masked_mse(lambda pred, target, mask: torch.zeros(()).as_subclass(Agreeable))
    assert report.score == 0 and "Checking masked_mse" in capsys.readouterr().out


# ---- hidden tests kept by the instructor ----

def test_a_hidden_test_bank_adds_cases_from_a_secret_seed(tmp_path):
    from sslcourse.grading.classroom.bank import new_bank

    written = new_bank(tmp_path / "bank")
    assert sorted(p.name for p in written) == [f"bank_{ex}.py" for ex in sorted(EXERCISES)]
    solution = ROOT / "solutions" / "04_simclr.ipynb"
    report = grade_path(solution, tests=tmp_path / "bank")
    hidden = [c for c in report["checks"] if c["name"].startswith("hidden: ")]
    count = 3 * len(graded_functions("04"))  # the bank's random_cases(..., repeats=3): one value case each
    assert len(hidden) == count and report["score"] == report["max_score"] == max_points("04") + count
    assert grade_path(ROOT / "exercises" / "04_simclr.ipynb", tests=tmp_path / "bank")["score"] == 0
    # another seed, other inputs: the case names carry the sizes drawn
    bank = tmp_path / "bank" / "bank_04.py"
    names = {c["name"] for c in hidden}
    bank.write_text(re.sub(r"SEED = \d+", "SEED = 12345", bank.read_text()))
    other = {c["name"] for c in grade_path(solution, tests=tmp_path / "bank")["checks"] if c["name"].startswith("hidden")}
    assert names != other


def test_a_bank_that_fails_is_a_clear_error(tmp_path):
    (tmp_path / "bank_00.py").write_text("def cases():\n    return 1 / 0\n")
    with pytest.raises(GradingInputError, match="bank_00.py failed: ZeroDivisionError"):
        grade_path(ROOT / "solutions" / "00_knn.ipynb", tests=tmp_path)
    with pytest.raises(GradingInputError, match="no bank_01.py"):
        grade_path(ROOT / "solutions" / "01_masking.ipynb", tests=tmp_path)
