"""Backbones, heads, the inpainting decoder and the DCGAN pair.

Every backbone takes images as float in [0, 1] (uint8 is converted) of shape (N, 3, H, W),
normalises them itself, and exposes

* ``feature_dim`` — the size of the pooled feature vector ``forward`` returns;
* ``stages`` — the convolutional stages, so that ``forward_features(x, stage)`` gives
  the feature map after any stage (the inpainting decoder and RotNet's layer study use it).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)  # fixed: the first conv is followed by batch norm anyway


class Normalize(nn.Module):
    """uint8 or [0, 1] float images -> (x - mean) / std."""

    def __init__(self, mean=MEAN, std=STD):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        if x.dtype == torch.uint8:
            x = x.float() / 255
        return (x - self.mean) / self.std


class Backbone(nn.Module):
    """Normalise, run the stages, average-pool the last map: (N, 3, H, W) -> (N, feature_dim)."""

    stage_dims: list[int]

    def forward_features(self, x: torch.Tensor, stage: int = -1) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"the backbone takes images (N, 3, H, W), got shape {tuple(x.shape)}")
        x = self.normalize(x)
        last = stage % len(self.stages)
        for k, block in enumerate(self.stages):
            x = block(x)
            if k == last:
                break
        return x

    def forward(self, x: torch.Tensor, stage: int = -1) -> torch.Tensor:
        return self.forward_features(x, stage).mean((2, 3))  # global average pool: (N, C)

    @property
    def feature_dim(self) -> int:
        return self.stage_dims[-1]


def conv_bn_relu(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallConvNet(Backbone):
    """The quick-profile backbone: four 3×3 conv stages, 32 -> 16 -> 8 -> 4, then pooling.

    Small enough to train SimCLR at several thousand images/s on two CPU cores
    (benchmarks/models.py), large enough for every pretext task to teach it something.
    The first stage, at full resolution, is the costly one: it stays narrow.
    """

    def __init__(self, widths=(16, 32, 64, 192)):
        super().__init__()
        self.normalize = Normalize()
        self.stage_dims = list(widths)
        stages = [conv_bn_relu(3, widths[0])]
        for c_in, c_out in zip(widths, widths[1:]):
            stages.append(nn.Sequential(nn.MaxPool2d(2), conv_bn_relu(c_in, c_out)))
        self.stages = nn.ModuleList(stages)


class ResNet18(Backbone):
    """The CIFAR ResNet-18 (He et al. 2016 as adapted for 32×32): 3×3 stem, no max-pool.

    torchvision's residual blocks (``BasicBlock``), two per stage, and its initialisation; maps
    32 -> 32, 32, 16, 8, 4. ``width`` is the first stage's channel count (64 in the paper); smoke runs
    (``SSLCOURSE_SMOKE=1``) use ``width=8``: the same blocks, strides and feature-map sizes at 1/64 of the
    compute, so the gpu and full profiles' code paths run on a CPU in seconds.
    """

    def __init__(self, width: int = 64):
        super().__init__()
        from torchvision.models.resnet import BasicBlock, conv1x1

        def stage(c_in, c_out, stride):
            down = None if stride == 1 and c_in == c_out else nn.Sequential(conv1x1(c_in, c_out, stride),
                                                                              nn.BatchNorm2d(c_out))
            return nn.Sequential(BasicBlock(c_in, c_out, stride, down), BasicBlock(c_out, c_out))

        self.normalize = Normalize()
        w = [width, width, 2 * width, 4 * width, 8 * width]
        stem = nn.Sequential(nn.Conv2d(3, w[0], 3, 1, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU(inplace=True))
        self.stages = nn.ModuleList([stem] + [stage(c_in, c_out, 1 if i == 0 else 2)
                                              for i, (c_in, c_out) in enumerate(zip(w[:-1], w[1:]))])
        self.stage_dims = w
        self.width = width
        for m in self.modules():  # torchvision's ResNet initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


class NarrowResNet18(ResNet18):
    """ResNet-18 at 1/8 width (8-8-16-32-64 channels): the backbone of the gpu and full profiles' smoke runs."""

    def __init__(self):
        super().__init__(width=8)


BACKBONES = {"small_convnet": SmallConvNet, "resnet18": ResNet18, "resnet18_narrow": NarrowResNet18}


