"""Pretrained checkpoints, shared and verified: a class pre-trains once and hands them out.

An instructor trains every method of a profile once and exports the checkpoints with a
manifest (``sslcourse checkpoints export DIR``, which calls :func:`write_manifest`)::

    DIR/manifest.json         {"format": 1, "checkpoints": [{"file", "sha256", "bytes", "method",
                               "run_id", "recipe", "profile", "dataset", "data", "metrics", "torch"}, ...]}
    DIR/simclr-gpu-cifar10-e20-s0-1a2b3c4d.pt   ...

Put DIR on any web server (or a shared drive). Learners then either fetch them all
(``sslcourse checkpoints fetch URL_OR_DIR``) or set ``SSLCOURSE_CHECKPOINTS=URL_OR_DIR``:
every lesson and ``sslcourse train`` then loads the checkpoint of a run whose identity (the
run id: method, recipe, seed and the data's fingerprint) matches, instead of training it.

Every file is verified against the manifest's SHA-256 and size while it downloads into a
temporary file beside its destination; only a complete, verified file is renamed into
place, so a corrupted file or a download cut off half way leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
CHUNK = 1 << 20


class PretrainedError(RuntimeError):
    """A shared checkpoint could not be fetched or did not verify; the message says what to do."""


def is_url(source: str) -> bool:
    return str(source).startswith(("http://", "https://", "file://"))


def _join(source: str, name: str) -> str:
    return f"{str(source).rstrip('/')}/{name}" if is_url(source) else str(Path(source) / name)


def _open(location: str, timeout: float = 30):
    """A binary stream of a URL or a local file, and its length if known."""
    if is_url(location):
        try:
            response = urllib.request.urlopen(location, timeout=timeout)
        except (urllib.error.URLError, OSError) as err:
            raise PretrainedError(f"cannot download {location}: {getattr(err, 'reason', err)}. Check the address "
                                  "and the network, or copy the folder and point at it instead") from None
        length = response.headers.get("Content-Length")
        return response, int(length) if length else None
    path = Path(location)
    if not path.exists():
        raise PretrainedError(f"{path} does not exist: point at the folder that holds {MANIFEST} and the checkpoints")
    return open(path, "rb"), path.stat().st_size


def sha256_of(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def read_manifest(source: str) -> dict:
    """The manifest of a folder or URL of shared checkpoints, checked for its format."""
    location = _join(source, MANIFEST)
    stream, _ = _open(location)
    with stream:
        raw = stream.read()
    try:
        manifest = json.loads(raw)
    except ValueError:
        raise PretrainedError(f"{location} is not a JSON manifest written by `sslcourse checkpoints export`") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
            or not isinstance(manifest.get("checkpoints"), list):
        raise PretrainedError(f"{location} is not a manifest of format {MANIFEST_FORMAT} "
                              "(export the checkpoints again with this version of sslcourse)")
    return manifest


def download(entry: dict, source: str, dest: Path) -> Path:
    """Copy ``entry['file']`` from ``source`` to ``dest``, verified; nothing is left behind on failure."""
    location = _join(source, entry["file"])
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    received, h = 0, hashlib.sha256()
    try:
        stream, _ = _open(location)
        with stream, os.fdopen(fd, "wb") as out:
            try:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    out.write(chunk)
                    h.update(chunk)
                    received += len(chunk)
            except (OSError, urllib.error.URLError, ValueError) as err:  # the connection died mid-file
                raise PretrainedError(f"the download of {location} stopped after {received:,} of "
                                      f"{entry['bytes']:,} bytes ({err}): run the command again") from None
        if received != entry["bytes"]:
            raise PretrainedError(f"the download of {location} was cut off: {received:,} of {entry['bytes']:,} "
                                  "bytes arrived. Nothing was kept; run the command again")
        if h.hexdigest() != entry["sha256"]:
            raise PretrainedError(f"{location} does not match its checksum in the manifest (sha256 "
                                  f"{h.hexdigest()[:12]}… instead of {entry['sha256'][:12]}…): the file is corrupted "
                                  "or was replaced. Nothing was kept; ask for the checkpoints to be exported again")
        os.replace(tmp, dest)
        return dest
    finally:
        Path(tmp).unlink(missing_ok=True)


def fetch_all(source: str, folder: Path, methods=None, progress: bool = True) -> list[Path]:
    """Download every checkpoint of the manifest at ``source`` (or those of ``methods``) into ``folder``."""
    manifest = read_manifest(source)
    entries = [e for e in manifest["checkpoints"] if methods is None or e["method"] in methods]
    if not entries:
        raise PretrainedError(f"{source} holds no checkpoint of {', '.join(methods)}")
    paths = []
    for e in entries:
        dest = Path(folder) / e["file"]
        if dest.exists() and sha256_of(dest) == e["sha256"]:
            if progress:
                print(f"  {e['method']:<11} already here: {dest}")
        else:
            t0 = time.perf_counter()
            download(e, source, dest)
            if progress:
                print(f"  {e['method']:<11} {e['bytes'] / 1e6:6.1f} MB verified in {time.perf_counter() - t0:.1f} s "
                      f"-> {dest}")
        paths.append(dest)
    return paths


_manifests: dict[str, dict | PretrainedError] = {}


def provide(run_id: str, method: str, dest: Path, source: str | None = None) -> dict | None:
    """Where ``SSLCOURSE_CHECKPOINTS`` (or ``source``) names shared checkpoints: put the one of run
    ``run_id`` at ``dest`` (verified) and return its manifest entry; None when there is none."""
    source = source or os.environ.get("SSLCOURSE_CHECKPOINTS")
    if not source:
        return None
    if source not in _manifests:  # read once per process
        try:
            _manifests[source] = read_manifest(source)
        except PretrainedError as err:
            _manifests[source] = err
    manifest = _manifests[source]
    if isinstance(manifest, PretrainedError):
        print(f"{method}: SSLCOURSE_CHECKPOINTS is set but unusable ({manifest}); training instead")
        return None
    entry = next((e for e in manifest["checkpoints"] if e.get("run_id") == run_id), None)
    if entry is None:
        same = [e for e in manifest["checkpoints"] if e["method"] == method]
        why = (f"its {method} checkpoint is of another run (data {same[0]['data']['train'][:8]}…, recipe or seed)"
               if same else f"it holds no {method} checkpoint")
        print(f"{method}: no shared checkpoint for this run in {source} ({why}); training it here")
        return None
    download(entry, source, dest)
    metrics = entry.get("metrics") or {}
    summary = ", ".join(f"{k.replace('_accuracy', '')} {100 * v:.1f} %" for k, v in metrics.items()
                        if k in ("knn_accuracy", "linear_probe_accuracy"))
    print(f"{method}: using the shared checkpoint of this run from {source} (verified"
          + (f"; when exported: {summary}" if summary else "") + ")")
    return entry


def write_manifest(folder: Path, entries: list[dict]) -> Path:
    """Write ``folder/manifest.json`` for checkpoint files already in ``folder`` (adds sha256 and size)."""
    import torch

    from . import __version__
    from .data import atomic_write_text

    folder = Path(folder)
    for e in entries:
        path = folder / e["file"]
        e["sha256"], e["bytes"] = sha256_of(path), path.stat().st_size
    manifest = {"format": MANIFEST_FORMAT, "sslcourse": __version__, "torch": torch.__version__,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "checkpoints": entries}
    path = folder / MANIFEST
    atomic_write_text(path, json.dumps(manifest, indent=1))
    return path


def copy_tree_note(folder: Path) -> str:
    """How to share an exported folder (printed by the export command)."""
    return (f"share {folder} as it is — on a web server (e.g. `python -m http.server -d {folder}`), a course "
            f"website or a shared drive — then learners run `sslcourse checkpoints fetch URL_OR_DIR` or set "
            f"SSLCOURSE_CHECKPOINTS=URL_OR_DIR")


__all__ = ["PretrainedError", "read_manifest", "download", "fetch_all", "provide", "write_manifest", "sha256_of"]
