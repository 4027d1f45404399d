"""Reading a submission: any file a teacher's folder may hold, read safely, or a clear reason why not.

Nothing of a submission runs here: a notebook is read as JSON, a ``.py`` as text. Whatever the file is, the
reader ends quickly with its cells or a ``GradingInputError`` naming the problem: a folder, a FIFO, a device or
a socket (never opened for a blocking read), a file too large, not UTF-8, not JSON, JSON nested too deeply,
not a notebook. A symbolic link is followed to what it names, which must be a regular file like any other.
"""
from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from ..checks.core import GradingInputError

MAX_BYTES = 64 << 20  # a notebook with its outputs (plots) can be tens of MB
MAX_DEPTH = 64  # JSON nesting: a notebook needs 6


@dataclass
class Submission:
    code: list  # the code cells' sources (a .py file: one cell)
    cells: list  # every cell as (cell type, source), for the written answers
    digest: str  # sha256 of the file's bytes


def exercise_of(path) -> str | None:
    m = re.match(r"(\d\d)_", Path(path).name)
    return m.group(1) if m else None


def display_name(name: str) -> str:
    """A file name as text that any writer accepts: bytes that are not UTF-8 appear as \\xNN."""
    return os.fsencode(name).decode("utf-8", errors="backslashreplace")


def read_bytes(path) -> bytes:
    """The bytes of a regular file, at most MAX_BYTES; GradingInputError for anything else."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        if os.path.islink(path):
            raise GradingInputError(f"{display_name(str(path))} is a link to nothing ({os.readlink(path)!r}): "
                                    "hand in the file itself") from None
        raise FileNotFoundError(f"no such file: {display_name(str(path))}") from None
    except IsADirectoryError:
        raise GradingInputError(_kind_error(path, "a folder")) from None
    except PermissionError:
        raise GradingInputError(f"{display_name(str(path))} cannot be read (permission denied): give the grader "
                                "read access to it") from None
    except OSError as err:
        raise GradingInputError(f"{display_name(str(path))} cannot be opened ({err.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                    else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                    else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
            raise GradingInputError(_kind_error(path, kind))
        if st.st_size > MAX_BYTES:
            raise GradingInputError(f"{display_name(str(path))} is too large ({st.st_size >> 20} MiB; at most "
                                    f"{MAX_BYTES >> 20} MiB): clear the notebook's outputs (Edit → Clear outputs) "
                                    "and save it again")
        os.set_blocking(fd, True)
        chunks, size = [], 0
        while size <= MAX_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_BYTES:
            raise GradingInputError(f"{display_name(str(path))} is larger than {MAX_BYTES >> 20} MiB")
        return b"".join(chunks)
    except OSError as err:
        raise GradingInputError(f"{display_name(str(path))} could not be read ({err.strerror})") from None
    finally:
        os.close(fd)


def _kind_error(path, kind: str) -> str:
    hint = ("give a .ipynb or .py file (or a folder without a notebook-like suffix to grade every submission in it)"
            if kind == "a folder" else "hand in the notebook file itself")
    return f"{display_name(str(path))} is {kind}, not a notebook: {hint}"


def decode_text(data: bytes, path) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise GradingInputError(f"{display_name(str(path))} is not UTF-8 text (byte {err.start}): save it as UTF-8 "
                                "(notebooks saved by Jupyter always are)") from None


def _depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings: checked before json.loads, which recurses."""
    depth = deepest = 0
    for m in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        c = m.group()
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


def notebook_json(text: str, path) -> tuple[dict, list]:
    """The notebook's JSON and its list of cells (nbformat 4, or 3 with worksheets); clear errors otherwise."""
    name = display_name(str(path))
    if _depth(text) > MAX_DEPTH:
        raise GradingInputError(f"{name} is not a notebook: its JSON is nested more than {MAX_DEPTH} deep (a "
                                "notebook needs 6); re-save it from Jupyter")
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        raise GradingInputError(f"{name} is not a notebook: not valid JSON ({err.msg} at line {err.lineno}, "
                                f"column {err.colno}); re-save it from Jupyter or download it again") from None
    except (RecursionError, ValueError) as err:
        raise GradingInputError(f"{name} is not a notebook: its JSON cannot be read ({type(err).__name__})") from None
    if not isinstance(nb, dict):
        raise GradingInputError(f"{name} is not a notebook: the JSON is a {type(nb).__name__}, not an object "
                                "with a 'cells' list; hand in the .ipynb saved by Jupyter")
    cells = nb.get("cells")
    if cells is None and isinstance(nb.get("worksheets"), list):
        cells = [c for ws in nb["worksheets"] if isinstance(ws, dict) for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise GradingInputError(f"{name} is not a notebook: it has no 'cells' list; hand in the .ipynb saved by "
                                "Jupyter (File → Download in Colab)")
    return nb, cells


def _source(cell, path, i) -> str:
    src = cell.get("source", cell.get("input", ""))
    if isinstance(src, list) and all(isinstance(s, str) for s in src):
        return "".join(src)
    if isinstance(src, str):
        return src
    raise GradingInputError(f"{display_name(str(path))}: cell {i} has a malformed source ({type(src).__name__}): "
                            "re-save the notebook from Jupyter")


def typed_cells(cells: list, path) -> list[tuple[str, str]]:
    """[(cell type, source)] of a notebook's cells, every cell in order."""
    return [(str(c.get("cell_type", "")), _source(c, path, i)) for i, c in enumerate(cells, 1) if isinstance(c, dict)]


def cells_of_percent_script(text: str) -> list[tuple[str, str]]:
    """[(cell type, source)] of a jupytext percent script: "# %% [markdown]" cells lose their "# " prefix."""
    cells, kind, lines = [], "code", []
    for line in text.splitlines():
        header = re.match(r"^#\s*%%(.*)$", line)
        if header:
            cells.append((kind, "\n".join(lines)))
            kind = "markdown" if re.search(r"\[(markdown|md)\]", header.group(1)) else "code"
            lines = []
        elif kind == "markdown":
            lines.append(re.sub(r"^# ?", "", line))
        else:
            lines.append(line)
    cells.append((kind, "\n".join(lines)))
    return cells


def read_submission(path) -> Submission:
    """A notebook's code cells and all its cells; a .py file is one code cell to run, and its jupytext
    "# %% [markdown]" cells are read for the written answers. GradingInputError for anything else."""
    import hashlib

    path = Path(path)
    data = read_bytes(path)
    if path.suffix not in (".ipynb", ".py"):
        kind = f"a {path.suffix} file" if path.suffix else "a file without a suffix"
        raise GradingInputError(f"{display_name(path.name)} is not a notebook ({kind}): hand in the .ipynb "
                                "(or a .py script)")
    text = decode_text(data, path)
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix == ".ipynb":
        _, cells = notebook_json(text, path)
        typed = typed_cells(cells, path)
        return Submission([s for kind, s in typed if kind == "code"], typed, digest)
    return Submission([text], cells_of_percent_script(text), digest)