def build_backbone(name: str = "small_convnet", seed: int | None = None) -> Backbone:
    """A freshly initialised backbone; the same ``seed`` gives the same weights."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        net = BACKBONES[name]()
    return net.to(memory_format=torch.channels_last)  # 1.5–2× faster convolutions, CPU and GPU


def projection_mlp(in_dim: int, hidden_dim: int = 512, out_dim: int = 128) -> nn.Sequential:
    """SimCLR's projection head g: Linear -> BN -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(in_dim, hidden_dim, bias=False), nn.BatchNorm1d(hidden_dim),
                         nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim))


def linear_head(in_dim: int, num_classes: int) -> nn.Linear:
    return nn.Linear(in_dim, num_classes)


class Decoder(nn.Module):
    """Feature map (N, C, s, s) -> image (N, 3, S, S) in [0, 1]: one ×2 transposed conv per octave.

    For the small ConvNet, 4×4×192 -> 8×8×96 -> 16×16×48 -> 32×32×24 -> 3 channels, sigmoid.
    The sigmoid matches the [0, 1] targets; a tanh here with [0, 1] targets is a classic bug.
    """

    def __init__(self, in_channels: int, in_size: int = 4, out_size: int = 32, width: int = 96):
        super().__init__()
        steps = int(math.log2(out_size // in_size))
        if in_size * 2 ** steps != out_size:
            raise ValueError(f"out_size/in_size must be a power of two, got {out_size}/{in_size}")
        layers, c = [], in_channels
        for k in range(steps):
            c_out = max(width // 2 ** k, 16)
            layers += [nn.ConvTranspose2d(c, c_out, 4, stride=2, padding=1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            c = c_out
        layers += [nn.Conv2d(c, 3, 3, padding=1), nn.Sigmoid()]
        self.net = nn.Sequential(*layers)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        return self.net(feature_map)


# ---- a Vision Transformer (Dosovitskiy et al. 2021), sized for 32×32: the encoder MAE trains (lesson 07) ----

def sincos_position_embedding(grid: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine–cosine position embeddings (ViT/MAE): (grid², dim), row by row over the grid.

    Half of the ``dim`` numbers encode the patch's row, half its column, each as sin and cos of the
    position at ``dim / 4`` frequencies ω_k = 10000^(−k / (dim/4)) — like a transformer's 1-D ones, twice.
    """
    if dim % 4:
        raise ValueError(f"the embedding size must be a multiple of 4 (sin and cos of rows and columns), got {dim}")
    omega = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float64) / (dim // 4))  # (dim/4,)
    rows, cols = torch.meshgrid(torch.arange(grid, dtype=torch.float64), torch.arange(grid, dtype=torch.float64),
                                indexing="ij")

    def encode(pos):  # (grid, grid) -> (grid², dim / 2)
        angles = pos.reshape(-1, 1) * omega  # (grid², dim/4)
        return torch.cat([angles.sin(), angles.cos()], 1)

    return torch.cat([encode(rows), encode(cols)], 1).float()


# From this many keys on, a bf16 softmax (which computes in float32 inside and rounds its output once, the same
# forward as float32's) is faster than casting the scores to float32 and back: at 64 keys (MAE's decoder, every
# fine-tune) 2-3× for softmax and its backward together; at 16 (MAE's encoder on the visible quarter) it is the
# slower one, its rows shorter than a 32-wide bf16 vector (BENCHMARKS.md "CPU speed").
BF16_SOFTMAX_FROM = 32


def written_out_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """softmax(Q Kᵀ / √d) V as three batched products: (..., L, d) each -> (..., L, d). The softmax is computed in
    float32; a bf16 one keeps its rounded output for the backward from ``BF16_SOFTMAX_FROM`` keys on."""
    scores = q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5  # (..., L, L)
    if scores.dtype == torch.bfloat16 and k.shape[-2] >= BF16_SOFTMAX_FROM:
        return scores.softmax(-1) @ v
    return scores.float().softmax(-1).to(v.dtype) @ v


def _bf16_on_cpu(x: torch.Tensor) -> bool:
    return x.device.type == "cpu" and (x.dtype == torch.bfloat16 or (
        torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16))


class SelfAttention(nn.MultiheadAttention):
    """torch's multi-head attention — the same parameters, the same result — with softmax(Q Kᵀ / √d) V written
    out as three batched products where torch's fused kernel is slow: bfloat16 on a CPU. There the fused
    kernel takes about 7× as long as the written-out form at a small ViT's shapes (64 tokens of 4 heads ×
    16: 40 ms against 5.7 ms for forward and backward; BENCHMARKS.md "CPU speed"), which made a
    lesson's ViT fine-tune 2.5× slower in bf16 than it needs to be. Everywhere else (float32, CUDA, masks,
    attention weights asked for) torch's own path runs unchanged."""

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
                average_attn_weights=True, is_causal=False):
        if (need_weights or key_padding_mask is not None or attn_mask is not None or is_causal
                or not (query is key is value) or not self.batch_first or not self._qkv_same_embed_dim
                or not _bf16_on_cpu(query)):
            return super().forward(query, key, value, key_padding_mask=key_padding_mask, need_weights=need_weights,
                                   attn_mask=attn_mask, average_attn_weights=average_attn_weights,
                                   is_causal=is_causal)
        n, length, dim = query.shape
        qkv = F.linear(query, self.in_proj_weight, self.in_proj_bias)  # (N, L, 3·dim)
        q, k, v = qkv.view(n, length, 3, self.num_heads, dim // self.num_heads).permute(2, 0, 3, 1, 4)
        out = written_out_attention(q, k, v).transpose(1, 2).reshape(n, length, dim)  # heads (N, h, L, d) joined
        return self.out_proj(out), None


def transformer_blocks(dim: int, depth: int, heads: int, mlp_ratio: float = 4.0) -> nn.ModuleList:
    """``depth`` pre-norm transformer blocks (x + attention(LN(x)), then x + MLP(LN(x)), GELU), torch's own
    ``nn.TransformerEncoderLayer`` with its attention as :class:`SelfAttention` (faster in bf16 on a CPU)."""
    if dim % heads:
        raise ValueError(f"dim={dim} must split evenly over heads={heads}")
    blocks = nn.ModuleList()
    for _ in range(depth):
        block = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=int(dim * mlp_ratio), dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        # built on the meta device (draws no random numbers), then given torch's own block's initial weights:
        # the same seed builds the same ViT as with torch's attention
        attention = SelfAttention(dim, heads, dropout=0.0, batch_first=True, device="meta").to_empty(device="cpu")
        attention.load_state_dict(block.self_attn.state_dict())
        block.self_attn = attention
        blocks.append(block)
    return blocks


def vit_init(m: nn.Module) -> None:
    """MAE's initialisation: Xavier-uniform linear layers (and the patch embedding, seen as one), zero biases."""
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight.view(m.weight.shape[0], -1))
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.LayerNorm):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


class ViT(nn.Module):
    """A Vision Transformer: the image as a sequence of patches, each patch a token.

    (N, 3, H, W) -> normalise -> ``embed``: one linear map per ``patch``×``patch`` patch (a convolution whose
    stride is its size) plus a fixed position embedding, (N, L, dim) with L = (H / patch)² -> ``encode``:
    ``depth`` transformer blocks and a final layer norm, on *any* subset of the tokens (MAE's encoder sees the
    visible ones only) -> ``forward``: the mean of the patch tokens, (N, dim) — the features the protocol
    measures. No class token: MAE trains none (its loss is on the patches), and the mean of the patch tokens
    serves probes and fine-tuning as well (He et al. 2022, appendix A.1).
    """

    def __init__(self, image_size: int = 32, patch: int = 4, dim: int = 128, depth: int = 4, heads: int = 4,
                 mlp_ratio: float = 2.0):
        super().__init__()
        if image_size % patch:
            raise ValueError(f"patch={patch} must divide image_size={image_size}")
        self.image_size, self.patch, self.dim, self.depth, self.heads, self.mlp_ratio = \
            image_size, patch, dim, depth, heads, mlp_ratio
        self.grid = image_size // patch
        self.normalize = Normalize()
        self.patch_embed = nn.Conv2d(3, dim, patch, stride=patch)  # = nn.Linear(3·patch², dim) on each patch
        self.register_buffer("pos_embed", sincos_position_embedding(self.grid, dim).unsqueeze(0), persistent=False)
        self.blocks = transformer_blocks(dim, depth, heads, mlp_ratio)
        self.norm = nn.LayerNorm(dim)
        self.apply(vit_init)

    @property
    def num_patches(self) -> int:
        return self.grid ** 2

    def layer_of(self, name: str) -> int:
        """How deep a parameter (by its name in ``named_parameters``) sits: 0 for the patch embedding,
        k + 1 for block k, depth + 1 for the final norm — what layer-wise learning-rate decay scales by."""
        if name.startswith("blocks."):
            return int(name.split(".")[1]) + 1
        return 0 if name.startswith(("patch_embed", "pos_embed")) else self.depth + 1

    @property
    def feature_dim(self) -> int:
        return self.dim

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Images (N, 3, H, W) -> patch tokens with their positions (N, L, dim), row by row over the grid."""
        if x.dim() != 4 or x.shape[1] != 3 or x.shape[-1] != self.image_size or x.shape[-2] != self.image_size:
            raise ValueError(f"this ViT takes images (N, 3, {self.image_size}, {self.image_size}), got shape "
                             f"{tuple(x.shape)}: build it with image_size={x.shape[-1]} for other sizes")
        tokens = self.patch_embed(self.normalize(x)).flatten(2).transpose(1, 2)  # (N, L, dim)
        return tokens + self.pos_embed.to(tokens.dtype)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Tokens (N, K, dim), any K of the L patches -> (N, K, dim): the blocks, then the final layer norm."""
        for block in self.blocks:
            tokens = block(tokens)
        return self.norm(tokens)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Every patch's output token: (N, L, dim)."""
        return self.encode(self.embed(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x).mean(1)  # (N, dim): the mean of the patch tokens


def build_vit(seed: int | None = None, **settings) -> ViT:
    """A freshly initialised :class:`ViT`; the same ``seed`` gives the same weights."""
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        return ViT(**settings)


# ---- DCGAN (Radford et al. 2016), sized for 32×32 ----

class Generator(nn.Module):
    """z (N, z_dim) -> image (N, 3, 32, 32) in [-1, 1]: 4 -> 8 -> 16 -> 32, batch norm, ReLU, tanh.

    upsample: how each ×2 step is made.
    * ``"transposed"`` (DCGAN): a 4×4 transposed convolution of stride 2. It computes the four pixels of
      every 2×2 output block with four different 2×2 slices of its kernel; nothing ties the slices together,
      so it paints a checkerboard that the generator must learn to cancel (Odena, Dumoulin & Olah 2016,
      "Deconvolution and checkerboard artifacts", Distill).
    * ``"resize"``: nearest-neighbour ×2 (the four pixels of a block are equal: no checkerboard), then a 3×3
      convolution, the same kernel at every pixel. The default: nothing to unlearn.
    """

    def __init__(self, z_dim: int = 64, width: int = 64, upsample: str = "resize"):
        super().__init__()
        if upsample not in ("transposed", "resize"):
            raise ValueError(f"upsample must be 'transposed' or 'resize', got {upsample!r}")
        self.z_dim, self.upsample = z_dim, upsample

        def up(c_in, c_out, bias=False):
            if upsample == "transposed":
                return nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias)
            return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, 1, 1, bias=bias))

        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, 4 * width, 4, 1, 0, bias=False), nn.BatchNorm2d(4 * width), nn.ReLU(True),  # 4×4
            up(4 * width, 2 * width), nn.BatchNorm2d(2 * width), nn.ReLU(True),  # 8×8
            up(2 * width, width), nn.BatchNorm2d(width), nn.ReLU(True),  # 16×16
            up(width, 3, bias=True), nn.Tanh(),  # 32×32
        )
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(len(z), self.z_dim, 1, 1))


