"""``shapes``: the embedded teaching dataset, generated on the fly, offline and deterministic.

Ten object classes drawn standing on the ground of a little outdoor scene, 32×32 RGB,
uint8, with the same interface as CIFAR-10. It is built to make every pretext task of
the course meaningful on a CPU in a minute:

* **Classes are shapes, not colours.** Every part of every object gets an independent
  random colour, so colour statistics say nothing about the class; position, size,
  aspect, tilt (±11°) and left/right facing are random too.
* **A canonical up-direction.** Half the scenes are outdoors: sky (a vertical gradient,
  sun, clouds) above a hilly horizon, textured ground in perspective below. The other
  half stand on a *wallpaper* — stripes or dots at a random angle, or blotches — with no
  horizon at all. Everywhere, objects stand upright and cast a shadow below them. So
  rotation prediction is learnable, but not from the sky alone: on a wallpaper only the
  object says where up is, and that forces a network to look at shapes.
* **Structure across tile borders** (the horizon, objects spanning several tiles of a
  3×3 jigsaw grid) and **fine detail** (windows, doors, wheels, spots, stripes, textured
  ground) worth inpainting.
* **Nuisance that a good feature must ignore:** textured and gradient backgrounds,
  distractors (rocks on the ground, clouds, the sun), pixel noise.

The generative process for one image, vectorised over a whole chunk of images (no
Python loop over pixels or samples):

1. a coin: outdoor scene or wallpaper (WALLPAPER_P = 0.5);
2. outdoor: horizon h ~ U(0.50, 0.72) with hills, a sky gradient between two random light
   colours, optional sun and clouds, darker textured ground with rocks as distractors;
3. wallpaper: two random colours in a pattern at a random angle, blobs as distractors;
4. the object: class c, base point on the ground, height S ~ U(0.42, 0.70), aspect,
   tilt and facing; its parts drawn in object coordinates (u across, v up);
5. a shadow under it, lighting across it; everything rendered at 2× and averaged
   down (anti-aliasing); Gaussian pixel noise; quantised to uint8.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

CLASSES = [
    "tree", "house", "car", "person", "mushroom",
    "lamppost", "rocket", "snowman", "table", "chair",
]

SIZE = 32
WALLPAPER_P = 0.5  # fraction of scenes on a wallpaper instead of sky and ground
_SCALE = 2  # render at 2x and average down: anti-aliased edges
_R = SIZE * _SCALE


class _Rng:
    """Uniform draws of per-sample parameters, shaped (n, 1, 1) to broadcast over pixels."""

    def __init__(self, seed: int):
        self.g = torch.Generator().manual_seed(seed)

    def p(self, n: int, lo: float, hi) -> torch.Tensor:  # (n, 1, 1)
        hi = torch.as_tensor(hi, dtype=torch.float32)
        if hi.dim() > 0:
            hi = hi.view(n)
        return (lo + (hi - lo) * torch.rand(n, generator=self.g)).view(n, 1, 1)

    def coin(self, n: int, prob: float) -> torch.Tensor:  # (n, 1, 1) bool
        return (torch.rand(n, generator=self.g) < prob).view(n, 1, 1)

    def ints(self, n: int, high: int) -> torch.Tensor:
        return torch.randint(high, (n,), generator=self.g)

    def colors(self, n: int, sat=(0.25, 0.95), val=(0.3, 1.0), hue=None) -> torch.Tensor:
        """Random RGB colours (n, 3) in [0, 1], from HSV."""
        h = torch.rand(n, generator=self.g) if hue is None else hue
        s = sat[0] + (sat[1] - sat[0]) * torch.rand(n, generator=self.g)
        v = val[0] + (val[1] - val[0]) * torch.rand(n, generator=self.g)
        return hsv_to_rgb(torch.stack([h, s, v], 1))

    def noise(self, n: int, res: int) -> torch.Tensor:  # smooth noise (n, R, R) in about [-1, 1]
        z = torch.randn(n, 1, res, res, generator=self.g)
        return F.interpolate(z, size=(_R, _R), mode="bicubic", align_corners=False)[:, 0]


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    """(n, 3) HSV in [0, 1] -> (n, 3) RGB in [0, 1]."""
    h, s, v = hsv.unbind(1)
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], 1)
    return v[:, None] - v[:, None] * s[:, None] * (torch.minimum(k, 4 - k).clamp(0, 1))


# ---- primitives: boolean masks over pixels in object coordinates (u across, v up) ----

def _rect(u, v, u0, u1, v0, v1):
    return (u >= u0) & (u <= u1) & (v >= v0) & (v <= v1)


def _ellipse(u, v, cu, cv, ru, rv):
    return ((u - cu) / ru) ** 2 + ((v - cv) / rv) ** 2 <= 1


def _triangle(u, v, cu, v0, v1, half_width):
    """Isosceles triangle: base of half-width ``half_width`` at v0, apex at v1."""
    t = (v1 - v) / (v1 - v0)
    return (t >= 0) & (t <= 1) & ((u - cu).abs() <= half_width * t)


# ---- the ten objects. Each returns [(mask, colour role), ...] in painting order. ----
# Roles: "a" primary, "b" secondary, "d" dark detail, "l" light detail.
# ``j`` holds per-sample proportions in [0, 1) so that no two objects are identical.

def _tree(u, v, j, a):
    trunk = _rect(u, v, -0.07, 0.07, 0, 0.45 + 0.1 * j[0])
    crown = _ellipse(u, v, 0, 0.62 + 0.05 * j[1], (0.32 + 0.1 * j[2]) / a, 0.3 + 0.06 * j[1])
    return [(trunk, "b"), (crown, "a")]


def _house(u, v, j, a):
    top = 0.55 + 0.1 * j[0]
    body = _rect(u, v, -0.4, 0.4, 0, top)
    roof = _triangle(u, v, 0, top - 0.02, 1.0, 0.5 + 0.05 * j[1])
    door = _rect(u, v, -0.25 + 0.2 * j[2], -0.1 + 0.2 * j[2], 0, 0.3)
    window = _rect(u, v, 0.12, 0.28, top - 0.25, top - 0.1)
    return [(body, "a"), (roof, "b"), (door, "d"), (window, "l")]


def _car(u, v, j, a):
    body = _rect(u, v, -0.5, 0.5, 0.12, 0.4 + 0.06 * j[0])
    cabin = _triangle(u, v, -0.05 + 0.1 * j[1], 0.35, 0.95, 0.42) & (v <= 0.68)
    window = _triangle(u, v, -0.05 + 0.1 * j[1], 0.44, 0.95, 0.28) & (v <= 0.61)
    r = 0.13
    wheels = _ellipse(u, v, -0.3, r, r / a, r) | _ellipse(u, v, 0.3, r, r / a, r)
    hubs = _ellipse(u, v, -0.3, r, 0.4 * r / a, 0.4 * r) | _ellipse(u, v, 0.3, r, 0.4 * r / a, 0.4 * r)
    return [(cabin, "a"), (body, "a"), (window, "l"), (wheels, "d"), (hubs, "l")]


def _person(u, v, j, a):
    legs = _rect(u, v, -0.12, -0.03, 0, 0.45) | _rect(u, v, 0.03, 0.12, 0, 0.45)
    torso = _rect(u, v, -0.14, 0.14, 0.42, 0.76)
    lift = 0.15 * j[0]
    arms = _rect(u, v, -0.34, 0.34, 0.64 + lift, 0.71 + lift) & ((u.abs() < 0.14) | (v > 0.6))
    head = _ellipse(u, v, 0, 0.87, 0.11 / a, 0.11)
    return [(legs, "b"), (arms, "a"), (torso, "a"), (head, "l")]


def _mushroom(u, v, j, a):
    stem = _rect(u, v, -0.1, 0.1, 0, 0.5)
    cap_v = 0.42 + 0.06 * j[0]
    cap = _ellipse(u, v, 0, cap_v, (0.45 + 0.08 * j[1]) / a, 0.5) & (v >= cap_v)
    spots = cap & (torch.sin(u * 23 * a + 5 * j[2]) * torch.sin(v * 19) > 0.55)
    return [(stem, "l"), (cap, "a"), (spots, "l")]


def _lamppost(u, v, j, a):
    base = _rect(u, v, -0.12, 0.12, 0, 0.07)
    pole = _rect(u, v, -0.035, 0.035, 0, 0.86)
    arm = _rect(u, v, 0, 0.2 + 0.1 * j[0], 0.82, 0.87)
    lamp = _ellipse(u, v, 0.2 + 0.1 * j[0], 0.78, 0.09 / a, 0.07)
    return [(base, "d"), (pole, "a"), (arm, "a"), (lamp, "l")]


def _rocket(u, v, j, a):
    top = 0.7 + 0.08 * j[0]
    body = _rect(u, v, -0.14, 0.14, 0.08, top)
    nose = _triangle(u, v, 0, top - 0.01, 1.0, 0.14)
    fin_l = (u <= -0.13) & (v >= 0) & (v <= 0.38) & (u >= -0.33 + 0.2 * v / 0.38)
    fin_r = (u >= 0.13) & (v >= 0) & (v <= 0.38) & (u <= 0.33 - 0.2 * v / 0.38)
    window = _ellipse(u, v, 0, 0.5, 0.07 / a, 0.07)
    return [(fin_l | fin_r, "b"), (body, "a"), (nose, "b"), (window, "l")]


def _snowman(u, v, j, a):
    r1, r2, r3 = 0.2 + 0.03 * j[0], 0.15, 0.1
    low = _ellipse(u, v, 0, r1, r1 / a, r1)
    mid = _ellipse(u, v, 0, 2 * r1 + r2 - 0.05, r2 / a, r2)
    head_v = 2 * r1 + 2 * r2 + r3 - 0.09
    head = _ellipse(u, v, 0, head_v, r3 / a, r3)
    hat = _rect(u, v, -0.07, 0.07, head_v + 0.05, head_v + 0.2) | _rect(u, v, -0.13, 0.13, head_v + 0.05, head_v + 0.08)
    buttons = mid & (u.abs() < 0.03) & (torch.sin(v * 60) > 0.3)
    return [(low, "a"), (mid, "a"), (head, "a"), (buttons, "d"), (hat, "d")]


def _table(u, v, j, a):
    top = 0.5 + 0.12 * j[0]
    slab = _rect(u, v, -0.5, 0.5, top, top + 0.1)
    inset = 0.36 + 0.06 * j[1]
    legs = _rect(u, v, -inset - 0.07, -inset, 0, top) | _rect(u, v, inset, inset + 0.07, 0, top)
    return [(legs, "b"), (slab, "a")]


def _chair(u, v, j, a):
    seat_v = 0.4 + 0.08 * j[0]
    legs = _rect(u, v, -0.26, -0.19, 0, seat_v) | _rect(u, v, 0.19, 0.26, 0, seat_v)
    seat = _rect(u, v, -0.27, 0.27, seat_v, seat_v + 0.08)
    back = _rect(u, v, 0.18, 0.27, seat_v, 1.0)
    return [(legs, "b"), (back, "a"), (seat, "a")]


_OBJECTS = [_tree, _house, _car, _person, _mushroom, _lamppost, _rocket, _snowman, _table, _chair]
# Relative widths: a car or a table is wide, a lamp post or a rocket is narrow.
_ASPECT = torch.tensor([0.8, 0.75, 1.4, 0.7, 0.75, 0.6, 0.55, 0.75, 1.0, 0.8])


def _paint(img, mask, color, shade=None):
    """img (n, 3, R, R); mask (n, R, R) bool; color (n, 3); shade (n, R, R) or None."""
    c = color[:, :, None, None]
    if shade is not None:
        c = (c * shade[:, None]).clamp(0, 1)
    return torch.where(mask[:, None], c, img, out=img)  # in place: no new 4-D tensor per part


def _background(rng: _Rng, n: int, yy, xx):
    """Half outdoor scenes, half wallpaper. Returns image, the highest base line, and the light side."""
    outdoor, h, sun_x = _outdoor(rng, n, yy, xx)
    wall = _wallpaper(rng, n, yy, xx)
    is_wall = rng.coin(n, WALLPAPER_P)
    img = torch.where(is_wall[:, None], wall, outdoor)
    h = torch.where(is_wall, torch.full_like(h, 0.42), h)  # objects stand anywhere in the lower half
    return img, h, sun_x


def _wallpaper(rng: _Rng, n: int, yy, xx):
    """An isotropic pattern — stripes or dots at a random angle, or blotches — with distractor
    blobs: no horizon, so "up" can only be read off the object and its shadow."""
    c1, c2 = rng.colors(n, (0.1, 0.8), (0.3, 1.0)), rng.colors(n, (0.1, 0.8), (0.3, 1.0))
    angle = rng.p(n, 0.0, math.pi)
    along = torch.cos(angle) * xx + torch.sin(angle) * yy
    across = -torch.sin(angle) * xx + torch.cos(angle) * yy
    freq = rng.p(n, 8.0, 25.0)
    stripes = torch.sin(freq * along + rng.p(n, 0, 6.3))
    dots = (torch.sin(freq * along) * torch.sin(freq * across) > 0.5).float() * 2 - 1
    blotches = rng.noise(n, 6)
    kind = rng.ints(n, 3).view(n, 1, 1)
    texture = torch.where(kind == 0, stripes, torch.where(kind == 1, dots, blotches)).clamp(-1, 1)
    a = ((texture + 1) / 2 * rng.p(n, 0.3, 1.0))[:, None]
    img = c1[:, :, None, None] * (1 - a) + c2[:, :, None, None] * a
    for _ in range(3):
        blob = _ellipse(xx, yy, rng.p(n, 0.0, 1.0), rng.p(n, 0.0, 1.0), rng.p(n, 0.02, 0.06), rng.p(n, 0.02, 0.06))
        img = _paint(img, blob & rng.coin(n, 0.5), rng.colors(n))
    return img


def _outdoor(rng: _Rng, n: int, yy, xx):
    """Sky over ground with texture and distractors. Returns image, horizon and sun side."""
    h = rng.p(n, 0.50, 0.72)
    hills = rng.p(n, 0.0, 0.06) * torch.sin(2 * math.pi * (rng.p(n, 0.5, 2.0) * xx + rng.p(n, 0, 1)))
    horizon = h - hills.abs()
    sky_top, sky_low = rng.colors(n, (0.15, 0.7), (0.55, 0.85)), rng.colors(n, (0.05, 0.5), (0.8, 1.0))
    t = (yy / horizon).clamp(0, 1)[:, None]
    img = sky_top[:, :, None, None] * (1 - t) + sky_low[:, :, None, None] * t

    sun_x = rng.p(n, 0.1, 0.9)
    sun = _ellipse(xx, yy, sun_x, rng.p(n, 0.08, 0.25), 0.07, 0.07) & rng.coin(n, 0.5)
    img = _paint(img, sun, rng.colors(n, (0.1, 0.6), (0.9, 1.0), hue=torch.rand(n, generator=rng.g) * 0.17))
    for _ in range(2):
        cx, cy = rng.p(n, 0.0, 1.0), rng.p(n, 0.08, 0.3)
        cloud = (_ellipse(xx, yy, cx, cy, 0.14, 0.05) | _ellipse(xx, yy, cx + 0.07, cy - 0.03, 0.08, 0.05)) & rng.coin(n, 0.5)
        img = _paint(img, cloud & (yy < horizon), rng.colors(n, (0.0, 0.15), (0.85, 1.0)))

    ground_color = rng.colors(n, (0.3, 0.85), (0.25, 0.65))
    depth = (yy - horizon).clamp(min=0.005)
    kind = rng.ints(n, 3).view(n, 1, 1)
    furrows = torch.sin(rng.p(n, 1.5, 3.0) / depth)
    grass = rng.noise(n, 12)
    tiles = torch.sign(torch.sin((xx - 0.5) / depth * rng.p(n, 1.0, 2.0) * 3) * torch.sin(1.2 / depth))
    texture = torch.where(kind == 0, furrows, torch.where(kind == 1, grass, tiles))
    shade = 1 + rng.p(n, 0.08, 0.25) * texture + 0.3 * (yy - 1)  # darker towards the viewer's feet
    ground = yy >= horizon
    img = _paint(img, ground, ground_color, shade)
    for _ in range(2):
        rock = _ellipse(xx, yy, rng.p(n, 0.0, 1.0), rng.p(n, 0.8, 0.97), rng.p(n, 0.02, 0.05), rng.p(n, 0.01, 0.025))
        img = _paint(img, rock & ground & rng.coin(n, 0.5), rng.colors(n, (0.0, 0.5), (0.2, 0.7)))
    return img, h, sun_x


def _draw_objects(rng: _Rng, img, labels, h, sun_x, yy, xx):
    n = img.shape[0]
    base_y = rng.p(n, h.view(n) + 0.06, 0.95)
    size = rng.p(n, 0.42, torch.minimum(base_y.view(n) - 0.04, torch.tensor(0.7)))
    aspect = _ASPECT[labels].view(n, 1, 1) * rng.p(n, 0.85, 1.15)
    half_width = 0.5 * size * aspect
    base_x = rng.p(n, 0.12 + half_width.view(n), 0.88 - half_width.view(n))
    tilt = rng.p(n, -0.2, 0.2)
    facing = torch.where(rng.coin(n, 0.5), -1.0, 1.0)

    light = torch.where(sun_x < 0.5, -1.0, 1.0)  # the sun's side is lit, the shadow falls away from it
    shadow = _ellipse(xx, yy, base_x - light * 0.3 * size, base_y + 0.005, 0.45 * size * aspect + 0.03, 0.03)
    img[shadow[:, None].expand_as(img)] *= 0.55

    dx, dy = xx - base_x, base_y - yy
    u = (torch.cos(tilt) * dx + torch.sin(tilt) * dy) / (size * aspect) * facing
    v = (-torch.sin(tilt) * dx + torch.cos(tilt) * dy) / size
    colors = {"a": rng.colors(n), "b": rng.colors(n), "d": rng.colors(n, (0.0, 0.6), (0.05, 0.3)),
              "l": rng.colors(n, (0.0, 0.5), (0.8, 1.0))}
    pattern = torch.where(rng.coin(n, 0.3), torch.sign(torch.sin(v * rng.p(n, 20, 40))), torch.zeros(()))
    shade = 1.0 + 0.25 * u * facing * light + 0.12 * pattern
    jitter = torch.rand(3, n, 1, 1, generator=rng.g)
    for c, draw in enumerate(_OBJECTS):
        idx = (labels == c).nonzero().view(-1)
        if len(idx) == 0:
            continue
        parts = draw(u[idx], v[idx], jitter[:, idx], aspect[idx])
        for mask, role in parts:
            s = shade[idx] if role in "ab" else None
            img[idx] = _paint(img[idx], mask, colors[role][idx], s)
    return img


def render(labels: torch.Tensor, seed: int) -> torch.Tensor:
    """Draw one image per label: (n,) int64 -> (n, 3, 32, 32) uint8. Deterministic in ``seed``."""
    rng = _Rng(seed)
    n = len(labels)
    coords = (torch.arange(_R, dtype=torch.float32) + 0.5) / _R
    yy, xx = coords.view(1, _R, 1), coords.view(1, 1, _R)
    img, h, sun_x = _background(rng, n, yy, xx)
    img = _draw_objects(rng, img, labels, h, sun_x, yy, xx)
    img = F.avg_pool2d(img, _SCALE)
    img = img + rng.p(n, 0.005, 0.04)[:, None] * torch.randn(img.shape, generator=rng.g)
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def generate(n: int, seed: int = 0, chunk: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images with balanced labels, in chunks so memory stays small. Returns (images, labels)."""
    g = torch.Generator().manual_seed(seed)
    labels = (torch.arange(n) % len(CLASSES))[torch.randperm(n, generator=g)]
    images = torch.empty(n, 3, SIZE, SIZE, dtype=torch.uint8)
    for k, start in enumerate(range(0, n, chunk)):
        stop = min(start + chunk, n)
        images[start:stop] = render(labels[start:stop], seed=seed * 100_003 + k)
    return images, labels
