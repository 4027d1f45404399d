"""A tensor is made on its input's device — checked without a GPU.

PyTorch's ``meta`` device holds shapes but no data, and mixing a meta tensor with a CPU
tensor raises exactly like mixing a CUDA tensor with a CPU one. So every pretext
transform, augmentation, training step and protocol helper runs here on meta inputs: a
``torch.arange(n)`` or a mask made on the CPU where the input's device belongs fails on
this CPU-only machine the moment it is written, not in front of a class on a GPU.
"""
import ast
from pathlib import Path

import pytest
import torch

from sslcourse import augment, pretext
from sslcourse.config import profile
from sslcourse.methods import METHODS, build_method

META = torch.device("meta")
ROOT = Path(__file__).resolve().parents[1]


def images(n=8, size=32, dtype=torch.uint8):
    return torch.empty(n, 3, size, size, dtype=dtype, device=META)


def on_meta(*tensors):
    for t in tensors:
        assert t.device == META, f"made on {t.device}, not on the input's device"


def test_meta_stands_in_for_cuda():
    with pytest.raises(RuntimeError, match="device"):
        torch.ones(3, device=META) + torch.ones(3)


# ---- pretext transforms ----

@pytest.mark.parametrize("strategy", pretext.MASK_STRATEGIES)
def test_masks_are_made_on_the_device_asked_for(strategy):
    on_meta(pretext.make_mask(strategy, 4, 32, 0.5, device=META))


@pytest.mark.parametrize("strategy", pretext.MASK_STRATEGIES)
def test_masks_follow_the_device_of_a_generator_drawn_elsewhere(strategy):
    """A CPU generator (seeded for a figure) with data on another device: drawn there, moved here."""
    g = torch.Generator().manual_seed(0)
    on_meta(pretext.make_mask(strategy, 4, 32, 0.5, generator=g, device=META))


def test_masked_mse_and_rotations_on_the_input_device():
    x = images(dtype=torch.float32)
    m = pretext.make_mask("block", 8, 32, 0.25, device=META)
    on_meta(pretext.masked_mse(x, x, m))
    rotated, labels = pretext.rotate_batch(images())
    on_meta(rotated, labels)


def test_jigsaw_tiles_on_the_input_device():
    x = images(dtype=torch.float32)
    for jitter in (True, False):
        on_meta(pretext.extract_tiles(x, 3, 9, jitter=jitter))
    tiles = pretext.extract_tiles(x, 3, 9, generator=torch.Generator().manual_seed(0))
    perms = pretext.make_permutation_set(8, seed=0)  # a table made once, on the CPU
    idx = torch.arange(8, device=META) % len(perms)
    on_meta(pretext.shuffle_tiles(tiles, perms.to(META)[idx]))
    on_meta(pretext.shuffle_tiles(tiles, perms[:8]), pretext.shuffle_tiles(tiles, perms[0]))  # any table's device
    on_meta(pretext.assemble_tiles(tiles))


# ---- augmentations ----

@pytest.mark.parametrize("name,fn", [
    ("random_resized_crop", lambda x: augment.random_resized_crop(x, 32, flip_p=0.5)),
    ("horizontal_flip", augment.horizontal_flip),
    ("color_jitter", lambda x: augment.color_jitter(x, p=0.8)),
    ("random_grayscale", augment.random_grayscale),
    ("gaussian_blur", lambda x: augment.gaussian_blur(x, p=1.0)),
    ("normalize", augment.normalize),
    ("light_augment", augment.light_augment),
    ("SimCLRAugment", augment.SimCLRAugment(blur_p=0.5)),
])
def test_augmentations_on_the_input_device(name, fn):
    on_meta(fn(images()))


def test_augmentations_with_a_generator_of_another_device():
    g = torch.Generator().manual_seed(0)
    on_meta(augment.SimCLRAugment(blur_p=0.5)(images(), g))


# ---- methods ----

def meta_method(name):
    torch.manual_seed(0)
    method, _ = build_method(name, profile("quick", device="cpu"))
    return method.to(META)


@pytest.mark.parametrize("name", METHODS)
def test_every_training_step_runs_on_the_device_of_its_batch(name):
    method = meta_method(name)
    x, y = images(16), torch.zeros(16, dtype=torch.int64, device=META)
    for part in method.configure_optimizers():
        loss, logs = method.training_step(x, y, part)
        on_meta(loss, *logs.values())
        loss.backward()


@pytest.mark.parametrize("name", ["moco", "byol"])
def test_momentum_updates_and_the_queue_stay_on_the_method_device(name):
    """After a step, fit calls on_step_end: the EMA update (and MoCo's enqueue, inside the step) on the meta device."""
    method = meta_method(name)
    x, y = images(16), torch.zeros(16, dtype=torch.int64, device=META)
    loss, logs = method.training_step(x, y, "main")
    loss.backward()
    method.on_step_end(0, 10)
    on_meta(*method.state_dict().values())


def test_methods_built_around_an_encoder_on_another_device():
    """Building a method probes its encoder (e.g. the decoder's input size): on the encoder's device."""
    from sslcourse.models import build_backbone

    encoder = build_backbone("small_convnet", seed=0).to(META)
    method, _ = build_method("inpainting", profile("quick", device="cpu"), encoder=encoder)
    on_meta(*method.encoder.parameters())