class Discriminator(nn.Module):
    """image in [-1, 1] (N, 3, 32, 32) -> logit (N,): strided convs, LeakyReLU(0.2), no pooling.

    spectral_norm: divide every conv's weight by its largest singular value (Miyato et al. 2018), so D
    is 1-Lipschitz per layer and cannot grow arbitrarily sharp; batch norm is then left out, as in SN-GAN.
    """

    def __init__(self, width: int = 64, spectral_norm: bool = False):
        super().__init__()
        self.spectral_norm = spectral_norm

        def conv(c_in, c_out, k, s, p, norm=True):
            layer = nn.Conv2d(c_in, c_out, k, s, p, bias=not norm or spectral_norm)
            if spectral_norm:
                return [nn.utils.parametrizations.spectral_norm(layer)]
            return [layer, nn.BatchNorm2d(c_out)] if norm else [layer]

        self.stages = nn.ModuleList([
            nn.Sequential(*conv(3, width, 4, 2, 1, norm=False), nn.LeakyReLU(0.2, True)),  # 16×16
            nn.Sequential(*conv(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2, True)),  # 8×8
            nn.Sequential(*conv(2 * width, 4 * width, 4, 2, 1), nn.LeakyReLU(0.2, True)),  # 4×4
        ])
        self.head = conv(4 * width, 1, 4, 1, 0, norm=False)[0]  # 1×1
        self.stage_dims = [width, 2 * width, 4 * width]
        self.apply(dcgan_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return self.head(x).view(-1)


class DiscriminatorEncoder(Backbone):
    """The discriminator as a feature extractor (Radford et al. 2016, section 5.1).

    Each stage's map is max-pooled to 2×2 and the three are concatenated; images come in
    as [0, 1] like every backbone and are mapped to the GAN's [-1, 1] first.
    """

    def __init__(self, discriminator: Discriminator, grid: int = 2):
        super().__init__()
        self.normalize = Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))  # [0, 1] -> [-1, 1]
        self.stages = discriminator.stages  # shared, not copied: it trains with the GAN
        self.grid, self.spectral_norm = grid, discriminator.spectral_norm
        self.stage_dims = [c * grid * grid for c in discriminator.stage_dims]

    def forward(self, x: torch.Tensor, stage: int = -1) -> torch.Tensor:
        x = self.normalize(x)
        feats = []
        for block in self.stages:
            x = block(x)
            feats.append(F.adaptive_max_pool2d(x, self.grid).flatten(1))
        return torch.cat(feats, 1)

    @property
    def feature_dim(self) -> int:
        return sum(self.stage_dims)


