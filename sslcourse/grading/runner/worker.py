"""The worker: the only process that runs a learner's code. It judges nothing.

Started by ``process.Worker`` as ``python -I -B worker.py MEMORY_BYTES`` — inside the sandbox
(``sandbox.py``) where the operating system isolates it — with requests on stdin, replies on stdout and
stderr for whatever the learner's code prints. It

1. takes the channel: the request and reply pipes move to new descriptors, and the learner's prints go to
   stderr; then, with torch imported, it lowers its address-space limit to what it uses plus MEMORY_BYTES;
2. loads the learner's definitions: the statements the grader chose (``source.plan``), compiled with file
   names ``<cell N>`` the worker chooses, in a namespace where ``get_ipython()`` answers every magic with None;
3. answers calls: for each ``{"call": name, "args": ...}`` it runs the learner's function on the inputs the
   grader sent and sends back the output (plain tensors, copied), the exception, or the gradients.

Messages are ``wire`` frames; a reply that would be too large is replaced by a description of why. The
grader builds every input and computes every reference and comparison itself, so nothing this process does,
patches or prints changes a score, except through the outputs it returns for the grader's inputs.

It imports only the standard library, torch and ``wire`` (from its own folder): the course is not where the
worker runs (the sandbox shows only the modules an exercise allows, under /course).
"""
from __future__ import annotations

import ast
import os
import sys
import traceback

COURSE_VIEW = "/course"
HIDDEN = ["sslcourse"]  # the package the sandbox hides (the grader's first message may name another)


def _load_wire():
    import importlib.util

    spec = importlib.util.spec_from_file_location("_sslcourse_wire", os.path.join(os.path.dirname(__file__), "wire.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wire = _load_wire()


# ---- the channel ----

def _read_exact(fd: int, n: int) -> bytearray:
    buf, view, got = bytearray(n), None, 0
    view = memoryview(buf)
    while got < n:
        k = os.readv(fd, [view[got:]])
        if k == 0:
            raise EOFError
        got += k
    return buf


def receive(fd: int):
    n_json, n_data = wire.check_header(bytes(_read_exact(fd, wire.HEADER.size)), max_data=1 << 30)
    text = bytes(_read_exact(fd, n_json))
    return wire.decode(text, _read_exact(fd, n_data))


def send(fd: int, obj) -> None:
    try:
        parts = wire.encode(obj)
    except wire.WireError as err:  # an output too large for the grader: that call fails, the channel stays whole
        message = f"the output is too large for the grader ({err})"
        parts = wire.encode({"raised": {"type": "OutputTooLarge", "mro": ["OutputTooLarge"], "message": message,
                                        "where": "", "text": f"OutputTooLarge: {message}", "stub": False,
                                        "course": False}})
    for part in parts:
        view = memoryview(part)
        while view:
            view = view[os.write(fd, view):]


# ---- the learner's definitions ----

class _Shell:
    """What ``get_ipython()`` returns while grading: every magic, shell escape and help request does nothing."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def load(cells: list[str], run: list) -> tuple[dict, set, list]:
    """Run the chosen statements; returns (namespace, the cells' file names, notes)."""
    import linecache

    names = {i: ("<submission>" if len(cells) == 1 else f"<cell {i}>") for i in range(1, len(cells) + 1)}
    for i, source in enumerate(cells, 1):
        linecache.cache[names[i]] = (len(source), None, source.splitlines(True), names[i])
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "get_ipython": _Shell}
    modules, notes = {}, []
    for cell, index in run:
        if cell not in modules:
            modules[cell] = ast.parse(cells[cell - 1])
        node = modules[cell].body[index]
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), names[cell], "exec"), namespace)
        except BaseException as err:  # noqa: BLE001 — a definition that fails is a note, not a crash
            notes.append(f"cell {cell}, line {node.lineno}: {describe(err, set(names.values()))['text']} "
                         "while loading the definitions")
    return namespace, set(names.values()), notes


