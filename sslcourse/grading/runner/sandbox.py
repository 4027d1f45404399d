"""Where a learner's code runs: a sandbox the operating system enforces, made with bubblewrap.

Each worker gets, through ``bwrap`` (bubblewrap) and util-linux's ``prlimit`` and ``setpriv``:

* **its own user**: when the grader is root, an unprivileged uid of its own (one per parallel slot, from
  ``SSLCOURSE_GRADER_UID``, default 2147418112; no capabilities, no new privileges); when it is not, a user
  namespace in which it holds no capability;
* **its own PID namespace** (``--unshare-pid --as-pid-1 --die-with-parent``): it sees and can signal only its
  own processes, and every process it starts dies with it — killed by the kernel when the worker ends;
* **no network, no IPC, its own hostname**, and a private ``/tmp`` (64 MiB);
* **a read-only view of the file system** that holds only ``/usr``, ``/etc``, the Python installation (its
  prefixes: the interpreter, the standard library, site-packages), the worker's two files under ``/grader``
  and the course modules the exercise allows under ``/course``. The course's package, its references and
  ``solutions/``, the hidden banks, the other submissions, the gradebook and every home folder are not in it;
  where one lies inside a folder the view does show, an empty folder is mounted over it;
* **limits** (``prlimit``): address space (so ``mmap`` counts; the worker lowers it further to what it uses
  with torch loaded plus the memory allowed), processes, file size (16 MiB), open files, CPU time, no core
  files. The grader also holds it to a wall-clock deadline.

``probe()`` says whether this machine can do that (bubblewrap installed, and user namespaces allowed when the
grader is not root). Where it cannot, ``Isolation.isolated`` is False and ``Isolation.reason`` says why and
what to install; grading for credit then refuses, and a self-check runs the worker as a plain subprocess.
``SSLCOURSE_ISOLATION=none`` asks for that plain subprocess (a learner's machine without bubblewrap).
"""
from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

INSTALL = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
           "bubblewrap`; Arch: `sudo pacman -S bubblewrap`; it provides `bwrap`), and util-linux's prlimit and "
           "setpriv (preinstalled on most Linux systems)")
UID_BASE = 2147418112  # 2**31 - 2**16: far from system and login users, and from the usual subuid ranges
TMP_BYTES = 64 << 20
FILE_BYTES = 16 << 20
PROCESSES = 64
OPEN_FILES = 256
BACKSTOP = 8 << 30  # address space on top of the memory allowed, until the worker lowers it (torch maps ~3 GiB)


@dataclass
class Limits:
    memory: int  # bytes of address space the learner's code may add
    cpu_seconds: int


@dataclass
class Isolation:
    isolated: bool
    mode: str  # "root" (a uid of its own), "user" (a user namespace), or "none"
    reason: str = ""
    tools: dict = field(default_factory=dict)

    def describe(self) -> str:
        if self.mode == "root":
            return "isolated: bubblewrap sandbox, a uid of its own, no network, a read-only view without the course"
        if self.mode == "user":
            return "isolated: bubblewrap sandbox in a user namespace, no network, a read-only view without the course"
        return f"not isolated: {self.reason}"


# ---- can this machine isolate? ----

_PROBED: dict = {}
_LOCK = threading.Lock()


def probe() -> Isolation:
    """Whether (and how) this machine isolates a worker; cached for the process."""
    wanted = os.environ.get("SSLCOURSE_ISOLATION", "auto")
    with _LOCK:
        if wanted not in _PROBED:
            _PROBED[wanted] = _probe(wanted)
        return _PROBED[wanted]


