"""Pretext transforms, on whole batches: masks, four-way rotations, jigsaw tiles and permutation sets,
images as patches and MAE's random masking of patch tokens.

Conventions: images are (N, 3, H, W); a mask ``m`` is float (N, 1, H, W) with **1 = visible,
0 = hidden**, so the masked input is ``m * x`` and the hidden part is ``1 - m``. A mask over a
sequence of patches is float (N, L), with the same 1 = visible.
"""
from __future__ import annotations

import functools
import math

import torch

MASK_STRATEGIES = ("pixels", "block", "center", "patches")


def _rand(shape, device, generator):
    """Uniform draws on ``device``. A generator of another device (a CPU generator seeded for a figure,
    data on the GPU) draws where it lives and the numbers are moved: the same draws on every device."""
    if generator is not None and device is not None and generator.device != torch.device(device):
        return torch.rand(shape, device=generator.device, generator=generator).to(device)
    return torch.rand(shape, device=device, generator=generator)


# ---- masks (lesson 01) ----

def random_pixel_mask(n: int, size: int = 32, mask_ratio: float = 0.5, generator=None, device=None) -> torch.Tensor:
    """Each pixel hidden independently with probability ``mask_ratio``."""
    return (_rand((n, 1, size, size), device, generator) >= mask_ratio).float()


def random_block_mask(n: int, size: int = 32, block: int = 12, generator=None, device=None) -> torch.Tensor:
    """One ``block``×``block`` square hidden per image, at a random position fully inside it."""
    if not 0 <= block <= size:
        raise ValueError(f"block must be between 0 and size={size}, got {block}")
    top = (_rand(n, device, generator) * (size - block + 1)).long().view(n, 1, 1)  # 0 .. size - block
    left = (_rand(n, device, generator) * (size - block + 1)).long().view(n, 1, 1)
    r = torch.arange(size, device=device).view(1, size, 1)
    c = torch.arange(size, device=device).view(1, 1, size)
    hidden = (r >= top) & (r < top + block) & (c >= left) & (c < left + block)  # (n, size, size)
    return (~hidden).float().unsqueeze(1)


def center_mask(n: int, size: int = 32, block: int = 16, device=None) -> torch.Tensor:
    """The context encoder's mask (Pathak et al. 2016): the central ``block``×``block`` square hidden."""
    m = torch.ones(n, 1, size, size, device=device)
    lo = (size - block) // 2
    m[:, :, lo:lo + block, lo:lo + block] = 0
    return m


def random_patch_mask(n: int, size: int = 32, patch: int = 4, mask_ratio: float = 0.75, generator=None,
                      device=None) -> torch.Tensor:
    """MAE-style: the image is a grid of ``patch``×``patch`` patches, and exactly
    round(mask_ratio · #patches) of them are hidden in every image, chosen independently per image
    (the smallest entries of a random score per patch — He et al. 2022)."""
    if size % patch:
        raise ValueError(f"patch={patch} must divide size={size}")
    if not 0.0 <= mask_ratio <= 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1], got {mask_ratio}")
    g = size // patch
    num_hidden = round(mask_ratio * g * g)
    rank = _rand((n, g * g), device, generator).argsort(1).argsort(1)  # a random rank per patch
    visible = (rank >= num_hidden).float().view(n, 1, g, g)
    return visible.repeat_interleave(patch, 2).repeat_interleave(patch, 3)


