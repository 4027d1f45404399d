"""Masked autoencoders (He et al. 2022, "Masked Autoencoders Are Scalable Vision Learners") on a ViT.

    patches  x = patchify(image)                       (N, L, P): L patches of P = patch²·3 values
    tokens   t = embed(image)                          (N, L, D): a linear map per patch + positions
    mask     visible, m, ids_restore = random_masking(t, r)   K = L − round(r·L) tokens stay, m: 1 visible
    encoder  h = f(visible)                            (N, K, D): the ViT sees the visible tokens only
    decoder  x̂ = g(restore_order([h; mask tokens], ids_restore) + positions)   (N, L, P)
    loss     L = Σ_{n,l} (1 − m_nl) · mean_p (x̂ − x̃)² / Σ (1 − m)       on the hidden patches only,
             x̃ = x, or each patch normalised to mean 0, variance 1 (``norm_pix``)
"""
from __future__ import annotations

import torch
import torch.nn as nn

from ..augment import random_resized_crop, to_float
from ..models import sincos_position_embedding, transformer_blocks, vit_init
from ..pretext import patchify, random_masking, restore_order
from ..train import Method, make_optimizer


def patch_statistics(patches: torch.Tensor, eps: float = 1e-6):
    """(μ, √(σ² + ε)) of each patch (the last dimension), σ² the unbiased variance of its values (MAE's
    code)."""
    mean = patches.mean(-1, keepdim=True)
    var = (patches - mean).pow(2).sum(-1, keepdim=True) / (patches.shape[-1] - 1)  # = torch.var, 8× faster here
    return mean, (var + eps).sqrt()