def test_jigsaw_puzzles_and_gan_samples_on_the_method_device():
    jigsaw = meta_method("jigsaw")
    tiles, labels = jigsaw.make_puzzles(images())
    on_meta(tiles, labels, jigsaw(tiles))
    gan = meta_method("gan")
    on_meta(gan.sample(4), gan.sample(2, torch.randn(2, gan.z_dim)))  # a CPU z is moved to the generator


@pytest.mark.parametrize("change", [dict(upsample="transposed"), dict(spectral_norm=True, loss="hinge", ema=0.99)])
def test_gan_variants_train_on_the_device_of_their_batch(change):
    """The lesson's DCGAN-as-published (transposed convolutions) and its stabilisers (a spectrally normalised D,
    the hinge loss, a moving average of G's weights)."""
    torch.manual_seed(0)
    gan, _ = build_method("gan", profile("quick", device="cpu"), **change)
    gan = gan.to(META)
    for part in gan.configure_optimizers():
        loss, logs = gan.training_step(images(8), None, part)
        on_meta(loss, *logs.values())
        loss.backward()
    gan.on_step_end(0, 1)
    on_meta(gan.sample(2, torch.randn(2, gan.z_dim)), gan.sample(2, ema=False))


def test_mae_masks_restores_and_reconstructs_on_the_device_of_its_batch():
    """Patches, per-sample noise, restore indices, mask tokens and the reconstruction shown in lesson 07."""
    mae = meta_method("mae")
    x = images(4, dtype=torch.float32)
    patches = pretext.patchify(x, 4)
    on_meta(patches, pretext.unpatchify(patches, 4))
    on_meta(*pretext.random_masking(patches, 0.75))
    on_meta(*pretext.random_masking(patches, 0.75, generator=torch.Generator().manual_seed(0)))
    on_meta(*mae.reconstruct(images(4), 0.5))


def test_simclr_gradient_by_hand_on_the_input_device():
    from sslcourse.methods.simclr import nt_xent_grad, nt_xent_loss

    z = torch.empty(8, 16, device=META)
    on_meta(nt_xent_grad(z, 0.5), nt_xent_loss(z[:4], z[4:], 0.5))


# ---- the protocol ----

def test_the_protocol_follows_the_encoder_device():
    from sslcourse.evaluate import extract_features, knn_predict, standardise
    from sslcourse.models import build_backbone

    encoder = build_backbone("small_convnet", seed=0).to(META)
    feats = extract_features(encoder, images(20), batch_size=8)
    on_meta(feats)
    labels = torch.zeros(20, dtype=torch.int64, device=META)
    on_meta(knn_predict(feats, labels, feats[:5], k=3, num_classes=4))
    on_meta(*standardise(feats, feats[:5]))


def test_sample_measures_follow_the_device_of_their_inputs():
    """sslcourse.generative: features, statistics, the probe classifier and the nearest real image."""
    from sslcourse.generative import ProbeClassifier, gaussian_statistics, nearest_real
    from sslcourse.models import build_backbone

    encoder = build_backbone("small_convnet", seed=0).to(META)
    dim = encoder.feature_dim
    head = torch.nn.Linear(dim, 10).to(META)
    classifier = ProbeClassifier(encoder, head, torch.empty(dim, device=META), torch.empty(dim, device=META))
    on_meta(classifier(images(4, dtype=torch.float32)))
    on_meta(*gaussian_statistics(torch.empty(10, dim, device=META)))
    on_meta(nearest_real(images(4, dtype=torch.float32), images(6)))


def test_plots_and_widgets_take_tensors_from_any_device():
    """Figures copy to the CPU themselves: the lesson never has to."""
    import matplotlib

    matplotlib.use("Agg")
    from sslcourse.plots import to_numpy_image

    x = torch.rand(3, 8, 8)
    assert to_numpy_image(x).shape == (8, 8, 3)


# ---- lesson cells ----

FACTORIES = {"arange", "zeros", "ones", "full", "empty", "rand", "randn", "randint", "randperm", "eye",
             "linspace", "tensor", "Generator"}


def factory_calls_without_a_device(source: str):
    """Lines of ``torch.<factory>(...)`` calls that name no device — no ``device=``, no ``generator=`` (which
    draws on its own device), no Generator's first argument — and carry no ``# cpu`` comment saying the CPU
    is meant."""
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in FACTORIES \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch":
            named = any(k.arg in ("device", "generator") for k in node.keywords) \
                or (node.func.attr == "Generator" and node.args)
            line = lines[node.lineno - 1]
            if not named and "# cpu" not in line:
                yield node.lineno, line.strip()


LESSON_SOURCES = sorted(ROOT.glob("notebooks/[0-9][0-9]_*.py"))


@pytest.mark.parametrize("path", LESSON_SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_lesson_cells_make_their_tensors_on_a_named_device(path):
    """On a GPU the data live on CUDA: every tensor a lesson makes must say where it goes —
    ``device=x.device`` where it meets the data, or a ``# cpu`` comment where it never does."""
    bad = list(factory_calls_without_a_device(path.read_text()))
    assert not bad, f"{path.name}: tensors made without a device:\n" + "\n".join(f"  line {n}: {s}" for n, s in bad)


def test_the_lesson_lint_catches_a_device_less_factory():
    assert list(factory_calls_without_a_device("import torch\nx = torch.arange(4)\n")) == [(2, "x = torch.arange(4)")]
    assert not list(factory_calls_without_a_device("x = torch.arange(4, device=y.device)\n"))
    assert not list(factory_calls_without_a_device("g = torch.Generator(x.device)\n"))
    assert not list(factory_calls_without_a_device("x = torch.arange(4)  # cpu: labels for a printout\n"))
