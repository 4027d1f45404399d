import os
import subprocess
import sys

import pytest
import torch

from sslcourse.config import profile, resolve_device, seed_everything


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("SSLCOURSE_PROFILE", "SSLCOURSE_DATASET", "SSLCOURSE_DEVICE", "SSLCOURSE_PRECISION",
                "SSLCOURSE_CPU_BF16"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU default")
def test_quick_is_the_default_without_cuda():
    p = profile()
    assert (p.name, p.dataset, p.backbone, p.device) == ("quick", "shapes", "small_convnet", "cpu")


def test_full_profile_settings():
    p = profile("full", device="cpu")
    assert (p.name, p.dataset, p.backbone) == ("full", "cifar10", "resnet18")


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("SSLCOURSE_PROFILE", "full")
    monkeypatch.setenv("SSLCOURSE_DATASET", "stl10")
    monkeypatch.setenv("SSLCOURSE_DEVICE", "cpu")
    p = profile()
    assert (p.name, p.dataset, p.device) == ("full", "stl10", "cpu")


def test_unknown_profile_lists_the_valid_ones(monkeypatch):
    monkeypatch.setenv("SSLCOURSE_PROFILE", "fast")
    with pytest.raises(ValueError, match="unknown profile 'fast'.*quick, gpu, full"):
        profile()


def test_unknown_dataset_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'.*shapes, cifar10, stl10, folder"):
        profile("quick", dataset="mnist")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_asked_for_but_absent_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SSLCOURSE_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available.*SSLCOURSE_DEVICE=cpu"):
        profile()


def test_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")


def test_replace_checks_names():
    p = profile("quick", device="cpu")
    assert p.replace(batch_size=64).batch_size == 64
    with pytest.raises(ValueError, match="valid datasets"):
        p.replace(dataset="imagenet")


def test_seed_everything_repeats_random_draws():
    seed_everything(3)
    a = torch.rand(5)
    seed_everything(3)
    assert torch.equal(a, torch.rand(5))


def test_imports_and_prints_without_jupyter():
    code = "import sys; import sslcourse; print(sslcourse.config.profile()); assert 'IPython' not in sys.modules"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SSLCOURSE_")}
    env["SSLCOURSE_DEVICE"] = "cpu"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.startswith("profile=quick dataset=shapes backbone=small_convnet device=cpu"), out.stdout


# ---- a CUDA machine, mocked: which profile and which precision ----

def fake_gpu(monkeypatch, name, capability):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)


def test_a_t4_gets_the_gpu_profile_in_fp16_with_a_gradient_scaler(monkeypatch, capsys):
    from sslcourse.config import lesson_setup

    fake_gpu(monkeypatch, "Tesla T4", (7, 5))
    p = profile()
    assert (p.name, p.dataset, p.backbone, p.device, p.amp) == ("gpu", "cifar10", "resnet18", "cuda", "fp16")
    monkeypatch.setattr(torch, "manual_seed", lambda seed: None)  # no CUDA to seed on this machine
    lesson_setup()
    out = capsys.readouterr().out
    assert "precision fp16: the Tesla T4 (compute capability 7.5) has no bf16 units: fp16 with a gradient scaler" \
        in out
    assert "gpu profile (cifar10, resnet18): about a minute of training per lesson on an H100" in out


def test_an_h100_gets_bf16_and_the_full_profile_only_when_asked(monkeypatch):
    fake_gpu(monkeypatch, "NVIDIA H100 80GB HBM3", (9, 0))
    assert (profile().name, profile().amp) == ("gpu", "bf16")
    full = profile("full")
    assert (full.name, full.amp, full.compile) == ("full", "bf16", True)
    assert not profile().compile, "session-sized runs do not pay for torch.compile"


def test_precision_on_request(monkeypatch):
    fake_gpu(monkeypatch, "Tesla V100", (7, 0))
    monkeypatch.setenv("SSLCOURSE_PRECISION", "fp32")
    assert profile().amp is None and profile().precision == "fp32"
    monkeypatch.setenv("SSLCOURSE_PRECISION", "bf16")
    with pytest.raises(ValueError, match="the Tesla V100 has no bf16 units.*SSLCOURSE_PRECISION=fp16"):
        profile()
    monkeypatch.setenv("SSLCOURSE_PRECISION", "fp8")
    with pytest.raises(ValueError, match="unknown precision 'fp8'.*fp32, bf16, fp16"):
        profile()