def make_mask(strategy: str, n: int, size: int = 32, mask_ratio: float = 0.75, patch: int = 4,
              generator=None, device=None) -> torch.Tensor:
    """One mask per image for a strategy; ``mask_ratio`` sets the hidden fraction (block side for squares)."""
    if strategy == "pixels":
        return random_pixel_mask(n, size, mask_ratio, generator, device)
    block = round(size * math.sqrt(mask_ratio))  # a square hiding about mask_ratio of the image
    if strategy == "block":
        return random_block_mask(n, size, block, generator, device)
    if strategy == "center":
        return center_mask(n, size, block, device)
    if strategy == "patches":
        return random_patch_mask(n, size, patch, mask_ratio, generator, device)
    raise ValueError(f"unknown mask strategy {strategy!r}: choose one of {', '.join(MASK_STRATEGIES)}")


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the hidden part only:  Σ (1−m)(x − x̂)² / Σ (1−m), per channel.

    pred, target: (N, C, H, W); mask: (N, 1, H, W) with 1 = visible. With nothing hidden the
    loss is 0 (not 0/0).
    """
    if pred.shape != target.shape:
        raise ValueError(f"pred and target must have the same shape, got {tuple(pred.shape)} and {tuple(target.shape)}")
    if mask.dim() != 4 or mask.shape[0] != pred.shape[0] or mask.shape[1] != 1 or mask.shape[2:] != pred.shape[2:]:
        raise ValueError(f"mask must have shape ({pred.shape[0]}, 1, {pred.shape[2]}, {pred.shape[3]}), "
                         f"got {tuple(mask.shape)}: one mask per image, broadcast over channels")
    hidden = 1.0 - mask.float()
    sq = (pred.float() - target.float()).pow(2) * hidden  # (N, C, H, W)
    return sq.sum() / (hidden.sum() * pred.shape[1]).clamp(min=1.0)


# ---- images as patches, and MAE's masking (lesson 07) ----

def patchify(images: torch.Tensor, patch: int = 4) -> torch.Tensor:
    """(N, C, H, W) -> (N, L, patch·patch·C): the image as a sequence of L = (H/patch)·(W/patch) patches.

    Patches come row by row over the grid; each is flattened row by row, pixel by pixel, with a pixel's
    C values together (MAE's layout: patch l, value (r·patch + c)·C + k is channel k of pixel (r, c)).
    """
    if images.dim() != 4:
        raise ValueError(f"patchify takes images (N, C, H, W), got shape {tuple(images.shape)}")
    n, c, h, w = images.shape
    if h % patch or w % patch:
        raise ValueError(f"patch={patch} must divide the image's height and width, got {h}×{w}")
    x = images.reshape(n, c, h // patch, patch, w // patch, patch)
    x = torch.einsum("nchpwq->nhwpqc", x)  # grid row, grid column, pixel row, pixel column, channel
    return x.reshape(n, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(patches: torch.Tensor, patch: int = 4, channels: int = 3, height: int | None = None) -> torch.Tensor:
    """The inverse of :func:`patchify`: (N, L, patch·patch·C) -> (N, C, H, W); a square image unless
    ``height`` (in pixels) is given."""
    if patches.dim() != 3 or patches.shape[2] != patch * patch * channels:
        raise ValueError(f"unpatchify takes patches (N, L, {patch * patch * channels}) for patch={patch} and "
                         f"{channels} channels, got shape {tuple(patches.shape)}")
    n, num, _ = patches.shape
    rows = (height // patch) if height is not None else math.isqrt(num)
    if rows == 0 or num % rows or (height is None and rows * rows != num):
        raise ValueError(f"{num} patches do not make a grid with {rows} rows: give the image's height")
    cols = num // rows
    x = patches.reshape(n, rows, cols, patch, patch, channels)
    x = torch.einsum("nhwpqc->nchpwq", x)
    return x.reshape(n, channels, rows * patch, cols * patch)


def random_masking(tokens: torch.Tensor, mask_ratio: float = 0.75, generator=None):
    """MAE's per-sample random masking (He et al. 2022): keep a random subset of every sequence's tokens.

    tokens (N, L, D) -> (visible (N, K, D), mask (N, L), ids_restore (N, L)), K = L − round(mask_ratio·L).
    Each sequence draws its own noise; the K tokens with the smallest noise stay visible (``visible``, in
    noise order). ``mask`` is 1 where a token is visible, 0 where it is hidden, in the original order.
    ``ids_restore`` is the inverse of the shuffle: appending L − K tokens to ``visible`` and gathering along
    the sequence with it puts every token back in its place (the visible ones where they came from).
    """
    if tokens.dim() != 3:
        raise ValueError(f"random_masking takes tokens (N, L, D), got shape {tuple(tokens.shape)}: patchify "
                         "or embed the images first")
    if not 0.0 <= mask_ratio <= 1.0:
        raise ValueError(f"mask_ratio must be in [0, 1], got {mask_ratio}")
    n, length, dim = tokens.shape
    num_visible = length - round(mask_ratio * length)
    noise = _rand((n, length), tokens.device, generator)  # one draw per token of every sequence
    ids_shuffle = noise.argsort(1)  # the smallest noise first: those are kept
    ids_restore = ids_shuffle.argsort(1)  # where each token went: undoes the shuffle
    ids_keep = ids_shuffle[:, :num_visible]  # (N, K)
    visible = tokens.gather(1, ids_keep.unsqueeze(-1).expand(-1, -1, dim))  # (N, K, D)
    mask = (ids_restore < num_visible).float()  # (N, L), 1 = visible
    return visible, mask, ids_restore


def restore_order(tokens: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
    """Tokens in shuffled order (N, L, D) — the visible ones first, then the rest — back in the original order."""
    return tokens.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))


# ---- rotations (lesson 02) ----

def rotate_batch(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image in all four rotations: (N, C, H, W) -> (4N, C, H, W) images and (4N,) labels.

    Block r holds all N images rotated by r·90° counter-clockwise (exact ``rot90``, no
    interpolation); its labels are r. So output i is image i % N with label i // N.
    """
    if images.dim() != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"rotate_batch needs square images (N, C, H, H), got {tuple(images.shape)}")
    n = len(images)
    rotated = torch.cat([torch.rot90(images, r, dims=(2, 3)) for r in range(4)])
    labels = torch.arange(4, device=images.device).repeat_interleave(n)
    return rotated, labels


