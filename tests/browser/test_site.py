"""The course as a website (`make site`, docs/build_site.py), built from executed lessons and read in a real browser.

Lesson 00 is executed as `make run` executes it (`sslcourse course --only 00`, the quick profile: the run that
tests/test_cli.py checks too, made once a session in tests/conftest.py), and the site is built from it; the other
lessons appear without outputs (--allow-missing). In headless Chromium, from a localhost http server (Sphinx's
search needs http): the home page links to the lesson, whose figures all load; search finds a word of the lesson;
the lesson links to its exercise, which shows the stubs and none of the solution's code, its equations typeset by
the site's own MathJax (the browser has no network); every Colab link names pyproject.toml's release.

Without a browser: what stops a build, each named — a lesson that raised, stopped early or was run from another
version of its source, a lesson not executed, and (through Sphinx, warnings as errors) a missing figure and a broken
cross-reference.
The browser tests skip, with the reason, where Chromium or Playwright is missing (.ci/run installs both).
"""
import functools
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
LESSON = "00_introduction"
EXERCISE = "00_knn"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
SHOTS = ROOT / "build" / "browser"

pytest.importorskip("myst_nb", reason="the [site] extra is not installed (Python >= 3.11; make setup installs it)")

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

needs_browser = pytest.mark.skipif(sync_playwright is None or not Path(CHROMIUM).exists(),
                                   reason="Playwright or Chromium is not installed (.ci/run installs both)")


