"""A run knows what it was trained on: data fingerprints, checkpoint paths, baselines, results."""
import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from sslcourse.config import profile
from sslcourse.data import ImageDataset, fingerprint_of, load_dataset
from sslcourse.runs import baseline, finetune, plan_run, train_method
from sslcourse.train import CheckpointError, fit

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def tiny(seed=0, n=64, name="tiny"):
    g = torch.Generator().manual_seed(seed)
    return ImageDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g),
                        torch.arange(n) % 4, list("abcd"), name, "train")


# ---- the fingerprint ----

def test_the_fingerprint_is_the_contents():
    a, same = tiny(0), tiny(0)
    assert a.fingerprint == same.fingerprint and len(a.fingerprint) == 16
    pixel = tiny(0)
    pixel.images[5, 1, 2, 3] ^= 1
    assert fingerprint_of(pixel.images, pixel.labels, pixel.classes) != a.fingerprint, "one pixel changed"
    relabelled = ImageDataset(a.images, a.labels.roll(1), a.classes, "tiny", "train")
    assert relabelled.fingerprint != a.fingerprint, "same images, other labels"
    renamed = ImageDataset(a.images, a.labels, list("wxyz"), "tiny", "train")
    assert renamed.fingerprint != a.fingerprint, "same images, other class names"


def test_subsets_and_copies_carry_a_derived_fingerprint():
    a = tiny(0)
    assert a.to("cpu").fingerprint == a.fingerprint
    s1, s2, s3 = a.subset(32, seed=0), a.subset(32, seed=0), a.subset(32, seed=1)
    assert s1.fingerprint == s2.fingerprint != s3.fingerprint != a.fingerprint
    assert a.subset(len(a)) is a


def test_shapes_fingerprint_is_cached_with_the_data(cache, monkeypatch):
    import sslcourse.data as data

    monkeypatch.setattr(data, "SHAPES_SIZES", {"train": 64, "test": 32})
    first = load_dataset("shapes")
    saved = torch.load(next(cache.glob("shapes-*-train-*.pt")), weights_only=True)
    assert saved["fingerprint"] == first.fingerprint == fingerprint_of(first.images, first.labels, first.classes)
    assert load_dataset("shapes").fingerprint == first.fingerprint


# ---- the two-folder sequence of the issue ----

def write_photos(root: Path, seed: int, per_class: int = 100):
    """Two classes of 16×16 'photos': equal sizes for every seed, other pixels."""
    g = torch.Generator().manual_seed(seed)
    for c in ("cats", "dogs"):
        (root / c).mkdir(parents=True)
        pixels = torch.randint(0, 256, (per_class, 16, 16, 3), dtype=torch.uint8, generator=g)
        for k in range(per_class):
            Image.fromarray(pixels[k].numpy()).save(root / c / f"{k:03d}.png")


def cli(*args, env):
    return subprocess.run([sys.executable, "-m", "sslcourse", *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "SSLCOURSE_DEVICE": "cpu", "SSLCOURSE_PROFILE": "quick", **env})


