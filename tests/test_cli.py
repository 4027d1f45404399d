"""The `sslcourse` command: train, eval, errors that name the fix."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest


def run(*args, env=None, timeout=600):
    env = {**os.environ, "SSLCOURSE_DEVICE": "cpu", **(env or {})}
    return subprocess.run([sys.executable, "-m", "sslcourse", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def test_info_prints_the_profile():
    out = run("info")
    assert out.returncode == 0 and "profile=quick dataset=shapes" in out.stdout


def test_train_writes_results_with_the_random_init_baseline_and_resumes(tmp_path):
    out_json = tmp_path / "r.json"
    ckpt = tmp_path / "sup.pt"
    args = ("train", "supervised", "--epochs", "1", "--train-size", "1024", "--out", str(out_json),
            "--checkpoint", str(ckpt), "--quiet")
    first = run(*args)
    assert first.returncode == 0, first.stderr
    r = json.loads(out_json.read_text())
    for key in ("method", "dataset", "epochs", "seconds", "knn_accuracy", "linear_probe_accuracy",
                "random_init_knn_accuracy", "random_init_linear_probe_accuracy"):
        assert key in r, key
    assert r["method"] == "supervised" and r["dataset"] == "shapes" and r["epochs"] == 1
    assert ckpt.exists() and (tmp_path / "sup-encoder.pt").exists()
    again = run(*args)
    assert "already trained" in again.stdout
    assert json.loads(out_json.read_text())["knn_accuracy"] == r["knn_accuracy"]

    evaluated = run("eval", str(tmp_path / "sup-encoder.pt"), "--out", str(tmp_path / "e.json"))
    assert evaluated.returncode == 0, evaluated.stderr
    assert "kNN accuracy" in evaluated.stdout
    assert json.loads((tmp_path / "e.json").read_text())["method"] == "supervised"


def test_unknown_method_is_a_clear_error():
    out = run("train", "dino")
    assert out.returncode == 2
    assert "unknown method 'dino': choose one of supervised" in out.stderr and "Traceback" not in out.stderr
    assert "byol, mae, or all" in out.stderr, "every method is offered, lesson 07's MAE too"


def test_missing_dataset_offline_is_a_clear_error(tmp_path):
    out = run("train", "supervised", "--profile", "full", "--root", str(tmp_path), "--epochs", "1",
              env={"SSLCOURSE_NO_DOWNLOAD": "1"})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "cifar10" in out.stderr and "shapes" in out.stderr


def test_eval_of_a_missing_file():
    out = run("eval", "nowhere.pt")
    assert out.returncode == 2 and "no encoder checkpoint at nowhere.pt" in out.stderr


def test_an_interrupted_train_resumes(tmp_path):
    """Ctrl-C (or a dying session) after the first epoch's checkpoint: the rerun continues from it."""
    ckpt = tmp_path / "simclr.pt"
    args = ["train", "simclr", "--epochs", "3", "--train-size", "1024", "--checkpoint", str(ckpt), "--quiet",
            "--out", str(tmp_path / "r.json")]
    env = {**os.environ, "SSLCOURSE_DEVICE": "cpu"}
    # A shell's background job (`make test &`, nohup) starts with SIGINT ignored, and Python then never
    # raises KeyboardInterrupt: give the child the default disposition so Ctrl-C reaches it as it would a user.
    proc = subprocess.Popen([sys.executable, "-m", "sslcourse", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 300
    while not ckpt.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert ckpt.exists(), "the first epoch's checkpoint was not written"
    assert "interrupted after" in out, f"the run was not interrupted by Ctrl-C: {out[-500:]}"
    again = run(*args)
    assert again.returncode == 0, again.stderr
    assert "resuming from" in again.stdout and "after epoch" in again.stdout
    assert json.loads((tmp_path / "r.json").read_text())["epochs"] == 3


def test_train_all_runs_every_method(tmp_path):
    out = run("train", "all", "--epochs", "1", "--train-size", "512", "--quiet", "--out", str(tmp_path / "all.json"),
              env={"SSLCOURSE_CACHE": str(tmp_path / "cache")})
    assert out.returncode == 0, out.stderr
    results = json.loads((tmp_path / "all.json").read_text())
    assert set(results) == {"supervised", "inpainting", "rotation", "jigsaw", "simclr", "gan", "moco", "byol", "mae"}
    assert "random init" in out.stdout and "simclr" in out.stdout
    assert "random ViT (mae's)" in out.stdout, "MAE's row has its own reference: a ViT at random init"
    assert results["mae"]["random_init"] != results["simclr"]["random_init"]
    # each checkpoint carries the per-epoch numbers its lesson draws, whoever trained it (runs.lesson_monitor)
    for name in ("simclr", "moco", "byol"):
        assert all(0 <= row["knn"] <= 1 for row in results[name]["history"]), name
    assert all({"fd", "precision", "recall"} <= set(row) for row in results["gan"]["history"])
    assert not any("knn" in row or "fd" in row for row in results["rotation"]["history"])


def test_course_runs_a_lesson_into_build(course_run):
    """`make run` in small: the lesson is executed, saved with outputs and as HTML, and its results tabled."""
    build, out = course_run  # tests/conftest.py: `sslcourse course --only 00`, quick profile
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert "00_introduction.ipynb" in out.stdout and " ok" in out.stdout and "1/1 lessons ran" in out.stdout
    assert "Kernel is running over TCP" not in out.stderr
    executed = json.loads((build / "notebooks" / "00_introduction.ipynb").read_text())
    assert any(cell.get("outputs") for cell in executed["cells"] if cell["cell_type"] == "code")
    assert (build / "html" / "00_introduction.html").stat().st_size > 10_000
    results = json.loads((build / "results" / "00_introduction.json").read_text())["results"]
    assert results["supervised"]["linear_probe_accuracy"] > results["random init"]["linear_probe_accuracy"]
    table = out.stdout[out.stdout.index("lesson "):]
    assert "random init" in table and "supervised" in table


def test_course_names_an_unknown_lesson():
    out = run("course", "--only", "42")
    assert out.returncode == 2 and "no lesson numbered 42" in out.stderr and "00" in out.stderr


def test_the_learners_workspace_is_made_once_and_never_overwritten(tmp_path):
    """`make lab` opens copies: the tracked lessons stay clean whatever a learner does to them."""
    first = run("workspace", str(tmp_path / "ws"))
    assert first.returncode == 0, first.stderr
    lesson = tmp_path / "ws" / "lessons" / "04_simclr.ipynb"
    exercise = tmp_path / "ws" / "exercises" / "00_knn.ipynb"
    assert lesson.exists() and exercise.exists() and (tmp_path / "ws" / "jupytext.toml").exists()
    lesson.write_text("my edits")
    again = run("workspace", str(tmp_path / "ws"))
    assert again.returncode == 0 and "0 new file(s)" in again.stdout and lesson.read_text() == "my edits"
    fresh = run("workspace", str(tmp_path / "ws"), "--fresh", "04")
    assert fresh.returncode == 0 and lesson.read_text() != "my edits"
    assert [p.read_text() for p in lesson.parent.glob("04_simclr.ipynb.old-*")] == ["my edits"], "the old copy is kept"


def test_batch_size_is_an_option_and_a_batch_larger_than_the_data_becomes_the_data(tmp_path):
    out_json = tmp_path / "r.json"
    out = run("train", "supervised", "--epochs", "1", "--train-size", "100", "--batch-size", "512", "--quiet",
              "--out", str(out_json))
    assert out.returncode == 0, out.stderr
    assert "the recipe's batch of 512 is more than the 100 training images: batches of 100" in out.stdout
    r = json.loads(out_json.read_text())
    assert r["global_batch"] == 100 and r["recipe"]["batch_size"] == 100 and r["data"]["train_size"] == 100
    bad = run("train", "supervised", "--batch-size", "0")
    assert bad.returncode == 2 and "--batch-size: must be at least 1, got 0" in bad.stderr and "Traceback" not in bad.stderr
