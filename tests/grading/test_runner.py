"""The isolated runner: the messages are bounded and typed, cells become Python as IPython makes them, the sandbox
shows neither the course nor the grader, and a grader that is not root isolates as well (a user namespace)."""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import torch

from sslcourse.grading.runner import sandbox, source, wire

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


# ---- wire ----

def frame(value):
    header, text, *data = wire.encode(value)
    return header, text, bytearray(b"".join(data))


def test_wire_round_trips_plain_values_and_tensors_of_every_dtype():
    value = {"t": [torch.randn(3, 4), torch.arange(6).reshape(2, 3).T, torch.tensor([True, False]),
                   torch.zeros(0, 5), torch.randn(2, dtype=torch.bfloat16), torch.randn(2, dtype=torch.complex64)],
             "n": (1, 2.5, float("inf"), None, "é"), "g": {"$generator": 3}}
    header, text, data = frame(value)
    assert wire.check_header(header) == (len(text), len(data))
    out = wire.decode(text, data)
    assert all(torch.equal(a, b) and a.dtype == b.dtype for a, b in zip(out["t"], value["t"]))
    assert out["n"] == value["n"] and out["g"] == {"$generator": 3}


def test_wire_refuses_an_oversized_message_before_reading_it():
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.check_header(struct.pack(">QQ", 2, 100 << 20))
    with pytest.raises(wire.WireError, match="more than 64 MiB"):
        wire.encode(torch.zeros(1).expand(2**25))  # 128 MiB once copied


@pytest.mark.parametrize("text, why", [
    (b'{"$t": ["float32", [4], 0]}', "outside"), (b'{"$t": ["pickle", [1], 0]}', "unknown dtype"),
    (b'{"$t": ["float32", [-1], 0]}', "malformed shape"), (b'{"$t": ["float32", [1], 3]}', "outside"),
    (b"[" * 5000 + b"]" * 5000, "not JSON|nested"), (b"\xff", "not JSON")])
def test_wire_refuses_what_is_not_what_it_says(text, why):
    with pytest.raises(wire.WireError, match=why):
        wire.decode(text, bytearray(8))


def test_wire_reads_any_byte_of_a_boolean_tensor_as_a_valid_bool():
    out = wire.decode(b'{"$t": ["bool", [3], 0]}', bytearray(b"\x00\x02\xff"))
    assert out.tolist() == [False, True, True]


# ---- cells to Python ----

def test_cells_become_python_as_ipython_makes_them():
    cells = ["%matplotlib inline\n!pip list\nimport torch", "torch.tensor?",
             "A = (1\n     != 2)\nB = (10\n     % 3)", "%%time\ndef f():\n    return A, B", "%%bash\nls",
             "if A:\n    C = 1\ntry:\n    D = 2\nexcept Exception:\n    D = 3\nwith open('/dev/null') as fh:\n    E = 4",
             "def g():\n    return torch.tensor(C + D + E)"]
    plan = source.plan(cells, ["f", "g"])
    assert plan.notes == ["cell 5 is a %%bash cell, not Python and was skipped"]
    kept = {(s.cell, type(s.node).__name__) for s in plan.statements}
    assert kept == {(1, "Import"), (3, "Assign"), (4, "FunctionDef"), (6, "If"), (6, "Try"), (6, "With"),
                    (7, "FunctionDef")}


def test_course_references_are_read_from_the_source():
    cells = ["from sslcourse.methods.simclr import nt_xent_loss", "import sslcourse.methods.simclr as course\n"
             "from sslcourse.augment import to_float\n\ndef views(x, a):\n    return to_float(x)\n\n"
             "def wrapped(z1, z2):\n    return course.nt_xent_loss(z1, z2)\n\ndef inner(z):\n"
             "    from sslcourse.evaluate import knn_accuracy\n    return knn_accuracy(z)\n\ndef calls(z):\n    return inner(z)"]
    names = ["nt_xent_loss", "views", "wrapped", "calls"]
    refs = source.course_references(source.plan(cells, names), names, allowed=("sslcourse", "sslcourse.augment"))
    assert refs == {"nt_xent_loss": {"status": "course", "origin": "sslcourse.methods.simclr.nt_xent_loss"},
                    "wrapped": {"status": "uses_course", "origins": ["sslcourse.methods.simclr"]},
                    "calls": {"status": "uses_course", "origins": ["sslcourse.evaluate.knn_accuracy"]}}


