"""The grading worker: the only process that runs a learner's code. It judges nothing.

Started by ``sandbox.Worker`` as ``python -I -B worker.py REQUEST_FD RESULT_FD MEMORY_BYTES CPU_SECONDS``
in a fresh temporary folder with a minimal environment and its own process group. It

1. limits itself (memory, CPU time, no file writes, no core dumps) before any learner code runs;
2. imports torch, then hides the course: every ``import sslcourse...`` now gives placeholders that raise
   when called, so an answer imported from the course (or wrapped in a learner's ``def``) computes nothing;
3. loads the learner's definitions: only the top-level imports, functions, classes and assignments that the
   graded functions need, compiled from the cells with file names ``<cell N>`` that the worker chooses;
4. answers calls: for each ``{"call": name, "args": ...}`` it runs the learner's function on the inputs the
   parent sent and sends back the raw output (plain tensors only), the exception, or the gradients.

The parent builds every input and computes every reference and comparison itself, so nothing this process
does, patches or prints can change a score except the outputs it returns for the parent's inputs.

This module imports only the standard library at the top (the parent imports it for ``select_statements``)
and must never import ``sslcourse``: a course module in ``sys.modules`` would bypass the placeholders.
"""
from __future__ import annotations

import ast
import io
import os
import struct
import sys
import traceback
import types

HEADER = struct.Struct(">Q")
MAX_MESSAGE = 256 * 2**20
_KINDS = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
          ast.Assign, ast.AnnAssign, ast.AugAssign)


# ---- which statements of a notebook to run: what the graded functions need, nothing else ----

def strip_magics(source: str) -> str:
    """IPython magics and shell escapes are not Python: keep the line count, drop the command."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        lines.append(line[: len(line) - len(stripped)] + "pass" if stripped[:1] in ("%", "!") else line)
    return "\n".join(lines)


def _bound(node) -> set:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {node.name}
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _used(node) -> set | None:
    """The global names a statement reads (its functions' locals are not globals); None if it does not compile."""
    try:
        code = compile(ast.Module(body=[node], type_ignores=[]), "<statement>", "exec")
    except (SyntaxError, ValueError):
        return None
    names, stack = set(), [code]
    while stack:
        c = stack.pop()
        names |= set(c.co_names)
        stack += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return names


def select_statements(cells: list[str], graded: list[str]):
    """[(cell number, statement)] that (transitively) define the graded names, in notebook order; and notes
    on cells that could not be parsed."""
    statements, notes = [], []
    for i, source in enumerate(cells, 1):
        try:
            tree = ast.parse(strip_magics(source))
        except SyntaxError as err:
            notes.append(f"cell {i} has a syntax error (line {err.lineno}: {err.msg}) and was skipped")
            continue
        except (ValueError, RecursionError) as err:
            notes.append(f"cell {i} could not be read ({type(err).__name__}) and was skipped")
            continue
        statements += [(i, node, _used(node)) for node in tree.body if isinstance(node, _KINDS)]
    statements = [s for s in statements if s[2] is not None]
    needed, keep = set(graded), set()
    changed = True
    while changed:
        changed = False
        for k, (_, node, used) in enumerate(statements):
            star = isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names)
            if k not in keep and (star or _bound(node) & needed):
                keep.add(k)
                needed |= used
                changed = True
    return [(cell, node) for k, (cell, node, _) in enumerate(statements) if k in keep], notes


def cell_filename(cell: int, ncells: int) -> str:
    return "<submission>" if ncells == 1 else f"<cell {cell}>"


# ---- the course, hidden: placeholders instead of modules ----

class CourseCodeUnavailable(Exception):
    """Raised when a learner's code calls something of sslcourse while it is being graded."""


class CourseName:
    """Stands for any name from sslcourse in the worker; calling it raises."""

    def __init__(self, origin: str):
        self._origin = origin

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return CourseName(f"{self._origin}.{attr}")

    def __call__(self, *args, **kwargs):
        raise CourseCodeUnavailable(f"{self._origin} belongs to the course and is not available while grading: "
                                    "write this part yourself")

    def __repr__(self):
        return f"<course placeholder {self._origin}>"