def dcgan_init(m: nn.Module) -> None:
    """DCGAN's initialisation: conv weights ~ N(0, 0.02), batch-norm scale ~ N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        parametrized = nn.utils.parametrize.is_parametrized(m, "weight")  # spectral norm: init the raw weight
        nn.init.normal_(m.parametrizations.weight.original if parametrized else m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


# ---- saving and loading encoders (``sslcourse eval CHECKPOINT``) ----

def encoder_spec(encoder: nn.Module) -> dict:
    """What is needed to rebuild ``encoder``'s architecture."""
    if isinstance(encoder, ViT):
        return {"kind": "vit", "image_size": encoder.image_size, "patch": encoder.patch, "dim": encoder.dim,
                "depth": encoder.depth, "heads": encoder.heads, "mlp_ratio": encoder.mlp_ratio}
    if isinstance(encoder, DiscriminatorEncoder):
        return {"kind": "dcgan_discriminator", "width": encoder.stage_dims[0] // encoder.grid ** 2,
                "grid": encoder.grid, "spectral_norm": encoder.spectral_norm}
    for name, cls in BACKBONES.items():
        if type(encoder) is cls:
            return {"kind": name, **({"widths": encoder.stage_dims} if cls is SmallConvNet else {})}
    raise TypeError(f"cannot save an encoder of type {type(encoder).__name__}")


