"""The grading tests record the course's files as they are when the session starts (what `make setup` records at
install), so that grading for credit accepts a tree being edited; test_integrity.py changes a copy and checks
that grading then stops."""
import os

import pytest

# the attack suite's submissions are data for the grader, never tests: nbval would run its notebooks in this process
collect_ignore_glob = ["attacks/*"]


@pytest.fixture(scope="session", autouse=True)
def course_recorded(tmp_path_factory):
    from sslcourse.grading.classroom.integrity import record

    path = tmp_path_factory.mktemp("record") / "course-files.json"
    old = os.environ.get("SSLCOURSE_COURSE_RECORD")
    os.environ["SSLCOURSE_COURSE_RECORD"] = str(path)
    record(path)
    yield path
    if old is None:
        os.environ.pop("SSLCOURSE_COURSE_RECORD", None)
    else:
        os.environ["SSLCOURSE_COURSE_RECORD"] = old
