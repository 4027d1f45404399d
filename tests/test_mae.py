"""Masked autoencoders (lesson 07): patches, masking and the loss against slow references, the ViT's parts."""
import pytest
import torch

from sslcourse.grading.checks.mae import reference_mae_loss, reference_patchify
from sslcourse.methods.mae import mae_loss
from sslcourse.models import ViT, build_vit, load_encoder, save_encoder
from sslcourse.pretext import patchify, random_masking, restore_order, unpatchify


@pytest.mark.parametrize("shape, patch", [((2, 3, 8, 8), 4), ((3, 3, 32, 32), 4), ((1, 2, 6, 9), 3), ((2, 3, 4, 4), 1)])
def test_patchify_follows_maes_layout_and_unpatchify_inverts_it_exactly(shape, patch):
    x = torch.rand(*shape, generator=torch.Generator().manual_seed(sum(shape)))
    patches = patchify(x, patch)
    assert torch.equal(patches, reference_patchify(x, patch))
    assert torch.equal(unpatchify(patches, patch, shape[1], height=shape[2]), x)
    grid = torch.rand(2, 16, patch * patch * shape[1])  # and the other way round
    assert torch.equal(patchify(unpatchify(grid, patch, shape[1]), patch), grid)


def test_patchify_refuses_a_patch_that_does_not_divide_the_image():
    with pytest.raises(ValueError, match="must divide the image's height and width, got 10×10"):
        patchify(torch.zeros(1, 3, 10, 10), 4)


def test_random_masking_is_per_sample_and_restores_the_order():
    n, length, dim = 500, 16, 3
    tokens = torch.randn(n, length, dim)
    tokens[..., 0] = torch.arange(length, dtype=torch.float32)  # each token knows its position
    visible, mask, ids_restore = random_masking(tokens, 0.75, generator=torch.Generator().manual_seed(0))
    assert visible.shape == (n, 4, dim) and mask.shape == (n, length) and ids_restore.dtype == torch.int64
    assert torch.all(mask.sum(1) == 4), "exactly L − round(0.75·L) visible tokens in every sequence"
    assert len(torch.unique(mask, dim=0)) > 400, "a mask of its own for every sequence"
    filled = restore_order(torch.cat([visible, torch.full((n, length - 4, dim), -1.0)], 1), ids_restore)
    keep = mask.bool()
    assert torch.equal(filled[keep], tokens[keep]), "visible tokens go back where they came from"
    assert torch.all(filled[~keep] == -1), "hidden places receive the appended tokens"
    assert (mask.mean(0) - 0.25).abs().max() < 0.08, "every position is as likely to stay visible"


@pytest.mark.parametrize("norm_pix", [False, True])
def test_mae_loss_equals_the_slow_reference(norm_pix):
    g = torch.Generator().manual_seed(1)
    pred, target = torch.randn(3, 8, 12, generator=g), torch.rand(3, 8, 12, generator=g) * 2
    mask = (torch.rand(3, 8, generator=g) > 0.5).float()
    assert mae_loss(pred, target, mask, norm_pix).item() == pytest.approx(
        reference_mae_loss(pred, target, mask, norm_pix), rel=1e-5)
    assert mae_loss(pred, target, torch.ones(3, 8), norm_pix).item() == 0.0, "nothing hidden: 0, not nan"
    with pytest.raises(ValueError, match=r"mask must have shape \(3, 8\)"):
        mae_loss(pred, target, mask[:, :4], norm_pix)


def test_the_vit_encodes_any_subset_of_its_tokens_and_survives_a_round_trip(tmp_path):
    vit = build_vit(seed=0, dim=32, depth=2, heads=2).eval()
    x = torch.rand(4, 3, 32, 32)
    tokens = vit.embed(x)
    assert tokens.shape == (4, 64, 32) and vit.encode(tokens[:, :16]).shape == (4, 16, 32)
    assert vit(x).shape == (4, vit.feature_dim)
    torch.testing.assert_close(build_vit(seed=0, dim=32, depth=2, heads=2).eval()(x), vit(x))  # a seed, a ViT
    save_encoder(vit, tmp_path / "vit.pt")
    loaded, _ = load_encoder(tmp_path / "vit.pt")
    assert isinstance(loaded, ViT)
    torch.testing.assert_close(loaded(x), vit(x))
    with pytest.raises(ValueError, match=r"takes images \(N, 3, 32, 32\), got shape \(4, 3, 16, 16\)"):
        vit(torch.rand(4, 3, 16, 16))


