"""The grading parent's side of the trust boundary: start an isolated worker, call learner functions in it.

The worker (``worker.py``) runs ``python -I -B`` (no user site, no PYTHONPATH, neither the script's folder
nor the working folder on ``sys.path``) in a fresh temporary folder, with a minimal environment (no
variables of the instructor's), in its own session so that ``os.killpg`` ends it and every child it
started; it limits its own memory (RLIMIT_DATA), CPU time and file writes (none) before any learner code
runs. Requests go down one pipe, answers come up another; the learner's stdout/stderr go to a third, of
which only the last few kilobytes are kept (decoded leniently, for error messages).

What comes up the answer pipe is read with ``torch.load(weights_only=True)``, so it can only hold plain
tensors, numbers, strings and containers, and every tensor is checked to be exactly ``torch.Tensor``.
"""
from __future__ import annotations

import io
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .core import FunctionLost, LearnerError, check_output
from .worker import HEADER, MAX_MESSAGE

WORKER = Path(__file__).with_name("worker.py")
DEFAULT_MEMORY_GB = 2.0
WALL_FACTOR = 4  # a function's wall-clock limit, in multiples of its CPU-time limit
OUTPUT_TAIL = 4096


def protect_parent() -> None:
    """Linux: make this process non-dumpable, so that a worker running as the same (non-root) user cannot read
    its environment or memory through /proc (root can, whatever we do). Called by the ``sslcourse grade``
    command, not on import."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def worker_env(home: str) -> dict:
    env = {"PATH": os.defpath, "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MPLBACKEND": "Agg", "CUDA_VISIBLE_DEVICES": ""}
    cache = os.environ.get("MPLCONFIGDIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "matplotlib")
    if os.path.isdir(cache):
        env["MPLCONFIGDIR"] = cache  # read the font cache; writing is off in the worker anyway
    return env


class Worker:
    """One isolated learner process. ``start`` loads the notebook; ``call`` runs one function on inputs."""

    def __init__(self, cells: list[str], functions: list[str], memory_gb: float = DEFAULT_MEMORY_GB,
                 cpu_seconds: int = 3600):
        self.cells, self.functions = cells, functions
        self.memory, self.cpu = int(memory_gb * 2**30), int(cpu_seconds)
        self.proc = None
        self.output = b""

    def start(self, deadline: float) -> dict:
        import torch

        self.home = tempfile.mkdtemp(prefix="sslcourse-grade-")
        req_r, self.req_w = os.pipe()
        self.res_r, res_w = os.pipe()
        self.out_r, out_w = os.pipe()
        cmd = [sys.executable, "-I", "-B", str(WORKER), str(req_r), str(res_w), str(self.memory), str(self.cpu)]
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.home, env=worker_env(self.home), stdin=subprocess.DEVNULL,
                                         stdout=out_w, stderr=out_w, pass_fds=(req_r, res_w),
                                         start_new_session=True)
        finally:
            for fd in (req_r, res_w, out_w):
                os.close(fd)
        for fd in (self.req_w, self.res_r, self.out_r):
            os.set_blocking(fd, False)
        self._inbox = b""
        buf = io.BytesIO()
        torch.save({"cells": self.cells, "functions": self.functions}, buf)
        return self._exchange(buf.getvalue(), deadline)

    def call(self, name: str, args=(), kwargs=None, grad=(), keep_inputs=False, deadline: float = 0.0,
             cpu_deadline: float | None = None) -> dict:
        import torch

        buf = io.BytesIO()
        torch.save({"call": name, "args": [_stand_in(a) for a in args],
                    "kwargs": {k: _stand_in(v) for k, v in (kwargs or {}).items()},
                    "grad": list(grad), "keep_inputs": keep_inputs}, buf)
        return self._exchange(buf.getvalue(), deadline, cpu_deadline)

    def cpu_seconds(self) -> float | None:
        """CPU time the worker has used (Linux /proc); None where it cannot be read."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def _exchange(self, payload: bytes, deadline: float, cpu_deadline: float | None = None) -> dict:
        """Send one request, wait for one answer; FunctionLost if the worker dies, or passes the wall-clock
        deadline or its CPU-time deadline (what a busy machine does not stretch)."""
        import torch

        out = HEADER.pack(len(payload)) + payload
        sel = selectors.DefaultSelector()
        sel.register(self.res_r, selectors.EVENT_READ, "result")
        sel.register(self.out_r, selectors.EVENT_READ, "output")
        sel.register(self.req_w, selectors.EVENT_WRITE, "request")
        try:
            while True:
                message = self._message()
                if message is not None:
                    return _validated(torch.load(io.BytesIO(message), weights_only=True))
                if self.proc.poll() is not None:  # died: what it sent before is in the pipe, or nothing is
                    chunk = _read(self.res_r)
                    if not chunk:
                        self._drain_output()
                        raise FunctionLost("exit")
                    self._inbox += chunk
                    continue
                left = deadline - time.monotonic()
                cpu = self.cpu_seconds() if cpu_deadline is not None else None
                if left <= 0 or (cpu is not None and cpu > cpu_deadline):
                    raise FunctionLost("timeout")
                for key, _ in sel.select(timeout=max(0.0, min(left, 0.25))):
                    if key.data == "request":
                        try:
                            out = out[os.write(self.req_w, out):]
                        except BlockingIOError:
                            pass
                        except BrokenPipeError:
                            out = b""
                        if not out:
                            sel.unregister(self.req_w)
                    elif key.data == "output":
                        self._drain_output()
                    else:
                        chunk = _read(self.res_r)
                        if chunk == b"":  # the channel was closed: by the learner's code, or by dying
                            time.sleep(0.05)
                            raise FunctionLost("exit" if self.proc.poll() is not None else "garbled")
                        self._inbox += chunk or b""
        except FunctionLost:
            raise
        except Exception as err:  # a message that does not unpickle as plain data: treat as a crash
            raise FunctionLost("garbled") from err
        finally:
            sel.close()

    def _message(self):
        if len(self._inbox) < HEADER.size:
            return None
        (size,) = HEADER.unpack(self._inbox[:HEADER.size])
        if size > MAX_MESSAGE:
            raise FunctionLost("garbled")
        if len(self._inbox) < HEADER.size + size:
            return None
        message, self._inbox = self._inbox[HEADER.size:HEADER.size + size], self._inbox[HEADER.size + size:]
        return message

    def _drain_output(self):
        while True:
            chunk = _read(self.out_r)
            if not chunk:
                return
            self.output = (self.output + chunk)[-OUTPUT_TAIL:]

    def output_tail(self) -> str:
        return self.output.decode("utf-8", errors="replace").strip()

    def stop(self) -> None:
        """Kill the worker's whole process group (background children included) and close everything."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self._drain_output()
        for fd in (self.req_w, self.res_r, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        import shutil

        shutil.rmtree(self.home, ignore_errors=True)
        self.proc = None


def _read(fd):
    try:
        return os.read(fd, 1 << 20)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _stand_in(arg):
    from .core import AugmentArg, GeneratorArg

    if isinstance(arg, GeneratorArg):
        return {"__sslcourse__": "generator", "seed": arg.seed}
    if isinstance(arg, AugmentArg):
        return {"__sslcourse__": "augment", "seed": arg.seed, "scale": arg.scale}
    return arg


def _validated(message):
    """Only what a worker may send: dicts, lists, str/int/float/bool/None, and tensors of exactly torch.Tensor."""
    import torch

    stack = [message]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            if not all(isinstance(k, str) for k in x):
                raise ValueError("non-string key")
            stack += list(x.values())
        elif isinstance(x, (list, tuple)):
            stack += list(x)
        elif isinstance(x, torch.Tensor):
            if type(x) is not torch.Tensor or x.layout != torch.strided or x.device.type != "cpu":
                raise ValueError("not a plain tensor")
        elif not (x is None or type(x) in (str, int, float, bool)):
            raise ValueError(f"unexpected {type(x).__name__}")
    if not isinstance(message, dict):
        raise ValueError("not a message")
    return message


class RemoteFunction:
    """The learner's function as the cases see it: calls go to the worker, outputs come back checked.

    Same interface as ``core.LocalFunction``: ``fn(*args, **kwargs)``, ``fn.with_grad(*args, wrt=...)``,
    ``fn.with_inputs(*args)``.
    """

    def __init__(self, worker: Worker, name: str, returns: int, timeout: float):
        """``timeout`` seconds of CPU time for all of this function's calls (of wall time where CPU time cannot be
        read), and at most ``WALL_FACTOR`` times as long on the clock (a function that sleeps uses no CPU)."""
        self.worker, self.name, self.returns = worker, name, returns
        cpu = worker.cpu_seconds()
        self.cpu_deadline = None if cpu is None else cpu + timeout
        self.deadline = time.monotonic() + (timeout if cpu is None else WALL_FACTOR * timeout)

    def _call(self, args, kwargs, grad=(), keep_inputs=False) -> dict:
        reply = self.worker.call(self.name, args, kwargs, grad, keep_inputs, self.deadline, self.cpu_deadline)
        if "raised" in reply:
            raise LearnerError(reply["raised"])
        return reply

    def __call__(self, *args, **kwargs):
        return check_output(self.name, self._call(args, kwargs)["value"], self.returns)

    def with_grad(self, *args, wrt=(0,), **kwargs):
        reply = self._call(args, kwargs, grad=wrt)
        out = check_output(self.name, reply["value"], self.returns)
        return out, _grads(reply, len(wrt))

    def with_inputs(self, *args, **kwargs):
        reply = self._call(args, kwargs, keep_inputs=True)
        return check_output(self.name, reply["value"], self.returns), reply["inputs"]


def _grads(reply, n):
    from .core import CheckFailed

    if "grad_error" in reply:
        raise CheckFailed(f"no gradient reaches the inputs ({reply['grad_error']})")
    grads = reply.get("grads") or [None] * n
    if any(g is None or isinstance(g, dict) for g in grads):
        raise CheckFailed("no gradient reaches the inputs: the result does not depend on them through torch "
                          "operations")
    return grads