def normalise_patches(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Each patch to mean 0 and variance 1: (x − μ) / √(σ² + ε). What is left is the patch's structure — its
    edges and texture — not its brightness, colour or contrast."""
    mean, scale = patch_statistics(patches, eps)
    return (patches - mean) / scale


def mae_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, norm_pix: bool = True) -> torch.Tensor:
    """The mean squared error per patch, averaged over the hidden patches only.

    pred, target: (N, L, P) — the decoder's patches and the image's (``patchify``); mask: (N, L) with
    1 = visible, 0 = hidden. With ``norm_pix`` each target patch is normalised first (``normalise_patches``).
    With nothing hidden the loss is 0 (not 0/0).
    """
    if pred.shape != target.shape or pred.dim() != 3:
        raise ValueError(f"pred and target must be patches of the same shape (N, L, P), got {tuple(pred.shape)} "
                         f"and {tuple(target.shape)}: patchify the images for the target")
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"mask must have shape {tuple(pred.shape[:2])} (one 0/1 per patch), got {tuple(mask.shape)}")
    target = target.float()
    if norm_pix:
        target = normalise_patches(target)
    per_patch = (pred.float() - target).pow(2).mean(-1)  # (N, L)
    hidden = 1.0 - mask.float()
    return (per_patch * hidden).sum() / hidden.sum().clamp(min=1.0)


class MAE(Method):
    """Mask most patches, encode the rest with the ViT, reconstruct every patch with a light decoder."""

    version = 1
    lr = 1.5e-3
    weight_decay = 0.05
    betas = (0.9, 0.95)  # MAE's: a shorter memory of the squared gradients than Adam's default

    def __init__(self, encoder: nn.Module, mask_ratio: float = 0.75, norm_pix: bool = True, decoder_dim: int = 64,
                 decoder_depth: int = 2, decoder_heads: int = 4, min_scale: float = 0.5):
        super().__init__()
        if not 0.0 <= mask_ratio < 1.0:
            raise ValueError(f"mask_ratio must be in [0, 1): the encoder needs at least one visible patch, "
                             f"got {mask_ratio}")
        self.encoder = encoder
        self.mask_ratio, self.norm_pix, self.min_scale = mask_ratio, norm_pix, min_scale
        self.patch = encoder.patch
        self.decoder_embed = nn.Linear(encoder.dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.register_buffer("decoder_pos", sincos_position_embedding(encoder.grid, decoder_dim).unsqueeze(0),
                             persistent=False)
        self.decoder_blocks = transformer_blocks(decoder_dim, decoder_depth, decoder_heads, mlp_ratio=2.0)
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.decoder_pred = nn.Linear(decoder_dim, self.patch ** 2 * 3)  # every token back to a patch's pixels
        for module in (self.decoder_embed, self.decoder_blocks, self.decoder_norm, self.decoder_pred):
            module.apply(vit_init)
        nn.init.normal_(self.mask_token, std=0.02)

    def encode(self, images: torch.Tensor, mask_ratio: float | None = None, generator=None):
        """Images -> (latent (N, K, D) of the visible tokens, mask (N, L), ids_restore (N, L))."""
        tokens = self.encoder.embed(images)  # (N, L, D), positions added before masking
        visible, mask, ids_restore = random_masking(tokens, self.mask_ratio if mask_ratio is None else mask_ratio,
                                                    generator)
        return self.encoder.encode(visible), mask, ids_restore

    def decode(self, latent: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """Visible tokens (N, K, D) -> every patch (N, L, P): mask tokens fill the hidden places."""
        x = self.decoder_embed(latent)  # (N, K, Dd)
        n, k, d = x.shape
        fill = self.mask_token.to(x.dtype).expand(n, ids_restore.shape[1] - k, d)  # one learnt token, shared
        x = restore_order(torch.cat([x, fill], 1), ids_restore) + self.decoder_pos.to(x.dtype)  # (N, L, Dd)
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))

    def forward(self, images: torch.Tensor, mask_ratio: float | None = None, generator=None):
        """[0, 1] images -> (loss, prediction (N, L, P), mask (N, L))."""
        latent, mask, ids_restore = self.encode(images, mask_ratio, generator)
        pred = self.decode(latent, ids_restore)
        loss = mae_loss(pred, patchify(images, self.patch), mask, self.norm_pix)
        return loss, pred, mask

    def training_step(self, images, labels=None, part="main"):
        x = random_resized_crop(to_float(images), scale=(self.min_scale, 1.0), flip_p=0.5)
        loss, _, _ = self(x)
        return loss, {"loss": loss}

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor, mask_ratio: float | None = None, generator=None):
        """(reconstruction, mask as an image) for display, in [0, 1]: visible patches kept, hidden ones predicted.

        A model trained on normalised patches predicts each patch's structure, not its mean and contrast:
        those are lent from the true patch (as MAE's figures do), so only the structure is the model's.
        """
        x = to_float(images)
        _, pred, mask = self(x, mask_ratio, generator)
        pred, target = pred.float(), patchify(x, self.patch)
        if self.norm_pix:  # normalise_patches undone with the true patch's mean and scale
            mean, scale = patch_statistics(target)
            pred = pred * scale + mean
        keep = mask.unsqueeze(-1)  # (N, L, 1)
        from ..pretext import unpatchify

        filled = unpatchify(keep * target + (1 - keep) * pred, self.patch, 3, x.shape[-2]).clamp(0, 1)
        shown = unpatchify(keep.expand_as(target), self.patch, 3, x.shape[-2])[:, :1]  # (N, 1, H, W), 1 = visible
        return filled, shown

    def configure_optimizers(self, lr: float | None = None, weight_decay: float | None = None) -> dict:
        """AdamW with MAE's betas; no weight decay on biases, norms and the mask token (1-D parameters)."""
        decay = [p for p in self.parameters() if p.requires_grad and p.dim() > 1 and p is not self.mask_token]
        no_decay = [p for p in self.parameters() if p.requires_grad and (p.dim() <= 1 or p is self.mask_token)]
        wd = self.weight_decay if weight_decay is None else weight_decay
        groups = [{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}]
        return {"main": make_optimizer(self.optimizer, groups, lr or self.lr, wd, betas=self.betas)}

    def hparams(self) -> dict:
        return {"mask_ratio": self.mask_ratio, "norm_pix": self.norm_pix, "min_scale": self.min_scale,
                "decoder": [self.decoder_embed.out_features, len(self.decoder_blocks)],
                "encoder": {"patch": self.encoder.patch, "dim": self.encoder.dim, "depth": self.encoder.depth,
                            "heads": self.encoder.heads, "mlp_ratio": self.encoder.mlp_ratio}}


RECIPES = {
    # quick: a ViT of 4 blocks of width 64 on 4×4 patches (64 tokens) — recipe search in BENCHMARKS.md; 16 epochs:
    # fine-tuned at 10 % of the labels it beats the same ViT from scratch by 5.5-8.2 points in three seeds (8: 3.2-5.2)
    "quick": dict(epochs=16, batch_size=128, lr=1.5e-3, mask_ratio=0.75, norm_pix=True, min_scale=0.5, patch=4,
                  dim=64, depth=4, heads=4, mlp_ratio=2.0, decoder_dim=64, decoder_depth=1, ablation_epochs=1),
    # gpu: ViT-Tiny's width on 32×32 CIFAR-10, 2×2 patches would be 256 tokens; 4×4 patches, 64 tokens
    "gpu": dict(epochs=40, batch_size=512, lr=1.5e-3, mask_ratio=0.75, norm_pix=True, min_scale=0.2, patch=4,
                dim=192, depth=12, heads=3, mlp_ratio=4.0, decoder_dim=128, decoder_depth=4, ablation_epochs=5),
    "full": dict(epochs=800, batch_size=512, lr=1.5e-3, mask_ratio=0.75, norm_pix=True, min_scale=0.2, patch=4,
                 dim=192, depth=12, heads=3, mlp_ratio=4.0, decoder_dim=128, decoder_depth=4, ablation_epochs=50),
}


def smoke_settings(r: dict) -> dict:
    """A smoke run's ViT (``SSLCOURSE_SMOKE=1``): two blocks of width 32 and a one-block decoder of width 16 —
    every code path of the recipe (patches, masking, the decoder, the loss) at a few milliseconds a step."""
    from ..config import SMOKE_WIDTH

    return {"dim": min(r["dim"], 2 * SMOKE_WIDTH), "depth": min(r["depth"], 2), "heads": 2,
            "mlp_ratio": min(r["mlp_ratio"], 2.0), "decoder_dim": min(r["decoder_dim"], SMOKE_WIDTH),
            "decoder_depth": 1}


def encoder_settings(profile, r: dict) -> dict:
    """The ViT of a recipe: what ``models.build_vit`` takes (lesson 07 builds its random-init twin with it)."""
    return dict(image_size=profile.image_size, patch=r["patch"], dim=r["dim"], depth=r["depth"], heads=r["heads"],
                mlp_ratio=r["mlp_ratio"])


def build(profile, r: dict, encoder=None, seed: int = 0) -> MAE:
    from ..models import build_vit

    with torch.random.fork_rng(devices=[], enabled=True):
        torch.manual_seed(seed)
        method = MAE(encoder or build_vit(seed=seed, **encoder_settings(profile, r)), mask_ratio=r["mask_ratio"],
                     norm_pix=r["norm_pix"], decoder_dim=r["decoder_dim"], decoder_depth=r["decoder_depth"],
                     min_scale=r["min_scale"])
    method.weight_decay = r.get("weight_decay", method.weight_decay)
    return method