def test_maes_random_init_baseline_is_the_vit_it_starts_from(tmp_path, monkeypatch):
    """`sslcourse train mae` measures MAE against a random ViT of its own size — the very weights MAE starts
    from — not against the profile's ConvNet; the ViT's baseline is cached apart from the ConvNet's."""
    from sslcourse.config import profile
    from sslcourse.data import ImageDataset
    from sslcourse.evaluate import evaluate_encoder
    from sslcourse.methods import build_method
    from sslcourse.models import encoder_spec
    from sslcourse.runs import baseline

    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path))
    g = torch.Generator().manual_seed(0)
    data = [ImageDataset(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, generator=g), torch.arange(n) % 4,
                         list("abcd"), "tiny", split) for n, split in ((48, "train"), (24, "test"))]
    p = profile("quick", device="cpu")
    mae, _ = build_method("mae", p, seed=3)
    spec = encoder_spec(mae.encoder)
    vit = baseline("random", p, *data, seed=3, architecture=spec)
    assert vit["knn_accuracy"] == evaluate_encoder(mae.encoder, *data)["knn_accuracy"]
    assert vit["identity"]["architecture"] == spec and "architecture" not in baseline("random", p, *data)["identity"]
    assert len(list((tmp_path / "results").glob("baseline-random-vit-*.json"))) == 1


def test_layer_decay_slows_each_layer_below_the_top():
    """Fine-tuning a ViT with layer-wise learning-rate decay: patch embedding, blocks, final norm, head."""
    from sslcourse.methods.supervised import Supervised
    from sslcourse.models import build_backbone

    model = Supervised(build_vit(seed=0, dim=32, depth=2, heads=2), 4, layer_decay=0.5)
    groups = model.configure_optimizers(lr=1.0)["main"].param_groups
    assert [g["lr"] for g in groups] == [0.125, 0.25, 0.5, 1.0, 1.0]
    assert sum(len(g["params"]) for g in groups) == len(list(model.parameters())), "every parameter, once"
    with pytest.raises(ValueError, match="layer_decay needs an encoder made of layers"):
        Supervised(build_backbone("small_convnet"), 4, layer_decay=0.5).configure_optimizers()


def test_a_smoke_run_shrinks_maes_vit_and_keeps_its_code_paths():
    """SSLCOURSE_SMOKE=1 caps widths by name; MAE's ViT is sized by dim and depth, so mae.smoke_settings
    shrinks it — the same patches, masking, decoder and loss at a fraction of ViT-Tiny's compute."""
    from sslcourse.config import profile
    from sslcourse.methods import build_method, recipe

    gpu, smoke = profile("gpu", device="cpu", smoke=False), profile("gpu", device="cpu", smoke=True)
    full_r, smoke_r = recipe("mae", gpu), recipe("mae", smoke)
    assert all(smoke_r[k] < full_r[k] for k in ("dim", "depth", "decoder_dim", "decoder_depth"))
    assert smoke_r["patch"] == full_r["patch"] and smoke_r["mask_ratio"] == full_r["mask_ratio"]
    mae, _ = build_method("mae", smoke, seed=0)
    count = sum(q.numel() for q in mae.parameters())
    assert count < 100_000, f"a smoke run's MAE has {count:,} parameters"
    loss, logs = mae.training_step(torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8))
    loss.backward()
    assert torch.isfinite(loss) and mae.encoder.patch_embed.weight.grad is not None


