"""Batched augmentations: whole batches at once, a different random draw per image.

``torchvision.transforms.v2`` applies *one* random draw to everything it is given, so
per-image randomness means one Python call per image inside DataLoader workers. On two
CPU cores that costs several times the arithmetic it does, and on a GPU it starves the
device. Here each transform draws its parameters as tensors of shape (N,) and applies
them with a few batched tensor operations — the same maths as torchvision's transforms
(the tests compare them), on CPU or CUDA, reproducible with a ``torch.Generator``.

Inputs are uint8 (0..255) or float (0..1) tensors (N, 3, H, W); outputs are float in [0, 1].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # ITU-R 601 luma, exactly as torchvision's rgb_to_grayscale


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float 0..1 (float input is returned as is)."""
    if images.dtype == torch.uint8:
        return images.float().div_(255)
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 or float, got {images.dtype}")
    return images


def _check(images: torch.Tensor) -> torch.Tensor:
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"augmentations take a batch (N, 3, H, W), got shape {tuple(images.shape)}")
    return to_float(images)


def _rand(n: int, like: torch.Tensor, generator=None) -> torch.Tensor:
    """(n,) uniform in [0, 1) on the device of ``like`` — drawn on the generator's own device if it
    lives elsewhere (a CPU generator for data on the GPU), so a seed gives the same draws anywhere."""
    if generator is not None and generator.device != like.device:
        return torch.rand(n, device=generator.device, generator=generator).to(like.device)
    return torch.rand(n, device=like.device, generator=generator)


def _uniform(n: int, lo: float, hi: float, like: torch.Tensor, generator=None) -> torch.Tensor:
    """(n,) uniform in [lo, hi) on the device of ``like``."""
    return lo + (hi - lo) * _rand(n, like, generator)