# ---- the sandbox ----

needs_isolation = pytest.mark.skipif(not sandbox.probe().isolated, reason=f"the machine cannot isolate: "
                                     f"{sandbox.probe().reason}")
INSIDE = r"""
import json, os, resource, socket, sys
seen = {"uid": os.getuid(), "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "caps": [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0],
        "root": sorted(os.listdir("/")), "course": os.path.exists(sys.argv[1]), "repo": os.path.exists(sys.argv[2]),
        "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[1], "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[1]}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    seen["network"] = True
except OSError:
    seen["network"] = False
try:
    open(sys.argv[3], "a").close()
    seen["wrote"] = True
except OSError:
    seen["wrote"] = False
print(json.dumps(seen))
"""


@needs_isolation
def test_the_sandbox_shows_neither_the_course_nor_the_grader():
    iso = sandbox.probe()
    package = ROOT / "sslcourse"
    view = sandbox.View(hidden=(str(package),))
    cmd = sandbox.command(iso, view, sandbox.Limits(1 << 30, 30), uid=sandbox.UID_BASE, python=False,
                          inner=[sys.executable, "-I", "-c", INSIDE, str(package / "grading"), str(ROOT / "solutions"),
                                 str(Path(sys.executable).resolve())])
    seen = json.loads(subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout)
    assert seen["pids"] == [1] and seen["caps"] == "0000000000000000" and not seen["network"]
    assert not seen["course"] and not seen["repo"] and not seen["wrote"]
    assert seen["nproc"] == sandbox.PROCESSES and seen["fsize"] == sandbox.FILE_BYTES
    assert "home" not in seen["root"] and seen["uid"] != 0


@needs_isolation
def test_a_python_installed_under_tmp_runs_in_the_sandbox_whose_tmp_is_its_own(tmp_path, monkeypatch):
    """A clone in /tmp (its .venv there) must still grade: the private /tmp is mounted first and the Python's
    folder on top of it; the grader's other files in /tmp stay out of sight."""
    assert str(tmp_path).startswith("/tmp/")
    prefix, secret = tmp_path / "clone" / ".venv", tmp_path / "graders-scratch.txt"
    (prefix / "bin").mkdir(parents=True)
    (prefix / "bin" / "marker").write_text("the venv\n")
    secret.write_text("not for learners")
    monkeypatch.setattr(sys, "prefix", str(prefix))
    iso = sandbox.probe()
    cmd = sandbox.command(iso, sandbox.View(hidden=()), sandbox.Limits(1 << 30, 30), uid=sandbox.UID_BASE,
                          python=False, inner=["/bin/sh", "-c", f"cat {prefix}/bin/marker; test -e {secret} && echo seen; "
                                               "touch /tmp/mine && echo wrote"])
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert run.stdout.split("\n")[:2] == ["the venv", "wrote"], (run.stdout, run.stderr)


def test_grading_for_credit_refuses_where_the_machine_cannot_isolate(tmp_path):
    (tmp_path / "04_x.py").write_text("def nt_xent_loss(z1, z2, temperature=0.5):\n    raise NotImplementedError\n")
    env = {**os.environ, "SSLCOURSE_ISOLATION": "none"}
    cli = str(Path(sys.executable).parent / "sslcourse")
    run = subprocess.run([cli, "grade", str(tmp_path), "--out", str(tmp_path / "g.csv")], capture_output=True,
                         text=True, env=env, timeout=300)
    assert run.returncode == 2 and "grading for credit needs the operating system to isolate" in run.stderr
    assert not (tmp_path / "g.csv").exists()
    run = subprocess.run([cli, "grade", str(ROOT / "solutions" / "05_gan.ipynb"), "--json"], capture_output=True,
                         text=True, env=env, timeout=300)
    report = json.loads(run.stdout)  # a learner's self-check still runs, and says so
    assert report["score"] == report["max_score"] > 0 and report["isolation"].startswith("not isolated")
    assert any(n.startswith("not isolated") for n in report["notes"])


