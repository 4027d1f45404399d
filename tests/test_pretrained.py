"""Shared checkpoints: export -> serve over HTTP -> fetch, verified; corrupted and cut-off files rejected."""
import http.server
import json
import threading
from functools import partial
from pathlib import Path

import pytest

import sslcourse.data as data
from sslcourse import pretrained
from sslcourse.config import profile
from sslcourse.pretrained import PretrainedError, fetch_all, read_manifest
from sslcourse.runs import export_checkpoints, train_and_evaluate


@pytest.fixture
def small_shapes(monkeypatch):
    monkeypatch.setattr(data, "SHAPES_SIZES", {"train": 512, "test": 128})
    monkeypatch.setattr(pretrained, "_manifests", {})


class Handler(http.server.SimpleHTTPRequestHandler):
    mode = "ok"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.mode == "dies" and self.path.endswith(".pt"):
            body = (Path(self.directory) / self.path.lstrip("/")).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True  # the server dies mid-file
            return
        super().do_GET()


@pytest.fixture
def serve():
    servers = []

    def start(folder, mode="ok"):
        handler = type("H", (Handler,), {"mode": mode})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="module")
def teacher_export(tmp_path_factory):
    """The instructor's export, once for the module: rotation on a small shapes set."""
    root = tmp_path_factory.mktemp("teacher")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(data, "SHAPES_SIZES", {"train": 512, "test": 128})
        mp.setenv("SSLCOURSE_CACHE", str(root / "teacher-cache"))
        export_checkpoints(profile("quick", device="cpu"), root / "shared", ["rotation"], progress=False)
    return root / "shared"


@pytest.fixture
def exported(teacher_export, tmp_path, small_shapes):
    """A copy of the export each test may damage."""
    import shutil

    return Path(shutil.copytree(teacher_export, tmp_path / "shared"))


def test_export_writes_a_manifest_with_checksums_and_metrics(exported):
    manifest = read_manifest(str(exported))
    (entry,) = manifest["checkpoints"]
    assert entry["method"] == "rotation" and entry["profile"] == "quick" and len(entry["sha256"]) == 64
    assert entry["bytes"] == (exported / entry["file"]).stat().st_size
    assert set(entry["data"]) == {"train", "test"} and "linear_probe_accuracy" in entry["metrics"]
    assert manifest["torch"] and entry["recipe"]["epochs"] >= 1
    import torch

    shared = torch.load(exported / entry["file"], weights_only=True)
    assert "optimizers" not in shared, "a shared checkpoint holds the final weights, not the optimiser state"


def test_a_learner_with_the_shared_url_loads_instead_of_training_and_gets_the_same_numbers(
        exported, serve, tmp_path, monkeypatch, capsys):
    url = serve(exported)
    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "learner-cache"))
    monkeypatch.setenv("SSLCOURSE_CHECKPOINTS", url)
    capsys.readouterr()
    result = train_and_evaluate("rotation", profile("quick", device="cpu"), progress=False)
    out = capsys.readouterr().out
    assert f"rotation: using the shared checkpoint of this run from {url}" in out
    assert "already trained" in out, "the run was trained again instead of loaded"
    (entry,) = read_manifest(url)["checkpoints"]
    for key in ("knn_accuracy", "knn200", "linear_probe_accuracy"):
        assert result[key] == pytest.approx(entry["metrics"][key], abs=1e-6), key


def test_fetch_copies_every_checkpoint_verified(exported, serve, tmp_path):
    url = serve(exported)
    (path,) = fetch_all(url, tmp_path / "cache", progress=False)
    assert path.read_bytes() == (exported / path.name).read_bytes()
    (again,) = fetch_all(str(exported), tmp_path / "from-a-folder", progress=False)
    assert again.read_bytes() == path.read_bytes()


def test_a_corrupted_file_is_rejected_and_nothing_is_kept(exported, serve, tmp_path):
    (entry,) = read_manifest(str(exported))["checkpoints"]
    blob = bytearray((exported / entry["file"]).read_bytes())
    blob[len(blob) // 3] ^= 0xFF
    (exported / entry["file"]).write_bytes(bytes(blob))
    with pytest.raises(PretrainedError, match="does not match its checksum in the manifest"):
        fetch_all(serve(exported), tmp_path / "cache", progress=False)
    assert not list((tmp_path / "cache").iterdir())


def test_a_server_that_dies_mid_file_leaves_nothing_half_written(exported, serve, tmp_path):
    with pytest.raises(PretrainedError, match=r"(stopped after|was cut off).*run the command again"):
        fetch_all(serve(exported, mode="dies"), tmp_path / "cache", progress=False)
    assert not list((tmp_path / "cache").iterdir())


def test_a_run_on_other_data_says_so_and_trains(exported, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "other-cache"))
    monkeypatch.setenv("SSLCOURSE_CHECKPOINTS", str(exported))
    monkeypatch.setattr(data, "SHAPES_SIZES", {"train": 256, "test": 128})  # other images: another run
    capsys.readouterr()
    train_and_evaluate("rotation", profile("quick", device="cpu"), progress=False)
    out = capsys.readouterr().out
    assert "no shared checkpoint for this run" in out and "its rotation checkpoint is of another run" in out
    assert "already trained" not in out


def test_bad_sources_are_clear_errors(tmp_path, serve):
    with pytest.raises(PretrainedError, match="does not exist"):
        read_manifest(str(tmp_path / "nowhere"))
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 99, "checkpoints": []}))
    with pytest.raises(PretrainedError, match="not a manifest of format 1"):
        read_manifest(str(tmp_path))
    with pytest.raises(PretrainedError, match="cannot download"):
        read_manifest(serve(tmp_path / "empty-dir-that-does-not-exist"))


def test_the_cli_exports_and_fetches(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "SSLCOURSE_DEVICE": "cpu", "SSLCOURSE_CACHE": str(tmp_path / "c")}
    out = subprocess.run([sys.executable, "-m", "sslcourse", "checkpoints", "fetch", str(tmp_path / "missing")],
                         capture_output=True, text=True, env=env)
    assert out.returncode == 2 and "does not exist" in out.stderr and "Traceback" not in out.stderr
