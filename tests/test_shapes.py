"""The embedded dataset: deterministic, balanced, CIFAR-like, and a fair teaching set."""
import torch
import torch.nn.functional as F

from sslcourse.data import load_dataset, shapes
from sslcourse.evaluate import linear_probe


def test_interface_matches_cifar10(shapes_train):
    ds = shapes_train
    assert ds.images.shape == (10_000, 3, 32, 32) and ds.images.dtype == torch.uint8
    assert ds.labels.shape == (10_000,) and ds.labels.dtype == torch.int64
    assert ds.classes == shapes.CLASSES and len(ds.classes) == 10


def test_classes_are_balanced(shapes_train):
    assert torch.bincount(shapes_train.labels).tolist() == [1000] * 10


def test_generation_is_deterministic_for_a_seed():
    a, la = shapes.generate(64, seed=5)
    b, lb = shapes.generate(64, seed=5)
    c, _ = shapes.generate(64, seed=6)
    assert torch.equal(a, b) and torch.equal(la, lb)
    assert not torch.equal(a, c)


def test_train_and_test_are_different_images(shapes_train, shapes_test):
    assert len(shapes_test) == 2000
    assert not torch.equal(shapes_train.images[:2000], shapes_test.images)


def test_second_load_comes_from_the_cache(shapes_train):
    from sslcourse.config import cache_dir

    assert list(cache_dir().glob("shapes-v*-train-*.pt")), "the first load should have written the cache"
    again = load_dataset("shapes", "train")
    assert torch.equal(again.images, shapes_train.images)


def _color_features(images):
    x = images.float() / 255
    mean, std = x.mean((2, 3)), x.std((2, 3))
    hist = torch.stack([torch.histc(img, bins=8, min=0, max=1) for img in x.flatten(1)]) / x[0].numel()
    return torch.cat([mean, std, hist], 1)


def test_colour_statistics_do_not_reveal_the_class(shapes_train, shapes_test):
    """Per-image colour means, spreads and a histogram: a linear probe stays near chance."""
    acc = linear_probe(_color_features(shapes_train.images[:5000]), shapes_train.labels[:5000],
                       _color_features(shapes_test.images), shapes_test.labels)
    assert acc < 0.30, f"colour statistics predict the class with {acc:.0%} accuracy"


def test_objects_are_not_identified_by_position(shapes_train, shapes_test):
    """A 4×4 grid of mean brightness (where things are) is a weak cue, far from the shapes themselves."""
    def grid(x):
        return F.adaptive_avg_pool2d(x.float().mean(1, keepdim=True) / 255, 4).flatten(1)

    acc = linear_probe(grid(shapes_train.images[:5000]), shapes_train.labels[:5000],
                       grid(shapes_test.images), shapes_test.labels)
    assert acc < 0.35, f"coarse layout predicts the class with {acc:.0%} accuracy"


def test_images_have_a_canonical_up_direction(shapes_train, shapes_test):
    """Which way is up can be read off the pixels: a linear probe on coarse brightness tells the
    four rotations apart far above chance (25%), though not perfectly: on wallpaper scenes only
    the object and its shadow say where up is."""
    from sslcourse.pretext import rotate_batch

    def coarse(x):
        return F.adaptive_avg_pool2d(x.float().mean(1, keepdim=True) / 255, 8).flatten(1)

    xr, yr = rotate_batch(shapes_train.images[:3000])
    xt, yt = rotate_batch(shapes_test.images[:1000])
    acc = linear_probe(coarse(xr), yr, coarse(xt), yt)
    assert 0.5 < acc < 0.9, f"rotation from coarse brightness: {acc:.0%}"


def test_images_have_fine_detail(shapes_train):
    """Not flat cartoons: neighbouring pixels differ (texture, noise, edges) in every image."""
    x = shapes_train.images[:500].float()
    dx = (x[..., 1:] - x[..., :-1]).abs().mean((1, 2, 3))
    assert (dx > 2).all()
