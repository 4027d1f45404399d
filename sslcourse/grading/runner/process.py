"""The grader's side of a worker: start it in its sandbox, call its functions, hold it to deadlines, end it.

Requests go down the worker's stdin, replies come up its stdout (``wire`` frames, read into buffers sized from
their checked headers: linear in the message, refused before allocation when over the limit); what the
learner's code prints comes up stderr, of which only the last few kilobytes are kept.

Ending a worker kills the sandbox's first process (PID 1 of its namespace, from bwrap's ``--info-fd``): the
kernel then kills every process of the namespace, whatever it did to hide (a new session, a double fork).
"""
from __future__ import annotations

import json
import os
import re
import selectors
import signal
import subprocess
import time
from pathlib import Path

from . import sandbox, wire

OUTPUT_TAIL = 4096
REAP_SECONDS = 5.0  # how long bwrap may take to reap a killed worker before it is killed too


class Lost(Exception):
    """The worker stopped answering: ``reason`` is "timeout", "exit" or "garbled" (it broke the channel)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Worker:
    """One learner process in its sandbox (or a plain subprocess when the machine cannot isolate)."""

    def __init__(self, isolation: sandbox.Isolation, view: sandbox.View, limits: sandbox.Limits, uid: int | None = None):
        self.isolation, self.view, self.limits, self.uid = isolation, view, limits, uid
        self.proc, self.pid, self.pidfd = None, None, None
        self.output = b""

    # ---- life ----

    def start(self, plan: dict, functions: list[str], deadline: float) -> dict:
        """Start the worker and load the plan (``source.Plan.for_worker()``); returns its first reply."""
        req_r, self.req_w = os.pipe()
        self.res_r, res_w = os.pipe()
        self.out_r, out_w = os.pipe()
        info_r, info_w = os.pipe() if self.isolation.isolated else (None, None)
        if self.isolation.isolated:
            cmd = sandbox.command(self.isolation, self.view, self.limits, uid=self.uid, info_fd=info_w)
            cwd, env = "/", {}
        else:
            self.home = _private_folder()
            cmd, cwd, env = sandbox.plain_command(self.limits), self.home, sandbox.worker_env(self.home)
        try:
            self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=req_r, stdout=res_w, stderr=out_w,
                                         pass_fds=(info_w,) if info_w is not None else (), start_new_session=True)
        finally:
            for fd in (req_r, res_w, out_w, info_w):
                if fd is not None:
                    os.close(fd)
        self.pid = self.proc.pid if info_r is None else _child_pid(info_r, deadline)
        if info_r is not None and self.pid:
            self.pidfd = _pidfd(self.pid, parent=self.proc.pid)
        for fd in (self.req_w, self.res_r, self.out_r):
            os.set_blocking(fd, False)
        self._frame = _Frame()
        return self.exchange({**plan, "functions": functions}, deadline)

    def kill(self) -> None:
        """Kill the sandbox's first process — the kernel then ends every process of its namespace — and bwrap."""
        proc = self.proc
        if proc is None:
            return
        if self.pidfd is not None:  # a pidfd names that process, never another that reused its number
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
            # bwrap reaps its child and leaves at once. Killed before that, bwrap would leave the dead worker to
            # the machine's PID 1, which may reap late (about 2 s on a Firecracker VM), and until then the
            # worker's uid is in use and cannot be handed out again (BENCHMARKS.md "Grading: a worker's end").
            try:
                proc.wait(timeout=REAP_SECONDS)
            except subprocess.TimeoutExpired:
                pass
        try:
            proc.kill()  # bwrap itself: our child, not yet waited for, so its number is still its own
        except (ProcessLookupError, PermissionError):
            pass
        if not self.isolation.isolated:
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # a plain subprocess: its process group at least
            except (ProcessLookupError, PermissionError):
                pass

    def stop(self) -> None:
        """Kill the worker and everything it started, and close the channel."""
        if self.proc is None:
            return
        self.kill()
        self.proc.wait()
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None
        self._drain_output()
        for fd in (self.req_w, self.res_r, self.out_r):
            try:
                os.close(fd)
            except OSError:
                pass
        if not self.isolation.isolated:
            import shutil

            shutil.rmtree(self.home, ignore_errors=True)
        self.proc = None

    def cpu_seconds(self) -> float | None:
        """CPU time the worker has used (Linux /proc); None where it cannot be read."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError, TypeError):
            return None

    def output_tail(self) -> str:
        return self.output.decode("utf-8", errors="replace").strip()

    # ---- messages ----

    def call(self, name: str, args=(), kwargs=None, grad=(), keep_inputs=False, deadline: float = 0.0,
             cpu_deadline: float | None = None) -> dict:
        return self.exchange({"call": name, "args": list(args), "kwargs": dict(kwargs or {}), "grad": list(grad),
                              "keep_inputs": keep_inputs}, deadline, cpu_deadline)

    def exchange(self, request: dict, deadline: float, cpu_deadline: float | None = None) -> dict:
        """Send one request, wait for one reply; Lost if the worker dies, breaks the channel, or passes the
        wall-clock deadline or its CPU-time deadline (what a busy machine does not stretch)."""
        out = b"".join(wire.encode(request, max_data=1 << 30))
        sel = selectors.DefaultSelector()
        sel.register(self.res_r, selectors.EVENT_READ, "reply")
        sel.register(self.out_r, selectors.EVENT_READ, "output")
        sel.register(self.req_w, selectors.EVENT_WRITE, "request")
        try:
            while True:
                left = deadline - time.monotonic()
                cpu = self.cpu_seconds() if cpu_deadline is not None else None
                if left <= 0 or (cpu is not None and cpu > cpu_deadline):
                    raise Lost("timeout")
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
                        done = self._frame.read(self.res_r)
                        if done is not None:
                            if not isinstance(done, dict):
                                raise Lost("garbled")
                            return done
                if self.proc.poll() is not None:  # ended: what it sent before is in the pipe, or nothing is
                    done = self._frame.read(self.res_r)
                    self._drain_output()
                    if isinstance(done, dict):
                        return done
                    raise Lost("exit")
        except wire.WireError:
            raise Lost("garbled") from None
        finally:
            sel.close()

    def _drain_output(self):
        while True:
            chunk = _read(self.out_r)
            if not chunk:
                return
            self.output = (self.output + chunk)[-OUTPUT_TAIL:]


class _Frame:
    """One incoming frame, read straight into buffers of the sizes its header announced."""

    def __init__(self):
        self.stage, self.buf, self.pos, self.sizes = 0, bytearray(wire.HEADER.size), 0, None

    def read(self, fd):
        """Read what the pipe holds; the decoded value once the frame is complete, else None.
        A closed pipe before the end is the worker leaving (Lost "exit" or "garbled")."""
        while True:
            try:
                n = os.readv(fd, [memoryview(self.buf)[self.pos:]]) if self.pos < len(self.buf) else 0
            except BlockingIOError:
                return None
            except OSError:
                n = -1
            if n == 0 and self.pos < len(self.buf):
                raise Lost("exit" if self.stage == 0 and self.pos == 0 else "garbled")
            if n < 0:
                raise Lost("garbled")
            self.pos += n
            if self.pos < len(self.buf):
                continue
            if self.stage == 0:
                self.sizes = wire.check_header(bytes(self.buf))
                self.stage, self.buf, self.pos = 1, bytearray(self.sizes[0]), 0
            elif self.stage == 1:
                self.text = bytes(self.buf)
                self.stage, self.buf, self.pos = 2, bytearray(self.sizes[1]), 0
            if self.stage == 2 and self.pos == len(self.buf):
                value = wire.decode(self.text, self.buf)
                self.__init__()
                return value


def _read(fd):
    try:
        return os.read(fd, 1 << 16)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def _child_pid(fd: int, deadline: float) -> int | None:
    """The sandbox's PID 1 as this machine sees it, from bwrap's --info-fd JSON."""
    data = b""
    sel = selectors.DefaultSelector()
    sel.register(fd, selectors.EVENT_READ)
    try:
        while b"}" not in data and sel.select(timeout=max(0.0, deadline - time.monotonic())):
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        sel.close()
        os.close(fd)
    m = re.search(rb'"child-pid"\s*:\s*(\d+)', data)
    if m:
        return int(m.group(1))
    try:
        return int(json.loads(data)["child-pid"])
    except (ValueError, KeyError, TypeError):
        return None


def _pidfd(pid: int, parent: int) -> int | None:
    """A pidfd of the sandbox's first process, once it is known to be bwrap's child (not a reused number)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None
    try:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        ppid = None
    if ppid != parent:
        os.close(fd)
        return None
    return fd


def _private_folder() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="sslcourse-grade-")