def _torch_attention(ours: torch.nn.MultiheadAttention) -> torch.nn.MultiheadAttention:
    theirs = torch.nn.MultiheadAttention(ours.embed_dim, ours.num_heads, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    return theirs


@pytest.mark.parametrize("bf16", [False, True])
def test_the_vits_attention_is_torchs_in_value_and_gradient(bf16):
    """SelfAttention writes softmax(QKᵀ/√d)V out under bf16 on a CPU (torch's fused CPU kernel is slow there) and
    is torch's own elsewhere: both give torch's nn.MultiheadAttention's output and gradients."""
    from sslcourse.models import SelfAttention, transformer_blocks

    ours = transformer_blocks(32, 1, heads=4)[0].self_attn
    assert isinstance(ours, SelfAttention)
    theirs = _torch_attention(ours)
    x = torch.randn(3, 10, 32, generator=torch.Generator().manual_seed(0))
    grads, outs = [], []
    for module in (ours, theirs):
        xi = x.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out, weights = module(xi, xi, xi, need_weights=False)
        assert weights is None and out.shape == x.shape
        out.float().square().sum().backward()
        outs.append(out.float())
        grads.append([xi.grad] + [p.grad for p in module.parameters()])
    if not bf16:  # torch's own path, bit for bit
        assert torch.equal(outs[0], outs[1]) and all(torch.equal(a, b) for a, b in zip(*grads))
        return
    assert not torch.equal(outs[0], outs[1])  # the written-out path ran: torch's fused kernel rounds differently
    torch.testing.assert_close(outs[0], outs[1], rtol=0.05, atol=0.05)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("keys", [16, 64])
def test_the_written_out_softmax_keeps_float32s_output_in_bf16_at_every_length(keys):
    """From BF16_SOFTMAX_FROM keys on the softmax runs in bf16 (faster there): its output is float32's rounded once,
    bit for bit; only the backward differs, by its saved bf16 probabilities."""
    from sslcourse.models import BF16_SOFTMAX_FROM, written_out_attention

    assert 16 < BF16_SOFTMAX_FROM <= 64  # so that the two lengths take the two paths
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(3, 4, keys, 16, generator=g).bfloat16() for _ in range(3))
    grad = torch.randn(3, 4, keys, 16, generator=g).bfloat16()
    outs, grads = [], []
    for kernel in (written_out_attention,
                   lambda q, k, v: (q @ k.transpose(-2, -1) * 0.25).float().softmax(-1).bfloat16() @ v):
        qi, ki, vi = (t.clone().requires_grad_() for t in (q, k, v))
        out = kernel(qi, ki, vi)
        out.backward(grad)
        outs.append(out)
        grads.append((qi.grad, ki.grad, vi.grad))
    assert outs[0].dtype == torch.bfloat16 and torch.equal(outs[0], outs[1])
    assert torch.equal(grads[0][2], grads[1][2])  # v's gradient does not go through the softmax
    same = all(torch.equal(a, b) for a, b in zip(grads[0][:2], grads[1][:2]))
    assert same == (keys < BF16_SOFTMAX_FROM)  # short rows keep the float32 softmax; long ones took the bf16 one
    for a, b in zip(grads[0], grads[1]):
        torch.testing.assert_close(a.float(), b.float(), rtol=0.02, atol=0.02)


def test_the_vits_attention_gives_torchs_weights_and_masks_to_torch():
    from sslcourse.models import transformer_blocks

    ours = transformer_blocks(16, 1, heads=2)[0].self_attn
    x = torch.randn(2, 5, 16)
    mask = torch.zeros(5, 5, dtype=torch.bool)
    mask[:, -1] = True
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, weights = ours(x, x, x, attn_mask=mask)  # masks and weights: torch's own path
        ref, ref_weights = _torch_attention(ours)(x, x, x, attn_mask=mask)
    assert torch.equal(out, ref) and torch.equal(weights, ref_weights)
    assert weights[..., -1].abs().max() == 0


def test_the_same_seed_builds_the_same_vit_as_torchs_own_blocks():
    """Swapping in SelfAttention draws no random numbers: a seed's ViT (and its cached checkpoints) stays what it was."""
    torch.manual_seed(3)
    blocks = [torch.nn.TransformerEncoderLayer(32, 4, 64, 0.0, "gelu", batch_first=True, norm_first=True)
              for _ in range(2)]
    after_theirs = torch.rand(1)
    torch.manual_seed(3)
    from sslcourse.models import transformer_blocks

    ours = transformer_blocks(32, 2, heads=4, mlp_ratio=2.0)
    assert torch.equal(torch.rand(1), after_theirs)
    for a, b in zip(ours, blocks):
        for (name, p), (name_b, q) in zip(a.state_dict().items(), b.state_dict().items()):
            assert name == name_b and torch.equal(p, q), name