def test_two_image_folders_of_equal_size_train_twice_each_against_its_own_baseline(tmp_path):
    env = {"SSLCOURSE_CACHE": str(tmp_path / "cache")}
    write_photos(tmp_path / "photos_A", seed=1)
    write_photos(tmp_path / "photos_B", seed=2)
    results = {}
    for name in ("photos_A", "photos_B"):
        out = cli("train", "simclr", "--dataset", "folder", "--root", str(tmp_path / name), "--epochs", "1",
                  "--quiet", "--out", str(tmp_path / f"{name}.json"), env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "already trained" not in out.stdout, f"{name} reused another folder's encoder:\n{out.stdout}"
        results[name] = json.loads((tmp_path / f"{name}.json").read_text())
    a, b = results["photos_A"], results["photos_B"]
    assert a["data"]["train_size"] == b["data"]["train_size"] == 160
    assert a["data"]["train"] != b["data"]["train"] and a["data"]["test"] != b["data"]["test"]
    assert a["checkpoint"] != b["checkpoint"] and a["encoder"] != b["encoder"]
    baselines = sorted((tmp_path / "cache" / "results").glob("baseline-random-*.json"))
    assert len(baselines) == 2, "each folder gets its own random-init baseline"
    for r in (a, b):
        mine = [json.loads(p.read_text()) for p in baselines
                if json.loads(p.read_text())["identity"]["train"] == r["data"]["train"]]
        assert len(mine) == 1 and mine[0]["knn_accuracy"] == r["random_init_knn_accuracy"]
    again = cli("train", "simclr", "--dataset", "folder", "--root", str(tmp_path / "photos_A"), "--epochs", "1",
                "--quiet", "--out", str(tmp_path / "again.json"), env=env)
    assert "already trained" in again.stdout, "the same folder again reuses its own checkpoint"
    assert json.loads((tmp_path / "again.json").read_text())["knn_accuracy"] == a["knn_accuracy"]


def test_a_changed_shapes_generator_invalidates_old_checkpoints(cache, monkeypatch, capsys):
    """Simulated: the generator draws other pictures (and its source hash, the cache key, changes)."""
    import sslcourse.data as data

    monkeypatch.setattr(data, "SHAPES_SIZES", {"train": 256, "test": 64})
    p = profile("quick", device="cpu")
    old = load_dataset("shapes")
    _, _, first = train_method("rotation", p, old, epochs=1, progress=False)
    real_generate = data.shapes.generate
    monkeypatch.setattr(data.shapes, "generate", lambda n, seed: (real_generate(n, seed)[0].flip(3),
                                                                   real_generate(n, seed)[1]))
    monkeypatch.setattr(data, "shapes_code_version", lambda: "edited00")
    new = load_dataset("shapes")
    assert new.fingerprint != old.fingerprint
    capsys.readouterr()
    _, _, second = train_method("rotation", p, new, epochs=1, progress=False)
    assert "already trained" not in capsys.readouterr().out
    assert second.checkpoint != first.checkpoint
    method = plan_run("rotation", p, new, epochs=1).build()
    with pytest.raises(CheckpointError, match="data: .*other images or labels"):
        fit(method, new, epochs=1, batch_size=64, lr=2e-3, checkpoint=first.checkpoint, progress=False)


def test_a_run_refuses_data_it_was_not_planned_for(cache):
    run = plan_run("supervised", profile("quick", device="cpu"), tiny(0), epochs=1, batch_size=16)
    with pytest.raises(ValueError, match="planned for tiny data with fingerprint"):
        run.fit(run.build(), tiny(1), progress=False)


def test_a_named_checkpoint_of_other_data_is_refused_with_the_fix(cache, tmp_path):
    p = profile("quick", device="cpu")
    path = tmp_path / "mine.pt"
    train_method("supervised", p, tiny(0), checkpoint=path, epochs=1, batch_size=16, progress=False)
    with pytest.raises(CheckpointError, match=f"(?s)data: .*Fix: pass another checkpoint path.*rm '{path}'"):
        train_method("supervised", p, tiny(1), checkpoint=path, epochs=1, batch_size=16, progress=False)


def test_the_cli_reports_a_damaged_checkpoint_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"PK\x03\x04 half a zip")
    out = cli("train", "supervised", "--epochs", "1", "--train-size", "512", "--checkpoint", str(bad), "--quiet",
              env={"SSLCOURSE_CACHE": str(tmp_path / "cache")})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"checkpoint {bad} is damaged" in out.stderr and f"rm '{bad}'" in out.stderr


# ---- baselines ----

def test_baselines_are_keyed_by_the_data_and_recomputed_when_their_identity_differs(cache):
    p = profile("quick", device="cpu")
    test = tiny(9, n=32)
    a = baseline("random", p, tiny(0), test)
    b = baseline("random", p, tiny(1), test)
    files = sorted((cache / "results").glob("baseline-random-*.json"))
    assert len(files) == 2 and a["identity"]["train"] != b["identity"]["train"]
    mine = next(f for f in files if tiny(0).fingerprint[:8] in f.name)
    tampered = json.loads(mine.read_text())
    tampered["identity"]["seed"], tampered["knn_accuracy"] = 99, -1.0
    mine.write_text(json.dumps(tampered))
    assert baseline("random", p, tiny(0), test)["knn_accuracy"] == a["knn_accuracy"], "recomputed, not reused"
    mine.write_text("{ half a json")
    assert baseline("random", p, tiny(0), test)["knn_accuracy"] == a["knn_accuracy"], "a damaged file is redone"


def test_random_init_and_supervised_are_clearly_apart(shapes_train, shapes_test):
    """The quick profile's baselines: the gap every SSL lesson tries to close (BENCHMARKS.md)."""
    p = profile("quick", device="cpu")
    rand = baseline("random", p, shapes_train, shapes_test)
    sup = baseline("supervised", p, shapes_train, shapes_test, progress=False)
    assert sup["linear_probe_accuracy"] > rand["linear_probe_accuracy"] + 0.3
    assert sup["knn_accuracy"] > rand["knn_accuracy"] + 0.4
    assert sup["identity"]["run"]["data"] == shapes_train.fingerprint


def test_finetune_learns_from_few_labels(shapes_train, shapes_test):
    from sslcourse.models import build_backbone

    acc = finetune(build_backbone(seed=0), shapes_train, shapes_test.subset(500), fraction=0.1, cache=False)
    assert acc > 0.25, f"fine-tuning on 1,000 labelled images reached only {acc:.0%} (chance: 10%)"