def status_of(name: str, namespace: dict, filenames: set) -> dict:
    """ok: a function written in the notebook (possibly wrapped); missing; or foreign (what it is instead)."""
    import types

    if name not in namespace:
        return {"status": "missing"}
    obj = inner = namespace[name]
    while not (isinstance(inner, types.FunctionType) and inner.__code__.co_filename in filenames):
        inner = getattr(inner, "__wrapped__", None)
        if inner is None:
            module = getattr(obj, "__module__", None) or type(obj).__module__
            return {"status": "foreign", "type": type(obj).__name__, "module": str(module)}
    return {"status": "ok"}


# ---- one call ----

def describe(err: BaseException, filenames: set, text: str | None = None) -> dict:
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if f.filename in filenames]
    where = ""
    if mine:
        f = mine[-1]
        line = (f.line or "").strip()
        where = f" (in {f.name}, {f.filename.strip('<>')} line {f.lineno}" + (f": {line})" if line else ")")
    message = str(err).strip().split("\n")[0]
    if len(message) > 200:
        message = message[:200] + "…"
    missing = getattr(err, "name", None) if isinstance(err, ModuleNotFoundError) else None
    course = bool(missing) and str(missing).split(".")[0] in HIDDEN
    if course:
        message = f"{missing} belongs to the course and is not available while grading: write this part yourself"
    return {"type": type(err).__name__, "mro": [c.__name__ for c in type(err).__mro__], "message": message,
            "where": where, "text": text or f"{type(err).__name__}: {message}{where}",
            # the stub's own `raise NotImplementedError`: raised by a line of the notebook, not inside torch
            "stub": isinstance(err, NotImplementedError) and bool(frames) and frames[-1].filename in filenames,
            "course": course}


def encode(value, top=True):
    """Plain tensors (detached, copied to the CPU) and, at the top level, a tuple/list of them; anything else
    is described, and the grader turns the description into a failed check."""
    import torch

    if type(value) is torch.Tensor:
        if value.layout != torch.strided:
            return {"$other": f"{value.layout} tensor"}
        return value.detach().to("cpu").contiguous()
    if top and type(value) in (tuple, list):
        return {"$seq": type(value).__name__, "items": [encode(v, top=False) for v in value]}
    return {"$other": type(value).__name__}


def materialise(arg):
    """The grader's stand-ins for what cannot travel: a seeded generator, a seeded noise function."""
    import torch

    if isinstance(arg, dict) and set(arg) == {"$generator"}:
        return torch.Generator().manual_seed(int(arg["$generator"]))
    if isinstance(arg, dict) and set(arg) == {"$noise"}:
        seed, scale = arg["$noise"]
        g = torch.Generator().manual_seed(int(seed))

        def noise(x):
            return x + float(scale) * torch.randn(x.shape, generator=g, dtype=x.dtype)

        return noise
    return arg


def run_call(fn, request: dict, filenames: set) -> dict:
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
        return {"raised": describe(err, filenames)}


# ---- the process ----

def take_the_channel() -> tuple[int, int]:
    """Requests and replies move off fds 0 and 1; what the learner prints goes to stderr."""
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    os.close(null)
    return requests, replies


def limit_memory(extra: int) -> None:
    """Address space (what mmap counts too): what the worker uses now, with torch loaded, plus ``extra``."""
    import resource

    try:
        with open("/proc/self/status") as f:
            used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    except (OSError, StopIteration, ValueError):
        return
    for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
        try:
            resource.setrlimit(limit, (used + extra, used + extra))
        except (ValueError, OSError):
            pass


def main(argv) -> None:
    extra = int(argv[1])
    requests, replies = take_the_channel()
    import torch

    torch.set_num_threads(1)
    limit_memory(extra)
    if os.path.isdir(COURSE_VIEW):
        sys.path.insert(0, COURSE_VIEW)
    sys.argv = [""]
    first = receive(requests)
    HIDDEN[:] = [str(first.get("hidden", "sslcourse"))]
    namespace, filenames, notes = load(first["cells"], first["run"])
    send(replies, {"notes": notes, "functions": {n: status_of(n, namespace, filenames) for n in first["functions"]}})
    while True:
        try:
            request = receive(requests)
        except EOFError:
            break
        send(replies, run_call(namespace[request["call"]], request, filenames))
    sys.stdout.flush()
    os._exit(0)  # no atexit handlers, no finalizers of the learner's objects


if __name__ == "__main__":
    main(sys.argv)
