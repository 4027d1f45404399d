import os

import pytest
import torch

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def shapes_train():
    from sslcourse.data import load_dataset

    return load_dataset("shapes", "train")


@pytest.fixture(scope="session")
def shapes_test():
    from sslcourse.data import load_dataset

    return load_dataset("shapes", "test")


@pytest.fixture(scope="session")
def course_run(tmp_path_factory):
    """`make run` in small, once a session: lesson 00 executed (quick profile, a cache of its own) into a build
    folder. (build folder, finished process): tests/test_cli.py checks the run, tests/browser/test_site.py builds
    the course's website from it."""
    import subprocess
    import sys

    base = tmp_path_factory.mktemp("course-run")
    env = {**os.environ, "SSLCOURSE_DEVICE": "cpu", "SSLCOURSE_CACHE": str(base / "cache"),
           "SSLCOURSE_PROFILE": "quick"}
    proc = subprocess.run([sys.executable, "-m", "sslcourse", "course", "--only", "00", "--out", str(base / "build")],
                          capture_output=True, text=True, env=env, timeout=900)
    return base / "build", proc