def test_a_fine_tune_is_kept_and_its_rerun_returns_the_result_and_the_random_state_of_a_run(cache, monkeypatch):
    """Lesson 08 reuses lesson 07's fine-tunes of the same ViTs: a cached result must be the one training gives,
    leave the random-number state training leaves (later cells draw from it), and never serve other weights."""
    from sslcourse import runs
    from sslcourse.models import build_backbone

    train, test = tiny(0, n=64), tiny(1, n=32)
    encoder = build_backbone("small_convnet", seed=0)
    settings = dict(fraction=0.5, steps=4, seed=3, details=True)
    torch.manual_seed(7)
    trained = finetune(encoder, train, test, **settings)
    after_training = torch.get_rng_state()
    assert trained == finetune(encoder, train, test, cache=False, **settings), "the cache holds what training gives"
    assert len(list((cache / "results").glob("finetune-*.pt"))) == 1

    calls = []
    real = runs._finetune
    monkeypatch.setattr(runs, "_finetune", lambda *a, **k: calls.append(1) or real(*a, **k))
    torch.manual_seed(8)  # another state before the call: a hit must still leave training's state
    assert finetune(encoder, train, test, **settings) == trained
    assert not calls, "a re-run with the same weights, data and settings trains nothing"
    assert torch.equal(torch.get_rng_state(), after_training), "a hit leaves the random state a run leaves"

    changed = build_backbone("small_convnet", seed=0)
    first = next(changed.parameters())
    with torch.no_grad():
        first[(0,) * first.dim()] += 1e-3  # one weight
    finetune(changed, train, test, **settings)
    finetune(encoder, train, test, **{**settings, "steps": 5})
    finetune(encoder, tiny(2, n=64), test, **settings)
    assert len(calls) == 3, "other weights, another budget or other data are trained, never served from the cache"


# ---- the layers ----

def package_imports() -> dict[str, set[str]]:
    """{module: modules of sslcourse it imports}, function-level imports included."""
    graph = {}
    for path in (ROOT / "sslcourse").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [f"{target}.{a.name}" for a in node.names]
                deps |= {t for t in [target, *names] if t.startswith("sslcourse")}
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.startswith("sslcourse")}
        graph[module] = deps - {module}
    known = set(graph)
    return {m: {d if d in known else d.rsplit(".", 1)[0] for d in deps} & known - {m} for m, deps in graph.items()}


def find_cycle(graph):
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_the_package_has_no_import_cycle_between_its_layers():
    graph = package_imports()
    graph["sslcourse.runs"].discard("sslcourse")  # `from . import evaluate` loads the package __init__ first
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_protocol_trains_nothing_and_methods_evaluate_nothing():
    """DESIGN.md's "never" rows, which farm-studio cannot read through importlib: checked here."""
    graph = package_imports()
    assert not {d for d in graph["sslcourse.evaluate"] if d.startswith(("sslcourse.methods", "sslcourse.train",
                                                                          "sslcourse.runs"))}
    for module, deps in graph.items():
        if module.startswith("sslcourse.methods"):
            assert "sslcourse.evaluate" not in deps and "sslcourse.runs" not in deps, module
        if module.startswith("sslcourse.grading"):  # a grader checks against its own reference
            assert not {d for d in deps if d.startswith("sslcourse.methods")}, module


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_lp_ft_starts_fine_tuning_from_the_frozen_probe_exactly(shapes_train):
    """finetune's head_init="probe": the head is the protocol's linear probe with its standardisation folded in,
    so before any step the model predicts what the probe predicts."""
    from sslcourse.evaluate import extract_features, linear_probe
    from sslcourse.methods.supervised import Supervised
    from sslcourse.models import build_backbone
    from sslcourse.runs import _init_head_from_probe

    data = shapes_train.subset(300)
    model = Supervised(build_backbone("small_convnet", seed=0), num_classes=10).eval()
    _init_head_from_probe(model, data)
    features = extract_features(model.encoder, data.images)
    _, (head, mean, std) = linear_probe(features, data.labels, features, data.labels, return_model=True)
    with torch.no_grad():
        probe_says = head((features - mean) / std).argmax(1)
        model_says = model(data.images.float() / 255).argmax(1)
    assert torch.equal(probe_says, model_says)


def test_a_lessons_monitor_is_cheap_to_ask_for(cache):
    """`lesson_monitor` is passed by every trainer, also where the checkpoint is finished and nothing is
    evaluated: the GAN's judge (a supervised run) is built at its first evaluation, not before."""
    from sslcourse.runs import lesson_monitor

    p = profile("quick", device="cpu")
    train, test = tiny(0), tiny(1, n=32, name="tiny")
    assert callable(lesson_monitor("gan", p, train, test))
    assert not list(cache.glob("checkpoints/supervised-*")), "no supervised run trained for a monitor never called"
    assert callable(lesson_monitor("moco", p, train, test))
    assert lesson_monitor("rotation", p, train, test) is None, "lesson 02 draws no per-epoch evaluation"
