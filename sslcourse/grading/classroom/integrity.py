"""The course's own files, checked before grading against content hashes recorded at install.

A grader that runs changed course files runs whatever changed them. So before grading, every ``.py`` file of
the ``sslcourse`` package (and any compiled ``__pycache__`` copy Python would load instead) must be what was
recorded at install:

* a regular install (``pip install sslcourse...``): the hashes pip wrote into the distribution's ``RECORD``;
* a clone installed for editing (``make setup``, ``pip install -e``): ``sslcourse record-course`` writes them
  to ``<venv>/share/sslcourse/course-files.json`` (``make setup`` runs it; ``SSLCOURSE_COURSE_RECORD`` names
  another file).

A changed, missing or added file stops grading for credit with a message naming the files and the fix; a
learner's self-check only says so. The check runs in the grading process before any submission is read; a
changed module that the ``sslcourse`` command itself imports has already run by then — the check says that
it happened, so that nothing is graded with it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
from pathlib import Path

from ..checks.core import GradingInputError

RECORD_NAME = "course-files.json"


class CourseChanged(GradingInputError):
    """The course's files differ from what was recorded at install."""


def package_dir() -> Path:
    return Path(__file__).resolve().parents[2]


def record_path() -> Path:
    env = os.environ.get("SSLCOURSE_COURSE_RECORD")
    return Path(env) if env else Path(sys.prefix) / "share" / "sslcourse" / RECORD_NAME


def _sources(root: Path) -> dict:
    """{"sslcourse/…/x.py": path} for every source file of the package."""
    return {f"sslcourse/{p.relative_to(root).as_posix()}": p for p in sorted(root.rglob("*.py"))
            if "__pycache__" not in p.parts}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(path: Path | None = None) -> Path:
    """Write the hashes of the package's files as they are now; returns where."""
    path = Path(path) if path else record_path()
    root = package_dir()
    data = {"package": str(root), "files": {rel: _sha256(p) for rel, p in _sources(root).items()}}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)
    return path


def recorded() -> tuple[dict | None, str]:
    """({"sslcourse/…": sha256}, where it comes from), or (None, why there is none)."""
    path = record_path()
    if path.exists():
        try:
            return json.loads(path.read_text())["files"], str(path)
        except (ValueError, KeyError, OSError) as err:
            return None, f"{path} cannot be read ({type(err).__name__})"
    try:
        from importlib.metadata import PackageNotFoundError, distribution

        files = distribution("sslcourse").files or []
    except PackageNotFoundError:
        files = []
    hashes = {}
    for f in files:
        name = str(f).replace(os.sep, "/")
        if name.startswith("sslcourse/") and name.endswith(".py") and f.hash and f.hash.mode == "sha256":
            raw = base64.urlsafe_b64decode(f.hash.value + "=" * (-len(f.hash.value) % 4))
            hashes[name] = raw.hex()
    if hashes:
        return hashes, "the installed distribution's RECORD"
    return None, f"no record of the course's files ({path} is missing and the install is editable)"


def changes() -> list[str]:
    """What differs from the record: ["sslcourse/x.py: changed", ...]; [] when all is as installed."""
    want, where = recorded()
    if want is None:
        return [where]
    root = package_dir()
    have = _sources(root)
    out = []
    for rel in sorted(set(want) | set(have)):
        if rel not in have:
            out.append(f"{rel}: missing")
        elif rel not in want:
            out.append(f"{rel}: added since install")
        elif os.path.islink(have[rel]) or not have[rel].is_file():
            out.append(f"{rel}: not a regular file")
        elif _sha256(have[rel]) != want[rel]:
            out.append(f"{rel}: changed")
    return out + _bytecode_changes(root)


def _bytecode_changes(root: Path) -> list[str]:
    """Compiled copies Python would load instead of a source, that do not compile from that source."""
    import marshal

    tag = sys.implementation.cache_tag
    out = []
    for pyc in sorted(root.rglob(f"__pycache__/*.{tag}*.pyc")):
        stem, rest = pyc.name.split(".", 1)
        source = pyc.parent.parent / f"{stem}.py"
        if not source.exists():
            continue
        optimize = 1 if ".opt-1." in rest else 2 if ".opt-2." in rest else 0
        try:
            code = marshal.loads(pyc.read_bytes()[16:])
            same = code == compile(source.read_bytes(), str(source), "exec", dont_inherit=True, optimize=optimize)
        except (ValueError, EOFError, TypeError, SyntaxError, OSError):
            same = False
        if not same:
            out.append(f"sslcourse/{pyc.relative_to(root).as_posix()}: compiled code that is not its source's")
    return out


def verify(for_credit: bool) -> str | None:
    """Stop grading for credit if the course's files changed (CourseChanged); for a self-check, return a note."""
    want, where = recorded()
    if want is None and not for_credit:
        return None  # a learner's editable install: nothing to compare with, nothing to say
    if want is None:
        message = (f"there is {where}: run `sslcourse record-course` once after installing the course (`make "
                   "setup` does), so that grading can tell when a file of the course has changed")
    else:
        found = changes()
        if not found:
            return None
        listed = "; ".join(found[:8]) + (f"; and {len(found) - 8} more" if len(found) > 8 else "")
        message = (f"the course's files are not those recorded at install ({where}): {listed}. Reinstall the "
                   "course (a clone: `git status sslcourse/`, `git checkout -- sslcourse/`, then `make setup`; pip: "
                   "`pip install --force-reinstall sslcourse`), or, if you changed them on purpose, record them with "
                   "`sslcourse record-course`")
    if for_credit:
        raise CourseChanged(f"grading for credit stops: {message}")
    return f"this self-check may not be right: {message}"