def _probe(wanted: str) -> Isolation:
    if wanted == "none":
        return Isolation(False, "none", "SSLCOURSE_ISOLATION=none asked for a plain subprocess")
    if not sys.platform.startswith("linux"):
        return Isolation(False, "none", f"{sys.platform} has no bubblewrap: grade for credit on Linux")
    tools = {name: shutil.which(name) for name in ("bwrap", "prlimit", "setpriv")}
    root = os.geteuid() == 0
    missing = [n for n in ("bwrap", "prlimit") + (("setpriv",) if root else ()) if not tools[n]]
    if missing:
        return Isolation(False, "none", f"{' and '.join(missing)} not found: {INSTALL}", tools)
    try:  # options of newer bubblewraps, used where this one has them (Debian 12 ships 0.8, Ubuntu 22.04 0.6)
        usage = subprocess.run([tools["bwrap"], "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        usage = ""
    tools["options"] = " ".join(o for o in ("--disable-userns", "--size") if o in usage)
    iso = Isolation(True, "root" if root else "user", "", tools)
    view = View(hidden=())
    cmd = command(iso, view, Limits(1 << 30, 10), ["/bin/sh", "-c", "exit 0"], uid=UID_BASE, python=False)
    try:
        run = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as err:
        return Isolation(False, "none", f"bwrap could not start a sandbox ({err}): {INSTALL}", tools)
    if run.returncode != 0:
        why = run.stderr.decode(errors="replace").strip().splitlines()[-1:] or [f"exit status {run.returncode}"]
        hint = ("" if root else "; unprivileged user namespaces must be allowed (sysctl "
                "kernel.unprivileged_userns_clone=1, or on Ubuntu 24.04+ an AppArmor profile for bwrap), or grade as root")
        return Isolation(False, "none", f"bwrap could not make a sandbox here ({why[0]}){hint}", tools)
    return iso


# ---- what the sandbox shows ----

@dataclass
class View:
    """The read-only view: the system, Python, the worker's files, the allowed course modules; minus ``hidden``."""

    hidden: tuple  # folders and files that must not be seen even where their parent is shown
    course: str | None = None  # a folder holding the allowed course modules (shown as /course)

    def roots(self) -> list[str]:
        roots = ["/usr", "/etc"]
        for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
                       str(Path(sys.executable).resolve().parent.parent)}:
            p = os.path.realpath(prefix)
            if p != "/" and not any(_inside(p, r) for r in roots):
                roots.append(p)
        return sorted(set(roots), key=len)


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


WORKER = Path(__file__).with_name("worker.py")
WIRE = Path(__file__).with_name("wire.py")


def command(iso: Isolation, view: View, limits: Limits, inner: list[str] | None = None, uid: int | None = None,
            python: bool = True, info_fd: int | None = None) -> list[str]:
    """The bwrap command line that runs the worker (or ``inner``) in the sandbox."""
    args = [iso.tools["bwrap"], "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--as-pid-1", "--clearenv"]
    options = iso.tools.get("options", "")
    if iso.mode == "user":
        args += ["--unshare-user"] + (["--disable-userns"] if "--disable-userns" in options else [])
    else:  # root: bwrap sets up the view, setpriv then drops to the worker's uid with no capability
        args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP"]
    # the private /tmp first: a Python installed under /tmp (a clone in /tmp/...) is then bound on top of it
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777"] + (
        ["--size", str(TMP_BYTES)] if "--size" in options else []) + ["--tmpfs", "/tmp"]
    made = {"/tmp"}
    roots = view.roots()

    def parents(dest: str):
        out, p = [], os.path.dirname(dest)
        while p not in ("/", "") and p not in made and not any(_inside(p, r) for r in roots if r != dest):
            out.append(p)
            p = os.path.dirname(p)
        for d in reversed(out):
            made.add(d)
            args.extend(["--perms", "0755", "--dir", d])

    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = f"/{name}"
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for root in roots:
        if os.path.isdir(root):
            parents(root)
            args += ["--ro-bind", root, root]
    for h in view.hidden:
        h = os.path.realpath(h)
        if any(_inside(h, r) for r in roots) and os.path.exists(h):
            args += (["--tmpfs", h] if os.path.isdir(h) else ["--ro-bind", "/dev/null", h])
    args += ["--perms", "0755", "--dir", "/grader", "--ro-bind", str(WORKER), "/grader/worker.py",
             "--ro-bind", str(WIRE), "/grader/wire.py"]
    if view.course:
        args += ["--ro-bind", view.course, "/course"]
    args += ["--chdir", "/tmp"]
    for key, value in worker_env("/tmp").items():
        args += ["--setenv", key, value]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    args.append("--")
    args += [iso.tools["prlimit"], f"--as={limits.memory + BACKSTOP}", f"--nproc={PROCESSES}",
             f"--fsize={FILE_BYTES}", f"--nofile={OPEN_FILES}", f"--cpu={limits.cpu_seconds}", "--core=0", "--"]
    if iso.mode == "root":
        args += [iso.tools["setpriv"], f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
                 "--inh-caps=-all", "--bounding-set=-all", "--"]
    if python:
        args += [sys.executable, "-I", "-B", "/grader/worker.py", str(limits.memory)]
    return args + (inner or [])


def worker_env(home: str) -> dict:
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
            "MALLOC_ARENA_MAX": "2", "MPLBACKEND": "Agg", "MPLCONFIGDIR": os.path.join(home, "matplotlib"),
            "CUDA_VISIBLE_DEVICES": "", "SSLCOURSE_PROFILE": "quick", "PYTHONHASHSEED": "0"}


def plain_command(limits: Limits) -> list[str]:
    """Not isolated (a self-check where bubblewrap is missing): a plain ``python -I`` subprocess, limited."""
    cmd = [sys.executable, "-I", "-B", str(WORKER), str(limits.memory)]
    prlimit = shutil.which("prlimit")
    if prlimit:
        cmd = [prlimit, f"--as={limits.memory + BACKSTOP}", f"--cpu={limits.cpu_seconds}", "--core=0", "--"] + cmd
    return cmd


