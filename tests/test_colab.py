"""Colab as it is: badges and install cells generated from pyproject.toml, and an install that leaves Colab alone."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sslcourse.grading.classroom.generate import colab_badge, install_requirement, release

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_SOURCES = sorted(p for folder in ("notebooks", "solutions", "exercises")
                          for p in (ROOT / folder).glob("[0-9][0-9]_*.*") if p.suffix in (".py", ".ipynb"))


@pytest.mark.parametrize("path", NOTEBOOK_SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_badge_and_install_cell_points_at_this_release(path):
    repository, version = release(ROOT)
    text = path.read_text()
    target_folder = "notebooks" if path.parent.name == "notebooks" else "exercises"  # a solution opens its exercise
    badge = colab_badge(repository, version, target_folder, path.with_suffix(".ipynb").name)
    assert text.count("colab.research.google.com/github/") == 1 and badge in text, "run `make sync`"
    install = install_requirement(repository, version)
    assert text.count("git+") == 1 and f'\\"{install}\\"' in text or f'"{install}"' in text, "run `make sync`"
    assert "[dev]" not in text, "Colab installs the package alone: [dev] would replace Colab's Jupyter packages"


def test_the_release_is_defined_once():
    import sslcourse

    repository, version = release(ROOT)
    assert repository.startswith("https://github.com/") and sslcourse.__version__ == version


# What a Colab runtime has installed (late 2026: Python 3.12, a CUDA build of torch, Jupyter packages that
# its front end talks to). The check below declares these as installed distributions in a fresh Python 3.12
# environment and asks pip what installing the course would change.
COLAB = {"torch": "2.8.0+cu126", "torchvision": "0.23.0+cu126", "numpy": "2.0.2", "matplotlib": "3.10.0",
         "ipywidgets": "7.7.1", "tqdm": "4.67.1", "scikit-learn": "1.6.1", "pillow": "11.3.0", "nbformat": "5.10.4",
         "jupyter-server": "2.14.0", "jupyter-client": "7.4.9", "ipykernel": "6.17.1", "ipython": "7.34.0",
         "notebook": "6.5.7", "traitlets": "5.7.1"}
PROTECTED = ("torch", "torchvision", "jupyter-server", "jupyter-client", "ipykernel", "notebook", "ipython")
def find_python312() -> str | None:
    """A Python 3.12 that runs (pyenv's shims only run inside a configured shell, so try real paths first)."""
    import glob

    for candidate in [*sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.12*/bin/python3.12"))),
                      shutil.which("python3.12")]:
        if candidate and subprocess.run([candidate, "-c", "import venv"], capture_output=True).returncode == 0:
            return candidate
    return None


PYTHON312 = find_python312()


def declare_installed(site: Path, name: str, version: str) -> None:
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist / "INSTALLER").write_text("colab\n")
    (dist / "RECORD").write_text("")


@pytest.mark.skipif(PYTHON312 is None, reason="no Python 3.12 interpreter on this machine")
def test_the_colab_install_changes_neither_torch_nor_the_front_end(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(wheels), str(ROOT)], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    venv = tmp_path / "colab"
    subprocess.run([PYTHON312, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    for name, version in COLAB.items():
        declare_installed(site, name, version)
    report = tmp_path / "report.json"
    out = subprocess.run([str(py), "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", str(wheels),
                          "--report", str(report), "sslcourse"], capture_output=True, text=True,
                         env={**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_CONSTRAINT": ""})
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    installs = {item["metadata"]["name"].lower(): item["metadata"]["version"]
                for item in json.loads(report.read_text())["install"]}
    assert set(installs) == {"sslcourse"}, f"the course's install would also change {sorted(set(installs) - {'sslcourse'})}"
    assert not any(name in installs for name in PROTECTED)
