import os
import subprocess
import sys

import pytest
import torch

from sslcourse.config import profile, resolve_device, seed_everything


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for var in ("SSLCOURSE_PROFILE", "SSLCOURSE_DATASET", "SSLCOURSE_DEVICE"):
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
    with pytest.raises(ValueError, match="unknown profile 'fast'.*quick, full"):
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