# ---- jigsaw (lesson 03) ----

def hamming(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Pairwise Hamming distances between permutations: (P, T), (Q, T) -> (P, Q)."""
    return (a.unsqueeze(1) != b.unsqueeze(0)).sum(-1)


PERMUTATION_RULES = ("mean", "maxmin")


@functools.lru_cache(maxsize=4)
def all_permutations(t: int) -> torch.Tensor:
    """(t!, t) int8: every permutation of 0..t-1 in lexicographic order (the order of itertools.permutations),
    built by tensor indexing — 9! rows in a tenth of the time a Python list takes. Read-only: cached."""
    if t == 1:
        return torch.zeros(1, 1, dtype=torch.int8)
    rest = all_permutations(t - 1).long()
    blocks = []
    for first in range(t):
        others = torch.tensor([v for v in range(t) if v != first])
        blocks.append(torch.cat([torch.full((len(rest), 1), first), others[rest]], 1))
    return torch.cat(blocks).to(torch.int8)


@functools.lru_cache(maxsize=4)
def _candidates(num_tiles: int, seed: int) -> torch.Tensor:
    """Every permutation of ``num_tiles``, int8, shuffled by ``seed`` (cached)."""
    pool = all_permutations(num_tiles)
    return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))]


def make_permutation_set(n: int, num_tiles: int = 9, seed: int = 0, pool_size: int | None = None,
                         rule: str = "mean") -> torch.Tensor:
    """``n`` permutations of ``num_tiles``, chosen greedily to be far apart in Hamming distance.

    Start from a random permutation; then, ``n − 1`` times, add the candidate not yet chosen whose score
    against the chosen set is largest:

    * ``rule="mean"`` — Noroozi & Favaro (2016), Algorithm 1: the score is the candidate's **summed**
      (equivalently, mean) Hamming distance to all chosen permutations, ``D̄ = 1ᵀD``;
    * ``rule="maxmin"`` — a variant: the score is the distance to its **nearest** chosen permutation,
      which keeps the closest pair of the set as far apart as possible.

    Deterministic for a seed (ties go to a random candidate); the candidate pool is every permutation
    (9! = 362,880) unless ``pool_size`` caps it. Returns (n, num_tiles) int64.
    """
    if rule not in PERMUTATION_RULES:
        raise ValueError(f"unknown rule {rule!r}: 'mean' (the paper's, summed Hamming distance) or 'maxmin' "
                         "(distance to the nearest chosen permutation)")
    total = math.factorial(num_tiles)
    if not 1 <= n <= total:
        raise ValueError(f"n must be between 1 and {total} (= {num_tiles}!), got {n}")
    pool = _candidates(num_tiles, seed)  # (num_tiles!, num_tiles), in a random order: random start and ties
    if pool_size is not None:
        pool = pool[:max(pool_size, n)]
    taken = torch.zeros(len(pool), dtype=torch.bool)
    chosen = [0]
    score = (pool != pool[0]).sum(1)  # (P,) summed, or nearest, distance to the chosen set
    for _ in range(n - 1):
        taken[chosen[-1]] = True
        best = int(score.masked_fill(taken, -1).argmax())
        chosen.append(best)
        d = (pool != pool[best]).sum(1)
        score = score + d if rule == "mean" else torch.minimum(score, d)
    return pool[chosen].long()


def extract_tiles(images: torch.Tensor, grid: int = 3, tile: int = 8, jitter: bool = True, generator=None) -> torch.Tensor:
    """Cut a grid×grid puzzle: (N, C, H, W) -> (N, grid², C, tile, tile), tiles in row-major order.

    Each cell is floor(H / grid) pixels; the tile is a ``tile``-sized window inside it at a random
    offset (jitter) in 0..slack, slack = cell − tile. Neighbouring tiles are then 0 to 2·slack pixels
    apart — they touch when the first sits at offset slack and the next at 0 — and shifted against
    each other across the border, so their edges rarely line up pixel for pixel: the edge-continuity
    shortcut Noroozi & Favaro block with 64-pixel tiles in 75-pixel cells. Without jitter every tile
    sits at offset slack // 2: neighbours are exactly slack pixels apart and their rows line up.
    """
    n, c, h, w = images.shape
    cell = min(h, w) // grid
    if tile > cell:
        raise ValueError(f"tile={tile} is larger than a cell ({cell} px for {grid}x{grid} on {h}x{w})")
    slack = cell - tile
    dev = images.device
    if jitter and slack > 0:
        oy = (_rand((n, grid * grid), dev, generator) * (slack + 1)).long()
        ox = (_rand((n, grid * grid), dev, generator) * (slack + 1)).long()
    else:
        oy = ox = torch.full((n, grid * grid), slack // 2, device=dev, dtype=torch.long)
    cells = torch.arange(grid * grid, device=dev)
    top = (cells // grid) * cell + oy  # (n, T)
    left = (cells % grid) * cell + ox
    r = torch.arange(tile, device=dev)
    rows = (top.unsqueeze(-1) + r).view(n, grid * grid, 1, tile, 1)  # (n, T, 1, tile, 1)
    cols = (left.unsqueeze(-1) + r).view(n, grid * grid, 1, 1, tile)
    batch = torch.arange(n, device=dev).view(n, 1, 1, 1, 1)
    chan = torch.arange(c, device=dev).view(1, 1, c, 1, 1)
    return images[batch, chan, rows, cols]  # advanced indexing: (n, T, c, tile, tile)


def shuffle_tiles(tiles: torch.Tensor, permutations: torch.Tensor) -> torch.Tensor:
    """Reorder each puzzle's tiles: out[i, j] = tiles[i, permutations[i, j]].

    tiles (N, T, C, h, w); permutations (N, T) int64 (or (T,) for the same one everywhere).
    The inverse permutation (``argsort``) puts them back.
    """
    permutations = permutations.to(tiles.device)  # a table made once, on the CPU, meets tiles anywhere
    if permutations.dim() == 1:
        permutations = permutations.expand(len(tiles), -1)
    idx = permutations.view(*permutations.shape, 1, 1, 1).expand_as(tiles)
    return torch.gather(tiles, 1, idx)


def assemble_tiles(tiles: torch.Tensor, gap: int = 1) -> torch.Tensor:
    """(N, T, C, h, w) tiles -> (N, C, H, W) picture of the puzzle with ``gap`` white pixels between tiles."""
    n, t, c, h, w = tiles.shape
    grid = int(round(math.sqrt(t)))
    out = torch.ones(n, c, grid * h + (grid - 1) * gap, grid * w + (grid - 1) * gap, dtype=tiles.dtype,
                     device=tiles.device) * (255 if tiles.dtype == torch.uint8 else 1)
    for k in range(t):
        r, q = divmod(k, grid)
        out[:, :, r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = tiles[:, k]
    return out
