"""Explorers: shown once, live in Jupyter and on Colab (a kernel-shell subclass), static elsewhere, ipywidgets 7 and 8."""
import os
import subprocess
import sys
from pathlib import Path

import ipywidgets  # before any test pretends to be a kernel: ipywidgets keeps the real get_ipython
import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from sslcourse import widgets  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
IPYWIDGETS7 = ROOT / "build" / "ipywidgets7"  # made by `make test` (pip --target, ipywidgets 7.7.1 as on Colab)


def kernel_shell(name="ZMQInteractiveShell", module="ipykernel.zmqshell"):
    """An instance of a kernel shell class (or a subclass, as Colab's is), without starting a kernel."""
    from ipykernel.zmqshell import ZMQInteractiveShell

    cls = ZMQInteractiveShell if name == "ZMQInteractiveShell" else type(name, (ZMQInteractiveShell,),
                                                                            {"__module__": module})
    return object.__new__(cls)


@pytest.fixture
def shell(monkeypatch):
    """Pretend to run in a kernel: get_ipython() returns ``shell.current``; displays are recorded."""
    import IPython
    import IPython.display

    state = type("State", (), {"current": None, "displayed": []})()
    monkeypatch.setattr(IPython, "get_ipython", lambda: state.current)
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: state.displayed.extend(objs))
    monkeypatch.delenv("SSLCOURSE_STATIC", raising=False)
    return state


def explorer_calls(draws):
    def draw(strength=0.5, strategy="a", seed=0, flag=True):
        draws.append((strength, strategy, seed, flag))

    return widgets.explore(draw, dict(strength=0.5, strategy="a", seed=0, flag=True),
                           strength=(0.0, 1.0, 0.1), strategy=["a", "b"], seed=(0, 5), flag=True)


def test_in_jupyter_the_explorer_is_live_and_shown_once(shell):
    shell.current = kernel_shell()
    draws = []
    assert explorer_calls(draws) is None, "the explorer must not also be returned (Jupyter would show it twice)"
    assert len(shell.displayed) == 1 and isinstance(shell.displayed[0], ipywidgets.interactive)
    sliders = {c.description: c for c in shell.displayed[0].children if hasattr(c, "description")}
    assert {"strength", "strategy", "seed", "flag"} <= set(sliders)
    before = len(draws)
    sliders["strength"].value = 0.9  # a learner moves the slider: the picture is drawn again
    assert len(draws) == before + 1 and draws[-1][0] == pytest.approx(0.9)


def test_on_colab_the_explorer_is_live(shell):
    shell.current = kernel_shell("Shell", "google.colab._shell")  # Colab's shell: another name, a subclass
    assert widgets.widgets_available()
    explorer_calls([])
    assert len(shell.displayed) == 1


@pytest.mark.parametrize("where", ["no IPython", "a terminal IPython", "SSLCOURSE_STATIC=1"])
def test_elsewhere_the_picture_is_drawn_once_with_the_defaults(shell, monkeypatch, where):
    if where == "a terminal IPython":
        shell.current = object.__new__(type("TerminalInteractiveShell", (), {}))
    if where == "SSLCOURSE_STATIC=1":
        shell.current = kernel_shell()
        monkeypatch.setenv("SSLCOURSE_STATIC", "1")
    draws = []
    assert explorer_calls(draws) is None
    assert draws == [(0.5, "a", 0, True)] and shell.displayed == []


def test_the_augmentation_explorer_draws_two_views(shell):
    from sslcourse.data import load_dataset

    images = load_dataset("shapes", "test").images[:4]
    assert widgets.augmentation_explorer(images, n=4) is None  # static: one figure with three rows
    fig = matplotlib.pyplot.gcf()
    assert len(fig.axes) == 12


LIVE_UNDER_7 = """
import sys
sys.path.insert(0, {target!r})
import ipywidgets
assert ipywidgets.__version__.startswith("7."), ipywidgets.__version__
import IPython, IPython.display
from ipykernel.zmqshell import ZMQInteractiveShell
shown = []
IPython.get_ipython = lambda: object.__new__(type("Shell", (ZMQInteractiveShell,), {{}}))
IPython.display.display = lambda *objs, **kw: shown.extend(objs)
import matplotlib; matplotlib.use("Agg")
from sslcourse import widgets
draws = []
widgets.explore(lambda strength=0.5, strategy="a", seed=0, flag=True: draws.append(strength),
                dict(strength=0.5, strategy="a", seed=0, flag=True),
                strength=(0.0, 1.0, 0.1), strategy=["a", "b"], seed=(0, 5), flag=True)
assert len(shown) == 1 and type(shown[0]).__name__ == "interactive"
next(c for c in shown[0].children if getattr(c, "description", "") == "strength").value = 0.9
assert draws[-1] == 0.9
print("ipywidgets", ipywidgets.__version__, "ok")
"""


@pytest.mark.skipif(not IPYWIDGETS7.exists(), reason="build/ipywidgets7 is made by `make test` (pip --target)")
def test_the_explorers_work_with_ipywidgets_7_as_colab_ships_it():
    env = {**os.environ, "SSLCOURSE_STATIC": "0"}
    out = subprocess.run([sys.executable, "-c", LIVE_UNDER_7.format(target=str(IPYWIDGETS7))], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "ipywidgets 7.7.1 ok" in out.stdout, out.stdout


def test_every_widget_class_used_exists_in_ipywidgets_7():
    """The documented check: the classes widgets.py builds, against ipywidgets 7.6's public names."""
    import ast

    used = {node.attr for node in ast.walk(ast.parse((ROOT / "sslcourse" / "widgets.py").read_text()))
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "w"}
    in_7_6 = {"interactive", "IntSlider", "FloatSlider", "Dropdown", "Checkbox", "Button", "HBox", "VBox", "Output",
              "Label", "IntText", "FloatText", "ToggleButtons", "RadioButtons", "SelectionSlider", "Layout"}
    assert used and used <= in_7_6, f"not in ipywidgets 7.6: {used - in_7_6}"
    assert torch.__version__  # the module imports without a kernel