class CourseModule(types.ModuleType):
    __path__: list = []

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        return CourseName(f"{self.__name__}.{attr}")


class CourseFinder:
    """First on sys.meta_path: every sslcourse module is a CourseModule of placeholders."""

    def find_spec(self, name, path=None, target=None):
        if name == "sslcourse" or name.startswith("sslcourse."):
            import importlib.machinery

            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return CourseModule(spec.name)

    def exec_module(self, module):
        pass


def hide_the_course():
    for name in [m for m in sys.modules if m == "sslcourse" or m.startswith("sslcourse.")]:
        del sys.modules[name]
    sys.meta_path.insert(0, CourseFinder())


# ---- messages: length-prefixed torch.save blobs; the parent reads them with weights_only=True ----

def send(fd: int, obj) -> None:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getvalue()
    os.write(fd, HEADER.pack(len(data)))
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def receive(fd: int):
    import torch

    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size))
    if size > MAX_MESSAGE:
        raise EOFError
    return torch.load(io.BytesIO(_read_exact(fd, size)), weights_only=True)


# ---- loading the learner's definitions ----

def load(cells: list[str], graded: list[str]):
    import linecache

    statements, notes = select_statements(cells, graded)
    filenames = {cell_filename(i, len(cells)) for i in range(1, len(cells) + 1)}
    for i, source in enumerate(cells, 1):
        name = cell_filename(i, len(cells))
        linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    for cell, node in statements:
        code = compile(ast.Module(body=[node], type_ignores=[]), cell_filename(cell, len(cells)), "exec")
        try:
            exec(code, namespace)
        except BaseException as err:  # noqa: BLE001 — a definition that fails is a note, not a crash
            notes.append(f"cell {cell}, line {node.lineno}: {describe_error(err, filenames)['text']} "
                         "while loading the definitions")
    return namespace, filenames, notes


def _origin(value) -> str:
    return str(value.__name__ if isinstance(value, CourseModule) else object.__getattribute__(value, "_origin"))


def _course_refs(fn, namespace, filenames, seen) -> set:
    """Names of course placeholders a learner function can reach: its globals, defaults, closure, and the
    learner functions it calls in turn."""
    if id(fn) in seen:
        return set()
    seen.add(id(fn))
    found, names, stack = set(), set(), [fn.__code__]
    while stack:
        code = stack.pop()
        names |= set(code.co_names)
        stack += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    values = [namespace[n] for n in names if n in namespace]
    values += list(fn.__defaults__ or ()) + list((fn.__kwdefaults__ or {}).values())
    for cell in fn.__closure__ or ():
        try:
            values.append(cell.cell_contents)
        except ValueError:
            pass
    for value in values:
        if isinstance(value, (CourseName, CourseModule)):
            found.add(_origin(value))
        elif isinstance(value, types.FunctionType) and value.__code__.co_filename in filenames:
            found |= _course_refs(value, namespace, filenames, seen)
    return found


def status_of(name, namespace, filenames) -> dict:
    if name not in namespace:
        return {"status": "missing"}
    obj = namespace[name]
    if isinstance(obj, (CourseName, CourseModule)):
        return {"status": "course", "origin": _origin(obj)}
    inner = obj
    while not (isinstance(inner, types.FunctionType) and inner.__code__.co_filename in filenames):
        inner = getattr(inner, "__wrapped__", None)
        if inner is None:
            module = getattr(obj, "__module__", None) or type(obj).__module__
            return {"status": "foreign", "type": type(obj).__name__, "module": str(module)}
    refs = _course_refs(inner, namespace, filenames, set())
    if refs:
        return {"status": "uses_course", "origins": sorted(refs)}
    return {"status": "ok"}


# ---- running one call ----

