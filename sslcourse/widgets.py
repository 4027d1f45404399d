"""ipywidgets explorers, each with a static fallback where widgets don't render.

Widgets need a live kernel (JupyterLab, Colab, VS Code). In an HTML export, under nbval,
or without ipywidgets, the same drawing function runs once with its default values, so
the notebook still shows the picture the prose talks about.

Every explorer is *displayed* once and returns None: a cell that ends with the call shows
the explorer, not the explorer and then its return value a second time. The widget classes
used (``interactive``, ``IntSlider``, ``FloatSlider``, ``Dropdown``, ``Checkbox``) and their
arguments exist in ipywidgets 7.6 and newer, so the explorers run on Colab's ipywidgets 7
as on JupyterLab's 8 (``tests/test_widgets.py`` checks both).
"""
from __future__ import annotations

import os

import matplotlib.pyplot as plt
import torch


def live_kernel_shell():
    """The running IPython shell when it is a kernel with a front end (JupyterLab, VS Code, or Colab,
    whose shell is a subclass of ipykernel's), else None."""
    try:
        from IPython import get_ipython
        from ipykernel.zmqshell import ZMQInteractiveShell
    except ImportError:
        return None
    shell = get_ipython()
    return shell if isinstance(shell, ZMQInteractiveShell) else None


def widgets_available() -> bool:
    """True in a live Jupyter or Colab kernel with ipywidgets (and not under nbval / SSLCOURSE_STATIC=1)."""
    if os.environ.get("SSLCOURSE_STATIC") == "1":
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return live_kernel_shell() is not None


def explore(draw, defaults: dict, **controls) -> None:
    """``draw(**values)`` under sliders built from ``controls`` (ipywidgets.interact
    abbreviations: (min, max, step) tuples, lists of options, booleans), displayed once; drawn
    statically with ``defaults`` where widgets are not available."""
    if widgets_available():
        import ipywidgets as w
        from IPython.display import display

        display(w.interactive(draw, **{k: _control(k, v, defaults.get(k)) for k, v in controls.items()}))
        return None
    draw(**defaults)
    plt.show()
    return None


def _control(name, spec, default):
    import ipywidgets as w

    style = {"description_width": "initial"}
    if isinstance(spec, bool):
        return w.Checkbox(value=spec if default is None else default, description=name)
    if isinstance(spec, tuple) and all(isinstance(v, int) for v in spec):
        lo, hi, *step = spec
        return w.IntSlider(value=default if default is not None else lo, min=lo, max=hi,
                           step=step[0] if step else 1, description=name, style=style, continuous_update=False)
    if isinstance(spec, tuple):
        lo, hi, *step = spec
        return w.FloatSlider(value=default if default is not None else lo, min=lo, max=hi,
                             step=step[0] if step else (hi - lo) / 20, description=name, style=style,
                             continuous_update=False)
    return w.Dropdown(options=list(spec), value=default if default is not None else list(spec)[0],
                      description=name, style=style)


def augmentation_explorer(images: torch.Tensor, n: int = 8, seed: int = 0) -> None:
    """Sliders for the SimCLR augmentation strengths, showing two views of ``n`` images."""
    from .augment import SimCLRAugment
    from .plots import show_rows

    images = images[:n]

    def draw(min_scale=0.2, strength=0.5, gray_p=0.2, blur_p=0.0, seed=seed):
        aug = SimCLRAugment(scale=(min_scale, 1.0), strength=strength, gray_p=gray_p, blur_p=blur_p)
        g = torch.Generator(images.device).manual_seed(seed)
        show_rows({"image": images, "view 1": aug(images, g), "view 2": aug(images, g)}, ncols=n)
        plt.show()

    return explore(draw, dict(min_scale=0.2, strength=0.5, gray_p=0.2, blur_p=0.0, seed=seed),
                   min_scale=(0.05, 1.0, 0.05), strength=(0.0, 1.5, 0.1), gray_p=(0.0, 1.0, 0.1),
                   blur_p=(0.0, 1.0, 0.1), seed=(0, 20))


def augmentation_strength_grid(images: torch.Tensor, strengths=(0.0, 0.25, 0.5, 1.0), n: int = 8, seed: int = 0):
    """The static picture: one row per colour strength s. Every row uses the same random draws, so the
    crops and flips are identical down a column and only the colour jitter grows (applied to every
    image here, without grayscale, to make the strength visible)."""
    from .augment import SimCLRAugment
    from .plots import show_rows

    images = images[:n]
    rows = {"image": images}
    for s in strengths:
        g = torch.Generator(images.device).manual_seed(seed)
        rows[f"s = {s}"] = SimCLRAugment(strength=s, jitter_p=1.0, gray_p=0.0)(images, g)
    return show_rows(rows, ncols=n)