def test_where_bubblewrap_is_missing_the_reason_says_what_to_install(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None if name == "bwrap" else f"/usr/bin/{name}")
    iso = sandbox._probe("auto")
    assert not iso.isolated and "bwrap not found" in iso.reason and "sudo apt-get install bubblewrap" in iso.reason


# ---- a grader that is not root: the same attacks, in a user namespace ----

# what a worker running as the grader's own user (in a user namespace) could otherwise reach: the grader, the
# other submissions, the course, the bank; and the process limit (counted per user)
NON_ROOT_ATTACKS = ("00_kill_the_grader.py", "05_escape_and_kill_later_workers.py", "02_read_the_graders_memory.py",
                    "00_change_the_course.py", "04_read_the_hidden_bank.py", "04_copy_a_classmate.py",
                    "01_fork_bomb.py")
NOBODY = 65534


def _as_nobody(inner: list[str], workdir: str) -> list[str]:
    """Run ``inner`` as nobody, in a mount namespace where the Python installation and the course (which may lie
    under root's private home) are readable: bubblewrap as root, then setpriv."""
    bwrap, setpriv = shutil.which("bwrap"), shutil.which("setpriv")
    args = [bwrap, "--dev-bind", "/", "/", "--die-with-parent"]
    if os.path.isdir("/root"):
        args += ["--perms", "0755", "--tmpfs", "/root"]
        for p in sorted({os.path.realpath(x) for x in (sys.prefix, sys.base_prefix, str(ROOT), workdir)}):
            if p.startswith("/root/"):
                parts = Path(p).parts[2:-1]
                for k in range(len(parts)):
                    args += ["--perms", "0755", "--dir", str(Path("/root", *parts[:k + 1]))]
                args += ["--ro-bind", p, p] if p != workdir else ["--bind", p, p]
    return args + ["--", setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"] + inner


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("bwrap") or not shutil.which("setpriv"),
                    reason="starts the grader as nobody (bwrap and setpriv as root); a non-root `make test` is that run")
