"""What a learner sees: JupyterLab in a real browser (headless Chromium driven by Playwright).

`make lab`'s path, start to end: a learner's copy of the course (`sslcourse workspace`); JupyterLab on 127.0.0.1
with a token; in Chromium, each lesson that has an explorer (and lesson 00) is opened, Run → Run All Cells, and
once the kernel is idle the page must show: no error output, no "Error displaying widget", every explorer exactly
once and live (moving a slider redraws its figure), figures. Then the learner types a cell of their own below the
lesson — a short run of the course's training loop — and runs it: its progress bar must be a live widget. A
screenshot of each lesson goes to build/browser/ for a person to look at. The lesson is saved (Ctrl+S) and the
course's tracked files must still be untouched.

The cache is the session's (`make test` sets SSLCOURSE_CACHE), else a fresh one. On the session's, lesson 00 loads
the supervised run that the lessons under nbval train (or trains it for them, whichever comes first: the cache's
lock lets one process train it) instead of training it a second time, for 90 s of a core; a loaded run shows no
progress bar, so the learner's own cell is what shows the training loop's bar.

Skips, with the reason, where Chromium or Playwright is missing (.ci/run installs both, so CI always runs it).
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "build" / "browser"
# Explorers each. Lesson 00 has an explorer, progress bars and figures: what the browser adds over nbval (widgets
# live and shown once) is tested there. Other lessons are left to nbval: each costs 1-4 minutes of make test here.
LESSONS = {"00_introduction.ipynb": 1}
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]

# What a learner types below lesson 00 (its `p`, `train`, `SEED`, `fit`): the course's training loop, briefly.
OWN_CELL = """from sslcourse.methods.supervised import Supervised
from sslcourse.models import build_backbone

small = train.select(torch.arange(512), "my first 512 images")
mine = fit(Supervised(build_backbone(p.backbone, seed=SEED)), small, epochs=1, batch_size=128, desc="own run")
print("own run:", len(mine.steps), "logged steps")"""

try:
    from playwright.sync_api import sync_playwright
except ImportError:
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None, reason="Playwright is not installed (.ci/run installs it)"),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (.ci/run: apt-get install chromium)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lab_settings(folder: Path) -> Path:
    """Render every cell (no windowing, so the page holds all outputs) and no news pop-up."""
    for plugin, settings in {"@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
                             "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"}}.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings))
    return folder


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("learner")
    tracked_before = subprocess.run(["git", "status", "--porcelain", "notebooks", "exercises", "solutions"],
                                    cwd=ROOT, capture_output=True, text=True).stdout
    workspace = base / "my-course"
    subprocess.run([sys.executable, "-m", "sslcourse", "workspace", str(workspace)], check=True, capture_output=True)
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "SSLCOURSE_CACHE": os.environ.get("SSLCOURSE_CACHE") or str(base / "cache"),
           "SSLCOURSE_PROFILE": "quick",
           "TQDM_MININTERVAL": "1", "JUPYTERLAB_SETTINGS_DIR": str(lab_settings(base / "settings"))}
    env.pop("SSLCOURSE_STATIC", None)  # live widgets, as a learner has them
    log = open(base / "lab.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={workspace}",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=workspace)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail("JupyterLab did not start:\n" + (base / "lab.log").read_text()[-3000:])
            time.sleep(1)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield {"url": url, "token": token, "browser": browser, "workspace": workspace}
        browser.close()
    server.terminate()
    server.wait(timeout=30)
    tracked_after = subprocess.run(["git", "status", "--porcelain", "notebooks", "exercises", "solutions"],
                                   cwd=ROOT, capture_output=True, text=True).stdout
    assert tracked_after == tracked_before, "using the course changed its tracked files"


def wait_for_kernel(page) -> None:
    """The notebook's cells are on the page and its kernel is started and idle (accepting JupyterLab's
    kernel dialog, if it asks, with the notebook's own kernel)."""
    page.wait_for_function("document.querySelectorAll('.jp-Notebook .jp-Cell').length > 3", timeout=180_000)
    deadline = time.time() + 180
    while time.time() < deadline:
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        if page.locator(".jp-StatusBar-TextItem", has_text="| Idle").count() and \
                page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count():
            return
        time.sleep(1)
    raise AssertionError("the kernel did not start")


