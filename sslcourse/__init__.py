"""sslcourse: the helper package of a hands-on course on self-supervised learning for vision.

    import sslcourse
    p = sslcourse.config.profile()      # quick (CPU, embedded data), gpu (CUDA, CIFAR-10) or full
    train, test = sslcourse.data.load_profile_data(p)

Modules: config, data, augment, pretext, models, methods, train, evaluate, plots,
widgets, grading, cli. Every module imports without Jupyter.
"""
from __future__ import annotations

import inspect

from . import config, data

try:  # the version lives in pyproject.toml only
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("sslcourse")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
__all__ = ["config", "data", "show_source", "__version__"]


def show_source(obj) -> None:
    """Print the source of a function or class: how lessons show package code after deriving it."""
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as err:
        raise TypeError(f"cannot show the source of {obj!r}: {err}") from None
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display

        if get_ipython() is not None:
            display(Markdown(f"```python\n{source}\n```"))
            return
    except ImportError:
        pass
    print(source)