def describe_error(err: BaseException, filenames) -> dict:
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename in filenames]
    where = ""
    if mine:
        f = mine[-1]
        cell = f.filename.strip("<>")
        line = (f.line or "").strip()
        where = f" (in {f.name}, {cell} line {f.lineno}" + (f": {line})" if line else ")")
    text = str(err).strip().split("\n")[0]
    if len(text) > 200:
        text = text[:200] + "…"
    return {"type": type(err).__name__, "mro": [c.__name__ for c in type(err).__mro__], "message": text,
            "where": where, "text": f"{type(err).__name__}: {text}{where}",
            # the stub's own `raise NotImplementedError`: raised by a line of the notebook, not inside torch
            "stub": isinstance(err, NotImplementedError) and bool(frames) and frames[-1].filename in filenames,
            "course": isinstance(err, CourseCodeUnavailable)}


def encode(value, top=True):
    """Plain tensors (detached, compact, on the CPU) and at the top level a tuple/list of them; anything else
    becomes a description the parent turns into a failed check."""
    import torch

    if type(value) is torch.Tensor:
        if value.layout != torch.strided:
            return {"__other__": f"{value.layout} tensor"}
        return value.detach().to("cpu").clone()
    if top and type(value) in (tuple, list):
        return {"__seq__": type(value).__name__, "items": [encode(v, top=False) for v in value]}
    return {"__other__": type(value).__name__}


def materialise(arg):
    """The parent's stand-ins for objects that cannot travel: a seeded generator, a seeded augmentation."""
    import torch

    if isinstance(arg, dict) and arg.get("__sslcourse__") == "generator":
        return torch.Generator().manual_seed(int(arg["seed"]))
    if isinstance(arg, dict) and arg.get("__sslcourse__") == "augment":
        g = torch.Generator().manual_seed(int(arg["seed"]))
        scale = float(arg["scale"])

        def augment(x):
            return x + scale * torch.randn(x.shape, generator=g, dtype=x.dtype)

        return augment
    if isinstance(arg, torch.Tensor):
        return arg.clone()
    return arg


def run_call(fn, request: dict, filenames) -> dict:
    import torch

    args = [materialise(a) for a in request.get("args", [])]
    kwargs = {k: materialise(v) for k, v in request.get("kwargs", {}).items()}
    wrt = list(request.get("grad", []))
    for i in wrt:
        args[i] = args[i].detach().requires_grad_(True)
    torch.manual_seed(0)
    try:
        out = fn(*args, **kwargs)
        reply = {"value": encode(out)}
        if wrt and type(out) is torch.Tensor:
            try:
                grads = torch.autograd.grad(out, [args[i] for i in wrt], allow_unused=True)
                reply["grads"] = [None if g is None else encode(g, top=False) for g in grads]
            except RuntimeError as err:
                reply["grad_error"] = str(err).split("\n")[0][:200]
        if request.get("keep_inputs"):
            reply["inputs"] = [encode(a, top=False) for a in args]
        return reply
    except BaseException as err:  # noqa: BLE001 — SystemExit and KeyboardInterrupt cost this call only
        return {"raised": describe_error(err, filenames)}


def limit_myself(memory: int, cpu: int) -> None:
    import resource

    for limit, value in ((resource.RLIMIT_DATA, memory), (resource.RLIMIT_CPU, cpu),
                         (resource.RLIMIT_FSIZE, 0), (resource.RLIMIT_CORE, 0)):
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass


def main(argv) -> None:
    request_fd, result_fd, memory, cpu = (int(a) for a in argv[1:5])
    limit_myself(memory, cpu)
    import tempfile

    tempfile.tempdir = os.getcwd()  # no write test (file writes are off), a known place
    import torch

    torch.set_num_threads(1)
    hide_the_course()
    sys.argv = [""]
    first = receive(request_fd)
    namespace, filenames, notes = load(first["cells"], first["functions"])
    send(result_fd, {"notes": notes,
                     "functions": {n: status_of(n, namespace, filenames) for n in first["functions"]}})
    while True:
        try:
            request = receive(request_fd)
        except EOFError:
            break
        if request.get("bye"):
            break
        send(result_fd, run_call(namespace[request["call"]], request, filenames))
    sys.stdout.flush()
    os._exit(0)  # no atexit handlers, no finalizers of the learner's objects


if __name__ == "__main__":
    main(sys.argv)