def test_a_grader_that_is_not_root_isolates_in_a_user_namespace():
    from .test_attacks import CLASSMATES, EXPECTED, PEAK_WRAPPER, points

    from sslcourse.grading import graded_functions
    from sslcourse.grading.classroom.integrity import record

    work = tempfile.mkdtemp(prefix="sslcourse-nonroot-", dir="/tmp")
    try:
        os.chmod(work, 0o777)
        folder = Path(work) / "submissions"
        folder.mkdir()
        for name in NON_ROOT_ATTACKS:
            shutil.copy(HERE / "attacks" / name, folder / name)
        for name, solution in CLASSMATES.items():
            shutil.copy(ROOT / "solutions" / solution, folder / name)
        from sslcourse.grading.classroom.bank import new_bank

        new_bank(Path(work) / "bank")
        record(Path(work) / "record.json")
        for p in Path(work).rglob("*"):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        probe = subprocess.run(_as_nobody([shutil.which("bwrap"), "--ro-bind", "/", "/", "--unshare-all",
                                           "--proc", "/proc", "--dev", "/dev", "true"], work), capture_output=True)
        if probe.returncode:
            pytest.skip(f"no user namespaces for an unprivileged user here: {probe.stderr.decode()[-200:]}")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "SSLCOURSE_TEST_SECRET": "hunter2",
               "SSLCOURSE_COURSE_RECORD": f"{work}/record.json", "PYTHONDONTWRITEBYTECODE": "1"}
        out = f"{work}/gradebook.csv"
        run = subprocess.run(_as_nobody([sys.executable, "-c", PEAK_WRAPPER, f"{work}/peak", "grade", str(folder),
                                         "--out", out, "--timeout", "5", "--jobs", "2", "--tests", f"{work}/bank",
                                         "--json"], work), capture_output=True, env=env, timeout=900)
        assert run.returncode == 0, run.stderr.decode(errors="replace")[-3000:]
        reports = {r["path"]: r for r in json.loads(run.stdout)}
        bank = Path(work) / "bank"
        for name in NON_ROOT_ATTACKS:
            want = (points(name[:2], EXPECTED[name]["earns"], bank), points(name[:2], graded_functions(name[:2]), bank))
            assert (reports[name]["score"], reports[name]["max_score"]) == want, (name, reports[name]["flags"],
                                                                                   reports[name]["error"])
        for name in CLASSMATES:
            assert reports[name]["score"] == reports[name]["max_score"] > 0
        assert all(r["isolation"].startswith("isolated: bubblewrap sandbox in a user namespace") for r in reports.values())
        left = [p.name for p in Path("/proc").glob("[0-9]*") if (p / "cmdline").exists()
                and (p / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"986"]]
        assert not left
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_uid_is_handed_out_again_only_once_no_process_runs_as_it(monkeypatch):
    """A PID namespace's processes are killed when it ends but take a moment to go: the next submission must not
    share a uid (and its process limit) with them."""
    pool = sandbox.UidPool(2)
    first = pool.take()
    running = {first: 3}  # the uid's last process goes after three looks

    def in_use():
        running[first] = running.get(first, 0) - 1
        return {first} if running[first] >= 0 else set()

    monkeypatch.setattr(sandbox, "_uids_in_use", in_use)
    pool.give(first)
    assert running[first] < 0 and first in pool.free

    second = pool.take()
    monkeypatch.setattr(sandbox, "_uids_in_use", lambda: {second})
    monkeypatch.setattr(sandbox.time, "monotonic", iter(range(0, 1000, 5)).__next__)  # ten seconds pass quickly
    monkeypatch.setattr(sandbox.time, "sleep", lambda s: None)
    pool.give(second)
    assert second not in pool.free and len(pool.free) == 2 and len(set(pool.free)) == 2


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="runs a process as another uid: root")
def test_a_uid_given_back_ends_whatever_still_runs_as_it():
    """A worker whose sandbox could not be signalled (its first process unknown) would outlive its submission:
    setpriv's change of uid clears the parent-death signal. Giving the uid back ends it."""
    pool = sandbox.UidPool(1)
    uid = pool.take()
    left = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "sleep", "600"])
    try:
        deadline = time.monotonic() + 10
        while uid not in sandbox._uids_in_use() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert uid in sandbox._uids_in_use()
        reaper = threading.Thread(target=left.wait)  # as bwrap would: a killed child is reaped, not left a zombie
        reaper.start()
        pool.give(uid)
        reaper.join(timeout=10)
        assert left.returncode == -signal.SIGKILL
        assert pool.free == [uid]
    finally:
        left.kill()


def test_two_graders_on_one_machine_never_share_a_uid():
    """Two batches at once (two teachers, or two test workers) each take uids for their workers: had they shared
    one, the first to take it back would kill the other's worker (a CI run saw it). A uid is held by one pool
    until that pool closes (or its process ends)."""
    first, second = sandbox.UidPool(3), sandbox.UidPool(3)
    try:
        assert not set(first.free) & set(second.free)
        first.close()
        third = sandbox.UidPool(3)
        assert set(third.free) & set(first.free), "a closed pool's uids are free for the next grader"
        third.close()
    finally:
        first.close()
        second.close()


def test_uids_another_grader_holds_are_told_from_ones_this_process_holds():
    """test_attacks' check that nothing of its batch outlives it skips the uids another grader holds at that moment
    (the other xdist worker grading a class): told by the holder's process in /proc/locks, never this process."""
    from sslcourse.grading.runner import sandbox

    theirs, mine = sandbox.UID_BASE + 901, sandbox.UID_BASE + 902  # outside any pool's first 64
    fd = sandbox._reserve(mine)
    assert fd is not None
    other = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom sslcourse.grading.runner import sandbox\n"
                              f"print(sandbox._reserve({theirs}) is not None, flush=True)\ntime.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline().strip() == "True", "the other process could not take its uid"
        held = sandbox.uids_held_by_others()
        assert theirs in held and mine not in held, held
    finally:
        other.kill()
        other.wait()
        os.close(fd)
    assert theirs not in sandbox.uids_held_by_others(), "a lock goes with the process that held it"
