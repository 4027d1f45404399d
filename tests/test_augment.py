"""Batched augmentations: the same maths as torchvision, a fresh random draw per image."""
import pytest
import torch
import torchvision.transforms.v2.functional as TF

from sslcourse import augment as A

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture
def batch(shapes_train):
    return shapes_train.images[:64]


def one_image_repeated(batch, n=32):
    return batch[:1].expand(n, -1, -1, -1).contiguous()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", ["crop", "flip", "jitter", "gray", "blur", "simclr"])
def test_shape_dtype_and_range(batch, device, name):
    ops = {
        "crop": lambda x, g: A.random_resized_crop(x, 24, generator=g),
        "flip": lambda x, g: A.horizontal_flip(x, generator=g),
        "jitter": lambda x, g: A.color_jitter(x, generator=g),
        "gray": lambda x, g: A.random_grayscale(x, 0.5, generator=g),
        "blur": lambda x, g: A.gaussian_blur(x, generator=g),
        "simclr": lambda x, g: A.SimCLRAugment(size=24)(x, generator=g),
    }
    g = torch.Generator(device).manual_seed(0)
    x = batch.to(device)
    for inp in (x, x.float() / 255):  # uint8 or float in
        out = ops[name](inp, g)
        size = 24 if name in ("crop", "simclr") else 32
        assert out.shape == (64, 3, size, size) and out.dtype == torch.float32 and out.device.type == device
        assert out.min() >= 0 and out.max() <= 1


@pytest.mark.parametrize("name", ["crop", "jitter", "blur", "simclr"])
def test_each_image_gets_its_own_random_draw(batch, name):
    ops = {"crop": A.random_resized_crop, "jitter": A.color_jitter,
           "blur": lambda x, generator: A.gaussian_blur(x, sigma=(0.5, 2.0), p=1.0, generator=generator),
           "simclr": A.SimCLRAugment()}
    out = ops[name](one_image_repeated(batch), generator=torch.Generator().manual_seed(0))
    distinct = torch.unique(out.flatten(1), dim=0)
    assert len(distinct) >= 30, f"{name}: 32 copies of one image gave only {len(distinct)} different outputs"


def test_reproducible_with_a_generator(batch):
    aug = A.SimCLRAugment()
    a = aug(batch, generator=torch.Generator().manual_seed(1))
    b = aug(batch, generator=torch.Generator().manual_seed(1))
    c = aug(batch, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_zero_strength_is_the_identity(batch):
    x = A.to_float(batch)
    assert torch.equal(A.color_jitter(x, 0, 0, 0, 0), x)
    assert torch.equal(A.color_jitter(x, p=0.0), x)
    assert torch.equal(A.random_grayscale(x, p=0.0), x)
    assert torch.equal(A.gaussian_blur(x, p=0.0), x)
    assert torch.equal(A.horizontal_flip(x, p=0.0), x)
    same = A.random_resized_crop(x, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    torch.testing.assert_close(same, x, atol=1e-5, rtol=0)


def test_flips_are_exact(batch):
    x = A.to_float(batch)
    assert torch.equal(A.horizontal_flip(x, p=1.0), x.flip(3))
    mirrored = A.crop_resize(x, torch.tensor([[0.0, 0.0, 32.0, 32.0]]).expand(64, 4), 32,
                             flip=torch.ones(64, dtype=torch.bool))
    torch.testing.assert_close(mirrored, x.flip(3), atol=1e-5, rtol=0)


def test_flip_probability_is_about_p(batch):
    x = A.to_float(one_image_repeated(batch, 2000))
    flipped = (A.horizontal_flip(x, p=0.3) != x).flatten(1).any(1).float().mean()
    assert 0.25 < flipped < 0.35


def test_crop_of_integer_box_is_an_exact_slice(batch):
    x = A.to_float(batch)
    out = A.crop_resize(x, torch.tensor([[4.0, 6.0, 16.0, 16.0]]).expand(64, 4), 16)
    torch.testing.assert_close(out, x[:, :, 6:22, 4:20], atol=1e-5, rtol=0)


def test_crop_boxes_respect_scale_ratio_and_image():
    boxes = A.sample_crop_boxes(20_000, 32, 32, scale=(0.2, 0.6), ratio=(3 / 4, 4 / 3),
                                generator=torch.Generator().manual_seed(0))
    x0, y0, w, h = boxes.unbind(1)
    area = w * h / 32 ** 2
    assert area.min() >= 0.2 - 1e-5 and area.max() <= 0.6 + 1e-5
    assert (w / h).min() >= 3 / 4 - 1e-4 and (w / h).max() <= 4 / 3 + 1e-4
    assert x0.min() >= 0 and y0.min() >= 0 and (x0 + w).max() <= 32 + 1e-4 and (y0 + h).max() <= 32 + 1e-4
    assert area.std() > 0.1, "areas should spread over the whole scale range"


def test_colour_operations_match_torchvision(batch):
    x = A.to_float(batch[:8])
    f = torch.linspace(0.3, 1.7, 8)
    hue = torch.linspace(-0.4, 0.4, 8)
    for ours, theirs, factors in (
        (A.adjust_brightness, TF.adjust_brightness, f),
        (A.adjust_contrast, TF.adjust_contrast, f),
        (A.adjust_saturation, TF.adjust_saturation, f),
        (A.adjust_hue, TF.adjust_hue, hue),
    ):
        expected = torch.stack([theirs(x[i], factors[i].item()) for i in range(8)])
        torch.testing.assert_close(ours(x, factors), expected, atol=2e-5, rtol=0, msg=ours.__name__)


def test_grayscale_matches_torchvision(batch):
    x = A.to_float(batch[:8])
    torch.testing.assert_close(A.grayscale(x), TF.rgb_to_grayscale(x), atol=1e-6, rtol=0)


def test_blur_matches_torchvision(batch):
    x = A.to_float(batch[:4])
    g = torch.Generator().manual_seed(0)
    out = A.gaussian_blur(x, sigma=(0.5, 1.5), kernel_size=5, p=1.0, generator=g)
    sigmas = A._uniform(4, 0.5, 1.5, x, torch.Generator().manual_seed(0))  # the same draws
    expected = torch.stack([TF.gaussian_blur(x[i], [5, 5], [s.item(), s.item()]) for i, s in enumerate(sigmas)])
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_normalize_and_bad_shapes(batch):
    x = A.normalize(batch, mean=(0.5,) * 3, std=(0.5,) * 3)
    assert x.min() >= -1 and x.max() <= 1
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        A.color_jitter(torch.zeros(32, 32, 3))
    with pytest.raises(ValueError, match="odd"):
        A.gaussian_blur(batch, kernel_size=4)