# ---- one uid per parallel worker (root) ----

def uid_lock_folder() -> Path:
    """Where each grader's uids are held: ``<uid>.lock``, locked (``flock``) by the grader that holds the uid."""
    return Path(tempfile.gettempdir()) / "sslcourse-grader-uids"


def uids_held_by_others() -> set[int]:
    """The uids other processes' graders hold right now (their locks in ``/proc/locks``): their workers' uids."""
    inodes = {}
    for f in uid_lock_folder().glob("*.lock"):
        try:
            inodes[f.stat().st_ino] = int(f.stem)
        except (OSError, ValueError):
            continue
    held = set()
    try:
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return held
    for line in lines:  # "3: FLOCK  ADVISORY  WRITE 4242 00:2c:1931 0 EOF" (a waiter: "3: -> FLOCK ...")
        parts = [x for x in line.split() if x != "->"]
        if len(parts) < 6 or parts[1] != "FLOCK":
            continue
        try:
            pid, inode = int(parts[4]), int(parts[5].split(":")[2])
        except (ValueError, IndexError):
            continue
        if inode in inodes and pid != os.getpid():
            held.add(inodes[inode])
    return held


def _reserve(uid: int) -> int | None:
    """Hold ``uid`` for this grader against every other grader on the machine (two teachers' batches, or two test
    workers): an exclusive lock on a file named after it, held until the pool's process ends. Two pools that
    shared a uid would kill each other's workers when one takes it back. The open lock's descriptor, or None
    if another grader holds the uid."""
    folder = uid_lock_folder()
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by the workers
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class UidPool:
    """Unprivileged uids for the workers of a root grader: none is a user of this machine, runs a process or
    belongs to another grader's pool, and no two workers running at the same time share one (a uid's process
    limit is then the worker's own)."""

    def __init__(self, size: int):
        base = int(os.environ.get("SSLCOURSE_GRADER_UID", UID_BASE))
        self.free, self.next, self.reserved = [], base, {}
        self.lock = threading.Lock()
        busy = _uids_in_use()
        while len(self.free) < size:
            self.free.append(self._unused(busy))

    def _unused(self, busy: set) -> int:
        """A uid never handed out by this pool, no user of this machine, running no process, held by no other
        grader (and from now on held by this one)."""
        while True:
            uid = self.next
            self.next += 1
            if uid in busy or _is_user(uid):
                continue
            fd = _reserve(uid)
            if fd is not None:
                self.reserved[uid] = fd
                return uid

    def close(self) -> None:
        """Let other graders have this pool's uids (a process's locks also go when it ends)."""
        for fd in self.reserved.values():
            os.close(fd)
        self.reserved = {}

    def take(self) -> int:
        with self.lock:
            return self.free.pop(0)

    def give(self, uid: int) -> None:
        """Take a uid back once no process runs as it. Whatever still runs as it is killed first: the worker's
        PID namespace normally ends with it, but where its first process could not be signalled (its number not
        known in time), nothing else would — setpriv's change of uid clears the parent-death signal that bwrap's
        --die-with-parent sets. The uid is the pool's alone, so every process running as it is the sandbox's.
        Killed processes take a moment to go; a uid whose processes do not go in time is never handed out again."""
        _kill_every_process_of(uid)
        gone = _wait_until_no_process_runs_as(uid)
        with self.lock:
            if gone:
                self.free.append(uid)
            else:
                self.free.append(self._unused(_uids_in_use()))


def _wait_until_no_process_runs_as(uid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while uid in _uids_in_use():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
        _kill_every_process_of(uid)  # one that a process of the uid started meanwhile
    return True


def _kill_every_process_of(uid: int) -> int:
    """SIGKILL every process any of whose uids is ``uid``, through a pidfd opened before its uid
    is read (so a number reused by another process is never signalled). Returns how many were signalled."""
    killed = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fd = os.pidfd_open(int(proc.name))
        except (AttributeError, OSError, ValueError):
            continue
        try:
            if uid in _uids_of(proc):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
                killed += 1
        except OSError:
            pass
        finally:
            os.close(fd)
    return killed


def _is_user(uid: int) -> bool:
    import pwd

    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def _uids_in_use() -> set:
    uids = set()
    for proc in Path("/proc").glob("[0-9]*"):
        uids |= _uids_of(proc)
    return uids


def _uids_of(proc: Path) -> set:
    """The real, effective, saved and file-system uids of a /proc/PID entry; none for one that has gone."""
    try:
        line = next(x for x in (proc / "status").read_text().splitlines() if x.startswith("Uid:"))
        return {int(u) for u in line.split()[1:]}
    except (OSError, StopIteration, ValueError):
        return set()