def test_a_precision_asked_for_is_described_as_asked_for_not_as_the_hardware_s_choice(monkeypatch):
    """fp16 forced on an H200 (the GPU check's T4 path) once read "the H200 has no bf16 units"."""
    from sslcourse.config import describe_precision

    fake_gpu(monkeypatch, "NVIDIA H200", (9, 0))
    assert describe_precision(profile()) == "precision bf16: the NVIDIA H200 (compute capability 9.0) has bf16 units"
    monkeypatch.setenv("SSLCOURSE_PRECISION", "fp16")
    line = describe_precision(profile())
    assert line == ("precision fp16: asked for (SSLCOURSE_PRECISION; the NVIDIA H200 would run bf16), "
                    "with a gradient scaler") and "no bf16 units" not in line
    monkeypatch.setenv("SSLCOURSE_PRECISION", "fp32")
    assert describe_precision(profile()) == \
        "precision fp32: asked for (SSLCOURSE_PRECISION; the NVIDIA H200 would run bf16)"
    monkeypatch.undo()
    monkeypatch.setenv("SSLCOURSE_CPU_BF16", "0")
    monkeypatch.setenv("SSLCOURSE_PRECISION", "bf16")
    assert describe_precision(profile("quick")) == \
        "precision bf16: asked for (SSLCOURSE_PRECISION; this CPU emulates bf16, slower than float32)"
    monkeypatch.setenv("SSLCOURSE_PRECISION", "fp16")
    assert describe_precision(profile("quick")) == \
        ("precision fp16: asked for (SSLCOURSE_PRECISION; on a CPU, fp16 convolutions can train 100 times slower "
         "than float32: bf16 or fp32 train faster here)"), "a learner who forces fp16 on a CPU is told what it costs"


def test_cpu_precision_follows_its_bf16_units(monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CPU_BF16", "1")
    assert profile("quick", device="cpu").amp == "bf16"
    monkeypatch.setenv("SSLCOURSE_CPU_BF16", "0")
    assert profile("quick", device="cpu").amp is None


def test_gpu_and_full_recipes_exist_for_every_method():
    from sslcourse.methods import METHODS, recipe

    for name in METHODS:
        for prof in ("quick", "gpu", "full"):
            assert recipe(name, profile(prof, device="cpu"))["epochs"] >= 1
        assert recipe(name, profile("gpu", device="cpu"))["epochs"] < recipe(name, profile("full", device="cpu"))["epochs"]


def test_smoke_runs_keep_each_profiles_code_paths_at_a_few_steps(monkeypatch):
    from sslcourse.config import SMOKE_BATCH, SMOKE_WIDTH
    from sslcourse.methods import METHODS, recipe

    monkeypatch.delenv("SSLCOURSE_PRECISION", raising=False)
    gpu, full = profile("gpu", device="cpu", smoke=True), profile("full", device="cpu", smoke=True)
    assert (gpu.dataset, gpu.backbone, gpu.amp, gpu.smoke) == ("cifar10", "resnet18_narrow", "fp16", True), \
        "the gpu profile's smoke run is what a Colab T4 runs: ResNet-18 on CIFAR-10 in fp16 with a scaler"
    assert (full.backbone, full.amp) == ("resnet18_narrow", "bf16")
    assert "SMOKE" in str(gpu) and not profile("gpu", device="cpu", smoke=False).smoke
    monkeypatch.setenv("SSLCOURSE_PRECISION", "fp32")
    assert profile("gpu", device="cpu", smoke=True).amp is None, "an asked-for precision wins"
    for name in METHODS:
        full_recipe, smoke_recipe = recipe(name, profile("gpu", device="cpu")), recipe(name, gpu)
        assert smoke_recipe["epochs"] == 1 and smoke_recipe["batch_size"] <= SMOKE_BATCH
        assert all(smoke_recipe[k] <= SMOKE_WIDTH for k in smoke_recipe if k.endswith("width"))
        assert set(smoke_recipe) == set(full_recipe), f"{name}: a smoke run changes sizes, never which settings exist"


def test_smoke_mode_is_read_from_the_environment_and_checked(monkeypatch):
    monkeypatch.setenv("SSLCOURSE_SMOKE", "1")
    assert profile("quick", device="cpu").smoke
    monkeypatch.setenv("SSLCOURSE_SMOKE", "yes")
    with pytest.raises(ValueError, match="SSLCOURSE_SMOKE='yes': use 1"):
        profile("quick", device="cpu")


def test_smoke_data_are_a_small_subset_and_small_data_carry_a_note(monkeypatch, capsys):
    from sslcourse.config import SMOKE_SIZES
    from sslcourse.data import load_profile_data, small_data_note

    train, test = load_profile_data(profile("quick", device="cpu", smoke=True))
    assert (len(train), len(test)) == (SMOKE_SIZES["train"], SMOKE_SIZES["test"])
    assert "±6 points" in small_data_note(240, 60) and "differences smaller than about 13 points" in small_data_note(240, 60)


def test_a_smoke_fine_tune_takes_a_few_steps(monkeypatch):
    from sslcourse.data import load_profile_data
    from sslcourse.models import build_backbone
    from sslcourse.runs import SMOKE_FINETUNE_STEPS, finetune

    monkeypatch.setenv("SSLCOURSE_SMOKE", "1")
    train, test = load_profile_data(profile("quick", device="cpu"))
    r = finetune(build_backbone("small_convnet", seed=0), train, test, 0.1, details=True)
    assert r["steps"] <= SMOKE_FINETUNE_STEPS + 1 and 0 <= r["start_accuracy"] <= 1