def build_encoder(spec: dict) -> Backbone:
    spec = dict(spec)
    kind = spec.pop("kind")
    if kind == "dcgan_discriminator":
        return DiscriminatorEncoder(Discriminator(spec["width"], spec.get("spectral_norm", False)), spec["grid"])
    if kind == "small_convnet":
        return SmallConvNet(tuple(spec["widths"]))
    if kind == "vit":
        return ViT(**spec)
    return BACKBONES[kind]()


def save_encoder(encoder: nn.Module, path, **meta) -> None:
    """Save an encoder's architecture, weights and metadata atomically (loaded by ``load_encoder``)."""
    from .data import atomic_save

    atomic_save({"spec": encoder_spec(encoder), "state_dict": encoder.state_dict(), "meta": meta}, path)


def load_encoder(path, device="cpu") -> tuple[Backbone, dict]:
    """(encoder, metadata) from a file written by ``save_encoder``."""
    from pathlib import Path

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no encoder checkpoint at {path}: train one with `sslcourse train METHOD`")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # truncated, damaged, or a pickle of arbitrary objects
        raise ValueError(f"{path} is damaged or not an encoder file written by sslcourse ({type(err).__name__}: "
                         f"{(str(err).strip() or 'empty file').splitlines()[0][:160]}). Remove it and train again:\n    rm '{path}'"
                         ) from None
    if not isinstance(state, dict) or "spec" not in state:
        raise ValueError(f"{path} is not an encoder file written by sslcourse (save_encoder)")
    encoder = build_encoder(state["spec"]).to(device)
    encoder.load_state_dict(state["state_dict"])
    return encoder.to(memory_format=torch.channels_last).eval(), state["meta"]
