# Attack: carry the grader's environment out in an error message (an instructor's token, say); the sandbox gives
# the worker a fresh, minimal environment, so there is nothing to carry.
import os

SECRET = os.environ.get("SSLCOURSE_TEST_SECRET", "absent")


def cosine_similarity_matrix(a, b, _secret=SECRET):
    raise ValueError(f"the grader's secret: {_secret}")
