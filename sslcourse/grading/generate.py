"""``python -m sslcourse.grading.generate`` (``make exercises``, ``make sync``): see ``classroom/generate.py``."""
import sys

from .classroom.generate import *  # noqa: F401,F403 — the command's old home keeps its names
from .classroom.generate import main

if __name__ == "__main__":
    sys.exit(main())