def _coin(n: int, p: float, like: torch.Tensor, generator=None) -> torch.Tensor:
    return _rand(n, like, generator) < p


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) -> (N, 1, H, W) luma."""
    w = torch.tensor(GRAY_WEIGHTS, device=x.device, dtype=x.dtype)
    return torch.einsum("nchw,c->nhw", x, w).unsqueeze(1)


def sample_crop_boxes(n: int, height: int, width: int, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                      like: torch.Tensor | None = None, generator=None, tries: int = 10) -> torch.Tensor:
    """Random-resized-crop boxes (n, 4) as (x0, y0, w, h) in pixels, as torchvision samples them.

    Area fraction ~ U(scale), log aspect ratio ~ U(log ratio); of ``tries`` candidates
    the first that fits in the image is used, else the whole image (torchvision falls
    back to a centre crop with the ratio clamped, which for square images is the same).
    """
    like = like if like is not None else torch.empty(0)
    area = height * width * _uniform(n * tries, *scale, like, generator).view(n, tries)
    log_r = _uniform(n * tries, math.log(ratio[0]), math.log(ratio[1]), like, generator).view(n, tries)
    w = torch.sqrt(area * torch.exp(log_r))
    h = torch.sqrt(area / torch.exp(log_r))
    fits = (w <= width) & (h <= height)
    first = fits.float().argmax(1, keepdim=True)  # index of the first candidate that fits
    any_fits = fits.any(1)
    w = torch.where(any_fits, w.gather(1, first).squeeze(1), torch.full_like(any_fits, width, dtype=w.dtype))
    h = torch.where(any_fits, h.gather(1, first).squeeze(1), torch.full_like(any_fits, height, dtype=h.dtype))
    x0 = (width - w) * _rand(n, like, generator)
    y0 = (height - h) * _rand(n, like, generator)
    return torch.stack([x0, y0, w, h], 1)


def _interpolation_matrix(start: torch.Tensor, length: torch.Tensor, size: int, in_size: int) -> torch.Tensor:
    """(n, size, in_size) bilinear weights reading [start, start + length) at ``size`` evenly spaced points.

    Output pixel i samples input coordinate start + (i + 0.5)·length/size − 0.5 (pixel centres,
    as ``grid_sample(align_corners=False)``), clamped to the border; each row holds the two
    weights of its neighbours. A negative ``length`` reads right to left: a mirror image.
    """
    i = torch.arange(size, device=start.device, dtype=start.dtype)
    coord = (start.view(-1, 1) + (i + 0.5) * (length.view(-1, 1) / size) - 0.5).clamp(0, in_size - 1)  # (n, size)
    left = coord.floor()
    frac = coord - left
    right = (left + 1).clamp(max=in_size - 1)
    weights = torch.zeros(len(coord), size, in_size, device=start.device, dtype=start.dtype)
    weights.scatter_add_(2, left.long().unsqueeze(-1), (1 - frac).unsqueeze(-1))
    return weights.scatter_add_(2, right.long().unsqueeze(-1), frac.unsqueeze(-1))


def crop_resize(x: torch.Tensor, boxes: torch.Tensor, size: int, flip: torch.Tensor | None = None) -> torch.Tensor:
    """Resample each image's box (x0, y0, w, h) to size×size (mirrored where ``flip``), bilinearly.

    A crop-and-resize is separable: out = Wy · image · Wxᵀ with per-image interpolation
    matrices, so the whole batch is two batched matrix products — several times faster
    than ``grid_sample`` on a CPU, and the same numbers.
    """
    n, _, height, width = x.shape
    x0, y0, w, h = boxes.to(x.dtype).unbind(1)
    if flip is not None:
        x0, w = torch.where(flip, x0 + w, x0), torch.where(flip, -w, w)  # read the box right to left
    wx = _interpolation_matrix(x0, w, size, width)  # (n, size, W)
    wy = _interpolation_matrix(y0, h, size, height)  # (n, size, H)
    c = x.shape[1]
    rows = torch.bmm(x.reshape(n, c * height, width), wx.transpose(1, 2))  # (n, c·H, size): resample x
    rows = rows.view(n, c, height, size).transpose(1, 2).reshape(n, height, c * size)
    out = torch.bmm(wy, rows)  # (n, size, c·size): resample y
    return out.view(n, size, c, size).transpose(1, 2).contiguous()  # (n, c, size, size)


def random_resized_crop(images, size: int | None = None, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3),
                        flip_p: float = 0.0, generator=None) -> torch.Tensor:
    """Per-image random crop of random area and aspect, resized to ``size`` (and flipped with ``flip_p``)."""
    x = _check(images)
    n, _, height, width = x.shape
    size = size or height
    boxes = sample_crop_boxes(n, height, width, scale, ratio, like=x, generator=generator)
    flip = _coin(n, flip_p, x, generator) if flip_p > 0 else None
    return crop_resize(x, boxes, size, flip)


def horizontal_flip(images, p: float = 0.5, generator=None) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (exact: no resampling)."""
    x = _check(images)
    flip = _coin(len(x), p, x, generator).view(-1, 1, 1, 1)
    return torch.where(flip, x.flip(3), x)


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 1] -> HSV in [0, 1] (hue in turns)."""
    r, g, b = x.unbind(1)
    maxc, minc = x.amax(1), x.amin(1)
    delta = maxc - minc
    s = delta / torch.where(maxc > 0, maxc, torch.ones_like(maxc))
    d = torch.where(delta > 0, delta, torch.ones_like(delta))
    h = torch.where(maxc == r, (g - b) / d, torch.where(maxc == g, (b - r) / d + 2, (r - g) / d + 4))
    h = torch.where(delta > 0, (h / 6) % 1.0, torch.zeros_like(h))
    return torch.stack([h, s, maxc], 1)


def hsv_to_rgb(x: torch.Tensor) -> torch.Tensor:
    h, s, v = x.unbind(1)
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], 1)
    return v.unsqueeze(1) - (v * s).unsqueeze(1) * torch.minimum(k, 4 - k).clamp(0, 1)


def adjust_brightness(x, factor):
    return (x * factor.view(-1, 1, 1, 1)).clamp(0, 1)


def adjust_contrast(x, factor):
    mean = grayscale(x).mean((1, 2, 3), keepdim=True)
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1 - f) * mean).clamp(0, 1)


def adjust_saturation(x, factor):
    f = factor.view(-1, 1, 1, 1)
    return (f * x + (1 - f) * grayscale(x)).clamp(0, 1)


def adjust_hue(x, shift):
    hsv = rgb_to_hsv(x)
    hsv[:, 0] = (hsv[:, 0] + shift.view(-1, 1, 1)) % 1.0
    return hsv_to_rgb(hsv)


def color_jitter(images, brightness: float = 0.4, contrast: float = 0.4, saturation: float = 0.4,
                 hue: float = 0.1, p: float = 1.0, generator=None) -> torch.Tensor:
    """Random brightness, contrast, saturation and hue per image, applied with probability ``p``.

    Factors ~ U(max(0, 1 - s), 1 + s) for the first three, hue shift ~ U(-hue, hue) of a
    full turn, as ``torchvision.transforms.ColorJitter``; the order is fixed (b, c, s, h)
    where torchvision shuffles it. A strength of 0 leaves that property exactly as it was.
    """
    x = _check(images)
    n = len(x)
    apply = _coin(n, p, x, generator).view(-1, 1, 1, 1)
    out = x
    for strength, adjust in ((brightness, adjust_brightness), (contrast, adjust_contrast),
                             (saturation, adjust_saturation)):
        if strength > 0:
            out = adjust(out, _uniform(n, max(0.0, 1 - strength), 1 + strength, x, generator))
    if hue > 0:
        out = adjust_hue(out, _uniform(n, -hue, hue, x, generator))
    return torch.where(apply, out, x)


def random_grayscale(images, p: float = 0.2, generator=None) -> torch.Tensor:
    """Replace each image by its luma (on all three channels) with probability ``p``."""
    x = _check(images)
    gray = _coin(len(x), p, x, generator).view(-1, 1, 1, 1)
    return torch.where(gray, grayscale(x).expand_as(x), x)


def gaussian_blur(images, sigma=(0.1, 2.0), kernel_size: int = 3, p: float = 0.5, generator=None) -> torch.Tensor:
    """Blur each image with its own sigma ~ U(sigma), with probability ``p`` (separable, reflect-padded)."""
    x = _check(images)
    if kernel_size % 2 != 1:
        raise ValueError(f"kernel_size must be odd, got {kernel_size}")
    n, c, height, width = x.shape
    s = _uniform(n, *sigma, x, generator)
    s = torch.where(_coin(n, p, x, generator), s, torch.zeros_like(s))
    t = torch.arange(kernel_size, device=x.device, dtype=x.dtype) - kernel_size // 2
    k = torch.exp(-0.5 * (t / s.clamp(min=1e-6).view(-1, 1)) ** 2)  # sigma 0: a delta, the identity
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n*c, k)
    pad = kernel_size // 2
    y = F.pad(x.reshape(1, n * c, height, width), (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(y, k.view(n * c, 1, 1, kernel_size), groups=n * c)
    y = F.conv2d(y, k.view(n * c, 1, kernel_size, 1), groups=n * c)
    return y.view(n, c, height, width)


def normalize(images, mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)) -> torch.Tensor:
    """(x - mean) / std per channel."""
    x = to_float(images)
    m = torch.as_tensor(mean, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    s = torch.as_tensor(std, device=x.device, dtype=x.dtype).view(1, -1, 1, 1)
    return (x - m) / s


class SimCLRAugment:
    """The SimCLR view pipeline (Chen et al. 2020, appendix A), on whole batches.

    random resized crop (scale) + horizontal flip -> colour jitter (0.8·s, 0.8·s, 0.8·s,
    0.2·s) with probability 0.8 -> grayscale with probability 0.2 -> optional blur.
    ``strength`` is the paper's colour strength s (0.5 for CIFAR-10, 1.0 for ImageNet).

    >>> aug = SimCLRAugment()
    >>> views = aug(images)  # float (N, 3, 32, 32) in [0, 1], a new draw per image
    """

    def __init__(self, size: int = 32, scale=(0.2, 1.0), strength: float = 0.5, jitter_p: float = 0.8,
                 gray_p: float = 0.2, blur_p: float = 0.0, flip_p: float = 0.5):
        self.size, self.scale, self.strength = size, tuple(scale), strength
        self.jitter_p, self.gray_p, self.blur_p, self.flip_p = jitter_p, gray_p, blur_p, flip_p

    def __call__(self, images, generator=None) -> torch.Tensor:
        s = self.strength
        x = random_resized_crop(images, self.size, self.scale, flip_p=self.flip_p, generator=generator)
        if s > 0 and self.jitter_p > 0:
            x = color_jitter(x, 0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s, p=self.jitter_p, generator=generator)
        if self.gray_p > 0:
            x = random_grayscale(x, self.gray_p, generator)
        if self.blur_p > 0:
            x = gaussian_blur(x, kernel_size=2 * (self.size // 20) + 1, p=self.blur_p, generator=generator)
        return x

    def __repr__(self) -> str:
        return (f"SimCLRAugment(size={self.size}, scale={self.scale}, strength={self.strength}, "
                f"jitter_p={self.jitter_p}, gray_p={self.gray_p}, blur_p={self.blur_p}, flip_p={self.flip_p})")


def light_augment(images, generator=None, size: int | None = None) -> torch.Tensor:
    """The supervised / fine-tuning recipe: random crop (scale 0.5–1) and flip."""
    return random_resized_crop(images, size, scale=(0.5, 1.0), flip_p=0.5, generator=generator)
