"""What a teacher checks in a lesson's source before using it in a class (no lesson is executed here):
no exercise's answer shown before the exercise, headings where a table of contents sees them, and every
checkpoint a lesson loads trained by that lesson or an earlier one."""
import io
import re
import tokenize
from pathlib import Path

import pytest

from sslcourse.grading import EXERCISES, graded_functions

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
# The lesson that teaches each method (and trains it first): a lesson may train or load only these of its own
# number or lower.
TAUGHT_IN = {"supervised": "00", "inpainting": "01", "rotation": "02", "jigsaw": "03", "simclr": "04", "gan": "05",
             "moco": "06", "byol": "06", "mae": "07"}


def cells(path: Path) -> list[tuple[str, str]]:
    """(kind, source) of every cell of a jupytext percent script: kind is "code" or "markdown"."""
    out, kind, lines = [], None, []
    for line in path.read_text().splitlines():
        if line.startswith("# %%"):
            if kind is not None:
                out.append((kind, "\n".join(lines)))
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        elif kind is not None:
            lines.append(line)
    if kind is not None:
        out.append((kind, "\n".join(lines)))
    return out


def code_of(path: Path) -> str:
    return "\n".join(src for kind, src in cells(path) if kind == "code")


WINDOW = 24  # tokens: a shared run this long of the same shape is the same computation, not a common idiom


def shape_of(code: str) -> list[str]:
    """The tokens of ``code`` with every name, number and string replaced by a placeholder, comments and layout
    dropped: the same computation written with other variable names has the same shape."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return []
    keep = {tokenize.NAME: "x", tokenize.NUMBER: "0", tokenize.STRING: "s"}
    return [keep.get(t.type, t.string) for t in tokens
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                              tokenize.ENDMARKER)]


def windows(code: str) -> set[str]:
    """Every run of WINDOW tokens of each line of ``code``, as shapes."""
    out = set()
    for line in code.splitlines():
        tokens = shape_of(line.strip())
        out |= {" ".join(tokens[i:i + WINDOW]) for i in range(len(tokens) - WINDOW + 1)}
    return out


def solution_lines(number: str) -> dict[str, set[str]]:
    """{graded function: the token windows of its answer (between BEGIN and END SOLUTION)}."""
    source = next((ROOT / "solutions").glob(f"{number}_*.py")).read_text()
    answers = {}
    for name in graded_functions(number):
        m = re.search(rf"^def {name}\(.*?### BEGIN SOLUTION\n(.*?)### END SOLUTION", source, re.S | re.M)
        assert m, f"solutions/{number}: no answer block for {name}"
        answers[name] = windows(m.group(1))
    return answers


def lessons_before(number: str) -> list[Path]:
    """The lessons a learner reads before exercise ``number``: its own lesson and every earlier one."""
    return [p for p in LESSONS if p.name[:2] <= number]


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_no_lesson_shows_an_answer_before_its_exercise(number):
    for name, answer in solution_lines(number).items():
        for lesson in lessons_before(number):
            code = code_of(lesson)
            assert not re.search(rf"^\s*def {name}\(", code, re.M), \
                f"{lesson.name} defines {name}, which exercise {number} asks the learner to write"
            assert not re.search(rf"show_source\([\w.]*\b{name}\b\)", code), \
                f"{lesson.name} shows the source of {name}, the answer of exercise {number}"
            shown = windows(code) & answer
            assert not shown, (f"{lesson.name} writes out lines of exercise {number}'s answer for {name} "
                               f"(other names, same computation): {sorted(shown)}")


def test_the_answer_check_would_catch_a_lesson_that_writes_nt_xent_out():
    """The check above must be able to fail: NT-Xent written with other names, as a lesson once did."""
    written_out = ("sim = (zz @ zz.T / 0.2).masked_fill(torch.eye(2 * n, dtype=torch.bool, device=zz.device), "
                   "float('-inf'))")
    assert windows(written_out) & set().union(*solution_lines("04").values())


def headings_in_code_cells(path: Path) -> list[str]:
    return [m.group(0) for kind, source in cells(path) if kind == "code"
            for m in re.finditer(r"^#[ \t]*#{1,6} .*", source, re.M)]


def methods_trained_or_loaded(code: str) -> set[str]:
    used = set(re.findall(r"(?:plan_run|train_method)\(\s*\"(\w+)\"", code))
    return used | ({"supervised"} if re.search(r"baseline\(\s*\"supervised\"", code) else set())


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_headings_are_in_markdown_cells(lesson):
    assert not headings_in_code_cells(lesson), (f"{lesson.name}: {headings_in_code_cells(lesson)} sit in code cells, "
                                                "where the table of contents cannot see them: give them markdown cells")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.name)
def test_a_lesson_loads_only_what_it_or_an_earlier_lesson_trained(lesson):
    for method in methods_trained_or_loaded(code_of(lesson)):
        assert method in TAUGHT_IN, f"{lesson.name} trains {method!r}, which no lesson teaches (TAUGHT_IN)"
        assert TAUGHT_IN[method] <= lesson.name[:2], \
            f"{lesson.name} trains or loads {method}, which lesson {TAUGHT_IN[method]} teaches later"


def test_the_layout_checks_can_fail(tmp_path):
    lesson = tmp_path / "03_x.py"
    lesson.write_text('# %% [markdown]\n# ## fine\n\n# %%\nx = 1\n#\n# ## 2. A heading in code\n'
                      'run = plan_run("simclr", p, train)\nbaseline("supervised", p, train, test)\n')
    assert headings_in_code_cells(lesson) == ["# ## 2. A heading in code"]
    assert methods_trained_or_loaded(code_of(lesson)) == {"simclr", "supervised"}  # simclr: taught in 04, after 03


def test_every_lesson_is_checked():
    assert len(LESSONS) >= 8 and LESSONS[0].name.startswith("00") and LESSONS[-1].name.startswith("08")


def test_the_lessons_that_draw_per_epoch_curves_monitor_as_every_other_trainer_does():
    """A checkpoint carries the curves its lesson draws whoever trained it first (lesson 08, `sslcourse train`):
    only if the lesson evaluates each epoch exactly as `runs.lesson_monitor` does."""
    from sslcourse.runs import KNN_MONITORED, KNN_MONITOR_BANK

    knn_call = f"knn_monitor(train, test, n_train={KNN_MONITOR_BANK})"
    by_lesson = {path.name[:2]: code_of(path) for path in LESSONS}
    for method in KNN_MONITORED:
        assert knn_call in by_lesson[TAUGHT_IN[method]], (method, knn_call)
    gan = by_lesson[TAUGHT_IN["gan"]]
    assert "judge = gan_judge(p, train, test, seed=SEED)" in gan and "N_SCORED = gan_scored_samples(train, test)" in gan
    assert "judge.monitor(N_SCORED, seed=SEED)" in gan
    assert "train_method(name, p, train, seed=SEED, test=test)" in by_lesson["08"], "lesson 08 trains monitored"