def wait_until_idle(page, timeout: float) -> float:
    """Seconds until no cell is running and the kernel is idle."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        running = page.locator(".jp-InputPrompt", has_text="[*]").count()
        status = page.locator(".jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")
        if running == 0 and status == "idle":
            return time.time() - t0
        time.sleep(2)
    raise AssertionError(f"the notebook was still running after {timeout:.0f} s")


def run_all(page, timeout: float = 1200) -> float:
    """Run → Run All Cells, then wait until no cell is running and the kernel is idle."""
    wait_for_kernel(page)
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    page.wait_for_selector(".jp-InputPrompt:has-text('[*]')", state="attached", timeout=60_000)
    return wait_until_idle(page, timeout)


def interact_image(explorer):
    img = explorer.locator(".jp-RenderedImage img, .widget-output img").first
    return img.get_attribute("src") if img.count() else None


@pytest.mark.slow
@pytest.mark.parametrize("lesson", list(LESSONS))
def test_a_lesson_runs_in_jupyterlab_as_a_learner_sees_it(lab, lesson):
    page = lab["browser"].new_page(viewport={"width": 1400, "height": 1000})
    # A workspace of its own per lesson: JupyterLab would otherwise restore the tabs of the lessons opened before
    # (hidden, but on the page), and their cells and explorers would be counted with this one's.
    page.goto(f"{lab['url']}/lab/workspaces/{lesson[:2]}/tree/lessons/{lesson}?token={lab['token']}")
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=180_000)
    assert page.locator(".jp-NotebookPanel").count() == 1, "one notebook open: the lesson under test"
    seconds = run_all(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{lesson[:-6]}.png"))

    errors = page.locator("[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, f"{lesson} shows an error: {errors.first.inner_text()[:2000]}"
    assert "Error displaying widget" not in page.content()
    explorers = page.locator(".widget-interact")
    assert explorers.count() == LESSONS[lesson], \
        f"{lesson}: {explorers.count()} explorer(s) on the page, {LESSONS[lesson]} expected (each shown once)"
    assert page.locator(".jp-RenderedImage img").count() >= 3, "the lesson's figures are shown"

    explorer = explorers.first
    explorer.scroll_into_view_if_needed()
    before = interact_image(explorer)
    assert before, f"{lesson}: the explorer shows no figure"
    handle = explorer.locator(".noUi-handle, .ui-slider-handle").first
    handle.focus()
    for _ in range(3):
        handle.press("ArrowRight")
    page.wait_for_function("([el, before]) => { const i = el.querySelector('img'); return i && i.src !== before; }",
                           arg=[explorer.element_handle(), before], timeout=120_000)
    page.screenshot(path=str(SHOTS / f"{lesson[:-6]}-explorer.png"))

    # the learner's own cell below the lesson: a short run of the training loop, whose progress bar is a widget
    cells = page.locator(".jp-Notebook .jp-Cell")
    count = cells.count()
    cells.last.locator(".jp-InputArea-prompt").click()  # selects the last cell, in command mode
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below it
    page.wait_for_function(f"document.querySelectorAll('.jp-Notebook .jp-Cell').length > {count}", timeout=30_000)
    page.keyboard.press("Enter")  # edit mode
    page.keyboard.insert_text(OWN_CELL)
    page.keyboard.press("Shift+Enter")
    page.wait_for_selector(".jp-InputPrompt:has-text('[*]')", state="attached", timeout=60_000)
    wait_until_idle(page, 300)
    own = page.locator(".jp-Notebook .jp-Cell").nth(count)
    assert own.locator(".jp-InputArea").inner_text().count("fit(") == 1, "the learner's cell is the one typed"
    assert own.locator("[data-mime-type='application/vnd.jupyter.error']").count() == 0, \
        own.locator(".jp-OutputArea").inner_text()[:2000]
    assert own.locator(".jp-OutputArea .widget-hprogress").count() == 1, \
        "the training loop's progress bar is a widget: " + own.locator(".jp-OutputArea").inner_text()[:500]
    assert "own run" in own.locator(".jp-OutputArea").inner_text()
    own.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{lesson[:-6]}-own-cell.png"))
    page.keyboard.press("Control+s")  # the learner saves their copy
    time.sleep(2)
    print(f"{lesson}: ran in {seconds:.0f} s")
    page.close()
