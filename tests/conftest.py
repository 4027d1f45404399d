import os

import pytest
import torch

# Under pytest-xdist every core runs a worker of its own: one thread each, or the workers fight over the cores.
torch.set_num_threads(1 if os.environ.get("PYTEST_XDIST_WORKER") else min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _lessons_alone_in_the_claims_log(request, monkeypatch):
    """`make test` logs the lessons' claims (SSLCOURSE_CLAIMS_LOG); the unit tests' own claims, and what the
    lessons they start in subprocesses claim in other settings, stay out of it. nbval's cells are not
    ``pytest.Function`` items, so the notebooks keep logging."""
    if isinstance(request.node, pytest.Function):
        monkeypatch.delenv("SSLCOURSE_CLAIMS_LOG", raising=False)


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
    """`make run` in small, once a session: lesson 00 executed (quick profile) into a build folder. (build folder,
    finished process): tests/test_cli.py checks the run, tests/browser/test_site.py builds the course's website
    from it. Under pytest-xdist the workers share the one run (pytest-xdist's recipe: the session's temporary
    folder is common to its workers, and a lock makes the first one run it). Its cache is the session's
    (`make test` sets SSLCOURSE_CACHE) when there is one: lesson 00 under nbval trains the same supervised run,
    and the cache's lock lets only one of them train it; else a cache of its own. (The browser test shares it
    too, and watches the training loop's progress bar in a cell the learner adds.)"""
    import json
    import subprocess
    import sys

    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    base, done = shared / "course-run", shared / "course-run.json"
    with FileLock(str(shared / "course-run.lock")):
        if not done.exists():
            env = {**os.environ, "SSLCOURSE_DEVICE": "cpu", "SSLCOURSE_PROFILE": "quick",
                   "SSLCOURSE_CACHE": os.environ.get("SSLCOURSE_CACHE") or str(base / "cache")}
            proc = subprocess.run([sys.executable, "-m", "sslcourse", "course", "--only", "00",
                                   "--out", str(base / "build")], capture_output=True, text=True, env=env, timeout=900)
            done.write_text(json.dumps({"returncode": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}))
        proc = subprocess.CompletedProcess(args=["sslcourse", "course"], **json.loads(done.read_text()))
    return base / "build", proc