def load_builder():
    spec = importlib.util.spec_from_file_location("build_site", ROOT / "docs" / "build_site.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_site = load_builder()


@pytest.fixture(scope="module")
def executed(course_run) -> Path:
    """Lesson 00 as `make run` leaves it (notebooks/, run.json, results/): tests/conftest.py runs it once a session."""
    build, run = course_run
    assert run.returncode == 0, f"lesson {LESSON} did not run:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    return build


@pytest.fixture(scope="module")
def site(executed, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "site"
    build = subprocess.run([sys.executable, str(ROOT / "docs" / "build_site.py"), str(executed / "notebooks"),
                            "--out", str(out), "--allow-missing"], cwd=ROOT, capture_output=True, text=True)
    assert build.returncode == 0, f"make site failed:\n{build.stdout[-3000:]}\n{build.stderr[-5000:]}"
    return out


def colab_url(folder: str, name: str) -> str:
    from sslcourse.grading.generate import colab_badge, release

    return re.search(r"\]\((https://colab[^)]+)\)$", colab_badge(*release(ROOT), folder, name)).group(1)


def test_the_site_holds_every_page_and_says_what_produced_the_outputs(executed, site):
    lessons = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    exercises = sorted(p.stem for p in (ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
    for page in ["index", "search", "results", "benchmarks", "api/index", "api/sslcourse.train"] \
            + [f"notebooks/{s}" for s in lessons] + [f"exercises/{s}" for s in exercises]:
        assert (site / f"{page}.html").exists(), f"the site has no page {page}.html"
    home = (site / "index.html").read_text()
    record = json.loads((executed / "run.json").read_text())["lessons"][f"{LESSON}.ipynb"]
    for fact in (record["profile"], record["commit"], record["torch"], record["machine"]):
        assert fact in home, f"the home page does not say what produced the outputs: {fact!r} missing"
    assert home.count("not executed in this build") == len(lessons) - 1
    lesson = (site / "notebooks" / f"{LESSON}.html").read_text()
    assert record["commit"] in lesson and colab_url("notebooks", f"{LESSON}.ipynb") in lesson
    results = (site / "results.html").read_text()
    recorded = json.loads((executed / "results" / f"{LESSON}.json").read_text())["results"]
    for encoder, r in recorded.items():
        assert encoder in results and f"{100 * r['knn_accuracy']:.1f} %" in results, f"{encoder} is not in results"


@needs_browser
def test_a_reader_follows_the_home_page_to_a_lesson_whose_figures_load(served, browser, executed):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{served}/index.html")
    title = build_site.title_of(nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4), LESSON)
    page.locator("article a", has_text=build_site.short_title(title)).first.click()
    page.wait_for_url(f"**/notebooks/{LESSON}.html")
    page.wait_for_load_state("load")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"site-{LESSON}.png"))
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    images = page.evaluate("Array.from(document.querySelectorAll('article img')).map("
                           "i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}))")
    ran = nbformat.read(executed / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    figures = sum("image/png" in out.get("data", {}) for cell in ran.cells for out in cell.get("outputs", []))
    assert figures >= 3, f"lesson {LESSON} draws figures"
    broken = [i["src"] for i in images if not i["ok"]]
    assert not broken, f"images that do not load on the lesson's page: {broken}"
    assert len(images) >= figures, f"{figures} figures in the notebook, {len(images)} images on the page"
    badge = page.locator("article a[href*='colab.research.google.com']").first
    assert badge.get_attribute("href") == colab_url("notebooks", f"{LESSON}.ipynb")
    download = page.locator("article a.download", has_text="Download the notebook").first
    with page.expect_download() as got:
        download.click()
    downloaded = nbformat.read(got.value.path(), as_version=4)
    nb = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    assert [c.source for c in downloaded.cells] == [c.source for c in nb.cells], "the download is the lesson"
    assert not any(c.get("outputs") for c in downloaded.cells), "the download is the notebook to run, no outputs"
    page.close()


@needs_browser
def test_search_finds_a_word_of_the_lesson(site, served, browser):
    nb = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    words = re.findall(r"\b[a-z]{9,}\b", " ".join(c.source for c in nb.cells if c.cell_type == "markdown"))
    home = (site / "index.html").read_text().lower()
    word = next(w for w in words if w not in home)  # found in the lesson, not on the page the search starts from
    page = browser.new_page()
    page.goto(f"{served}/search.html?q={word}")
    page.wait_for_selector("#search-results ul.search li a", timeout=30_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(a => a.href)")
    assert any(h.split("#")[0].endswith(f"notebooks/{LESSON}.html") for h in hits), f"search {word!r}: {hits}"
    page.close()


def solution_lines(name: str) -> list[str]:
    """The code lines of the solution's answer blocks that the exercise does not have."""
    from sslcourse.grading.generate import BEGIN, END

    exercise = (ROOT / "exercises" / f"{name}.py").read_text()
    lines, inside = [], False
    for line in (ROOT / "solutions" / f"{name}.py").read_text().splitlines():
        if line.strip() in (BEGIN, END):
            inside = line.strip() == BEGIN
        elif inside and len(line.strip()) >= 12 and line.strip() not in exercise:
            lines.append(line.strip())
    return lines


@needs_browser
def test_the_lesson_links_to_its_exercise_which_has_no_solution(served, browser):
    page = browser.new_page()
    page.goto(f"{served}/notebooks/{LESSON}.html")
    page.locator("article a", has_text="Exercise 00").first.click()
    page.wait_for_url(f"**/exercises/{EXERCISE}.html")
    text = page.locator("article").inner_text()
    answers = solution_lines(EXERCISE)
    assert answers, "the solution has answer lines to look for"
    shown = [line for line in answers if line in text]
    assert not shown, f"the exercise page shows the solution: {shown[:5]}"
    assert "NotImplementedError" in text and "def " in text, "the exercise page shows the stubs to fill in"
    math = page.locator("article .math.notranslate").count()  # Sphinx's; MathJax adds spans of its own
    assert math > 0, "the exercise states its math"
    page.wait_for_function("n => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 && "
                           "document.querySelectorAll('article script[type^=\"math/tex\"]').length >= n", arg=math,
                           timeout=60_000)  # typeset by the site's own MathJax: no network in this browser
    assert page.locator("article .merror").count() == 0 and "Math Processing Error" not in page.content()
    badge = page.locator("article a[href*='colab.research.google.com']").first
    assert badge.get_attribute("href") == colab_url("exercises", f"{EXERCISE}.ipynb")
    page.close()


# What stops a build, without a browser. The executed lesson is changed the way a failure would change it.

def changed_copy(executed: Path, tmp_path: Path, change) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = nbformat.read(executed / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    change(nb)
    nbformat.write(nb, folder / f"{LESSON}.ipynb")
    return folder


def last_code_cell(nb) -> int:
    return max(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs)


def raised(nb):
    nb.cells[last_code_cell(nb)].outputs.append(
        nbformat.v4.new_output("error", ename="ValueError", evalue="a shape mismatch", traceback=[]))


def stopped(nb):
    nb.cells[last_code_cell(nb)].execution_count = None


def edited(nb):
    nb.cells[-1].source += "\nA sentence added after the run."


@pytest.mark.parametrize("change, message", [
    (raised, "cell {cell} raised ValueError: a shape mismatch"),
    (stopped, "cell {cell} and the ones after it never ran"),
    (edited, "the executed copy was run from another version of notebooks/{lesson}.ipynb (cell {last} differs)"),
], ids=["raised", "stopped", "older-than-its-source"])
def test_a_broken_lesson_stops_the_build_and_is_named(executed, tmp_path, change, message):
    folder = changed_copy(executed, tmp_path, change)
    nb = nbformat.read(folder / f"{LESSON}.ipynb", as_version=4)
    cell = last_code_cell(nb)
    with pytest.raises(build_site.SiteError) as err:
        build_site.build(folder, tmp_path / "site", allow_missing=True)
    assert f"{LESSON}.ipynb: " + message.format(cell=cell, lesson=LESSON, last=len(nb.cells) - 1) in str(err.value)
    assert not (tmp_path / "site").exists()


def test_lessons_not_executed_stop_the_build_unless_allowed(executed, tmp_path):
    with pytest.raises(build_site.SiteError, match=r"not executed in this build: 01_\w+\.ipynb.*--allow-missing"):
        build_site.build(executed / "notebooks", tmp_path / "site")


def test_a_missing_figure_and_a_broken_link_fail_the_build_and_are_named(executed, tmp_path, capfd):
    """A lesson with a figure that is not there and a link to a lesson that does not exist (through a copy of the
    course: the lesson's source must match its executed copy)."""
    repo = tmp_path / "course"
    for folder in ("notebooks", "exercises"):
        (repo / folder).mkdir(parents=True)
    shutil.copyfile(ROOT / "pyproject.toml", repo / "pyproject.toml")
    shutil.copyfile(ROOT / "BENCHMARKS.md", repo / "BENCHMARKS.md")
    link = "[the next lesson](99_missing_lesson.ipynb)"
    figure = "![a figure](figures/not_there.png)"

    def broken(nb):
        nb.cells.insert(-1, nbformat.v4.new_markdown_cell(f"See {link}."))
        nb.cells[last_code_cell(nb)].outputs.append(nbformat.v4.new_output("display_data",
                                                                          data={"text/markdown": figure}))

    folder = changed_copy(executed, tmp_path, broken)
    source = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    source.cells.insert(-1, nbformat.v4.new_markdown_cell(f"See {link}."))
    nbformat.write(source, repo / "notebooks" / f"{LESSON}.ipynb")
    with pytest.raises(build_site.SiteError, match="Sphinx found the problems above"):
        build_site.build(folder, tmp_path / "site", repo=repo, api=False)
    err = capfd.readouterr().err
    nb = nbformat.read(folder / f"{LESSON}.ipynb", as_version=4)
    figure_cell, link_cell = last_code_cell(nb), len(nb.cells) - 2
    assert re.search(rf"^notebooks/{LESSON}\.ipynb, cell {figure_cell}: WARNING: image file not readable: "
                     r".*not_there\.png", err, re.M), err
    assert re.search(rf"^notebooks/{LESSON}\.ipynb, cell {link_cell}: WARNING: .*cross-reference target "
                     r"not found: '99_missing_lesson\.ipynb'", err, re.M), err
    assert not (tmp_path / "site").exists()


@pytest.fixture(scope="module")
def served(site):
    """The site on a localhost http server (Sphinx's search loads its index with fetch: not from file://)."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
