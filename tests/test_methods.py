"""Every method: the loss against a slow reference from its formula, gradients, one training step."""
import math

import pytest
import torch

from sslcourse.config import profile
from sslcourse.methods import METHODS, build_method
from sslcourse.methods.gan import (discriminator_loss, generator_loss, hinge_discriminator_loss,
                                   hinge_generator_loss)
from sslcourse.grading.checks.ntxent import reference_nt_xent
from sslcourse.methods.simclr import nt_xent_loss


@pytest.mark.parametrize("n,d,tau", [(4, 8, 0.5), (7, 3, 0.1), (16, 32, 1.0), (2, 5, 0.07)])
def test_nt_xent_equals_loop_reference(n, d, tau):
    g = torch.Generator().manual_seed(n * d)
    z1, z2 = torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)
    assert nt_xent_loss(z1, z2, tau).item() == pytest.approx(reference_nt_xent(z1, z2, tau).item(), rel=1e-5)


def test_nt_xent_symmetry_scale_invariance_and_stability():
    g = torch.Generator().manual_seed(0)
    z1, z2 = torch.randn(8, 16, generator=g), torch.randn(8, 16, generator=g)
    loss = nt_xent_loss(z1, z2, 0.5)
    assert nt_xent_loss(z2, z1, 0.5).item() == pytest.approx(loss.item(), rel=1e-6)
    assert nt_xent_loss(3 * z1, 0.01 * z2, 0.5).item() == pytest.approx(loss.item(), rel=1e-5)
    assert torch.isfinite(nt_xent_loss(z1, z2, 0.001)), "a tiny temperature must not overflow"
    perfect = torch.eye(8, 16) * 5
    assert nt_xent_loss(perfect, perfect, 0.05) < 0.01, "identical views of orthogonal images: loss near 0"


def test_nt_xent_gradient_matches_autograd_of_the_reference():
    g = torch.Generator().manual_seed(1)
    z1 = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    ours = torch.autograd.grad(nt_xent_loss(z1, z2, 0.3), (z1, z2))
    ref = torch.autograd.grad(reference_nt_xent(z1, z2, 0.3), (z1, z2))
    for a, b in zip(ours, ref):
        torch.testing.assert_close(a.double(), b, atol=1e-5, rtol=1e-4)


def test_hand_written_nt_xent_gradient_matches_autograd():
    import torch.nn.functional as F

    from sslcourse.methods.simclr import nt_xent_grad

    g = torch.Generator().manual_seed(5)
    z = F.normalize(torch.randn(12, 7, generator=g, dtype=torch.float64), dim=1).requires_grad_()
    ours = nt_xent_grad(z.detach(), 0.2)
    # autograd of the formula written on z directly (no re-normalisation)
    sim = (z @ z.T / 0.2).masked_fill(torch.eye(12, dtype=torch.bool), float("-inf"))
    (direct,) = torch.autograd.grad(F.cross_entropy(sim, torch.arange(12).roll(6)), z)
    torch.testing.assert_close(ours, direct, atol=1e-10, rtol=1e-8)
    # through nt_xent_loss, which normalises: only the part tangent to the unit sphere survives
    (through,) = torch.autograd.grad(nt_xent_loss(z[:6], z[6:], 0.2), z)
    tangent = ours - (ours * z.detach()).sum(1, keepdim=True) * z.detach()
    torch.testing.assert_close(tangent, through.double(), atol=1e-6, rtol=1e-5)


def test_nt_xent_shape_errors_name_the_fix():
    with pytest.raises(ValueError, match=r"same shape \(N, D\), got \(8, 128\) and \(8, 64\)"):
        nt_xent_loss(torch.zeros(8, 128), torch.zeros(8, 64))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        nt_xent_loss(torch.zeros(2, 3), torch.zeros(2, 3), 0)


def test_gan_losses_equal_the_log_formulas():
    g = torch.Generator().manual_seed(2)
    real, fake = torch.randn(64, generator=g) * 3, torch.randn(64, generator=g) * 3
    d = torch.sigmoid(real.double()), torch.sigmoid(fake.double())
    ref_d = -(torch.log(d[0]).mean() + torch.log(1 - d[1]).mean())
    assert discriminator_loss(real, fake).item() == pytest.approx(ref_d.item(), rel=1e-5)
    assert generator_loss(fake).item() == pytest.approx(-torch.log(d[1]).mean().item(), rel=1e-5)
    assert generator_loss(fake, non_saturating=False).item() == pytest.approx(
        torch.log(1 - d[1]).mean().item(), rel=1e-5)


def test_gan_losses_are_finite_at_extreme_logits():
    extreme = torch.tensor([-50.0, 50.0, -200.0, 200.0])
    for loss in (discriminator_loss(extreme, extreme), generator_loss(extreme), generator_loss(extreme, False)):
        assert torch.isfinite(loss)
    naive = -torch.log(torch.sigmoid(torch.tensor(-200.0)))
    assert not torch.isfinite(naive), "the naive form overflows here, which is the point"


def test_hinge_losses_equal_a_loop_over_the_formula():
    g = torch.Generator().manual_seed(3)
    real, fake = torch.randn(32, generator=g) * 2, torch.randn(32, generator=g) * 2
    want_d = sum(max(0.0, 1 - r) for r in real.tolist()) / 32 + sum(max(0.0, 1 + f) for f in fake.tolist()) / 32
    assert hinge_discriminator_loss(real, fake).item() == pytest.approx(want_d, rel=1e-6)
    assert hinge_generator_loss(fake).item() == pytest.approx(-sum(fake.tolist()) / 32, rel=1e-6, abs=1e-7)
    sure = torch.tensor([5.0, 2.0]), torch.tensor([-3.0, -1.5])
    assert hinge_discriminator_loss(*sure).item() == 0.0, "logits beyond the margin of 1 add nothing"


def test_gan_moving_average_follows_g_and_is_what_it_samples():
    p = profile("quick", device="cpu")
    method, _ = build_method("gan", p, ema=0.9)
    plain, _ = build_method("gan", p, ema=0.0)
    assert plain.generator_ema is None and method.hparams() != plain.hparams()
    with pytest.raises(ValueError, match="ema > 0"):
        plain.sample(2, ema=True)
    before = [q.clone() for q in method.generator_ema.parameters()]
    with torch.no_grad():
        for q in method.generator.parameters():
            q.add_(1.0)
    method.on_step_end(step=1000, total_steps=2000)  # past the warm-up: the decay is ema itself
    for old, now, average in zip(before, method.generator.parameters(), method.generator_ema.parameters()):
        torch.testing.assert_close(average, 0.9 * old + 0.1 * now)
    assert not any(q.requires_grad for q in method.generator_ema.parameters()), "the average is not trained"
    assert all(id(q) not in {id(a) for a in method.generator_ema.parameters()}
               for opt in method.configure_optimizers().values() for group in opt.param_groups for q in group["params"])
    method.eval()
    z = torch.randn(3, method.z_dim)
    with torch.no_grad():
        torch.testing.assert_close(method.sample(3, z), (method.generator_ema(z) + 1) / 2)
        torch.testing.assert_close(method.sample(3, z, ema=False), (method.generator(z) + 1) / 2)


def test_gan_moving_average_forgets_the_first_steps():
    """d = min(ema, (1 + t) / (10 + t)): at step 0 the average moves 90 % of the way to G."""
    method, _ = build_method("gan", profile("quick", device="cpu"), ema=0.999)
    old = next(method.generator_ema.parameters()).clone()
    with torch.no_grad():
        next(method.generator.parameters()).add_(1.0)
    method.on_step_end(step=0, total_steps=10)
    now = next(method.generator.parameters())
    torch.testing.assert_close(next(method.generator_ema.parameters()), 0.1 * old + 0.9 * now)


@pytest.mark.parametrize("loss", ["bce", "hinge"])
def test_gan_steps_with_either_loss(loss, shapes_train):
    torch.manual_seed(0)
    method, _ = build_method("gan", profile("quick", device="cpu"), loss=loss, spectral_norm=True, ema=0.99)
    x = shapes_train.images[:8]
    d_loss, logs = method.training_step(x, None, "discriminator")
    g_loss, _ = method.training_step(x, None, "generator")
    assert torch.isfinite(d_loss) and torch.isfinite(g_loss) and {"d_real", "d_fake"} <= set(logs)
    if loss == "hinge":
        assert d_loss.item() >= 0
    with pytest.raises(ValueError, match="loss must be one of bce, hinge"):
        build_method("gan", profile("quick", device="cpu"), loss="wasserstein")


def test_non_saturating_generator_keeps_its_gradient_when_d_wins():
    fake = torch.full((4,), -8.0, requires_grad=True)  # D is sure these are fake
    (ns,) = torch.autograd.grad(generator_loss(fake, True), fake)
    (sat,) = torch.autograd.grad(generator_loss(fake, False), fake)
    assert ns.abs().mean() > 100 * sat.abs().mean()


@pytest.mark.parametrize("name", METHODS)
def test_every_method_takes_a_training_step(name, shapes_train):
    torch.manual_seed(0)
    p = profile("quick", device="cpu")
    method, recipe = build_method(name, p)
    assert recipe["epochs"] >= 1 and recipe["batch_size"] >= 16
    optimizers = method.configure_optimizers(recipe.get("lr"))
    x, y = shapes_train.images[:16], shapes_train.labels[:16]
    for part, opt in optimizers.items():
        loss, logs = method.training_step(x, y, part)
        assert loss.dim() == 0 and torch.isfinite(loss), f"{name}/{part}"
        opt.zero_grad()
        loss.backward()
        grads = [p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None]
        assert grads and all(torch.isfinite(gr).all() for gr in grads)
        opt.step()
    feats = method.encoder(x.float() / 255)
    assert feats.shape == (16, method.encoder.feature_dim)


def test_inpainting_loss_only_sees_the_hidden_part():
    from sslcourse.methods.inpainting import centre_hidden
    from sslcourse.pretext import center_mask, masked_mse

    g = torch.Generator().manual_seed(3)
    pred, target = torch.rand(2, 3, 8, 8, generator=g), torch.rand(2, 3, 8, 8, generator=g)
    m = center_mask(2, 8, 4)
    shifted = pred + 0.3 * (1 - m)  # the same structure, another mean colour inside the hole
    a, b = masked_mse(*centre_hidden(pred, target, m), m), masked_mse(*centre_hidden(shifted, target, m), m)
    assert a.item() == pytest.approx(b.item(), rel=1e-5), "the structure target ignores the hole's mean colour"


def test_hidden_mean_is_the_mean_over_the_hidden_pixels_of_each_image_and_channel():
    from sslcourse.methods.inpainting import hidden_mean
    from sslcourse.pretext import center_mask

    g = torch.Generator().manual_seed(4)
    x = torch.rand(3, 3, 8, 8, generator=g)
    m = center_mask(3, 8, 4)
    m[2] = 1.0  # nothing hidden in the third image: its mean is 0, not 0/0
    got = hidden_mean(x, m)
    assert got.shape == (3, 3, 1, 1)
    for i in range(2):
        for c in range(3):
            pixels = [x[i, c, r, k].item() for r in range(8) for k in range(8) if m[i, 0, r, k] == 0]
            assert got[i, c, 0, 0].item() == pytest.approx(sum(pixels) / len(pixels), rel=1e-5)
    assert torch.equal(got[2], torch.zeros(3, 1, 1))


def test_rotation_method_predicts_four_classes():
    method, _ = build_method("rotation", profile("quick", device="cpu"))
    assert method(torch.rand(3, 3, 32, 32)).shape == (3, 4)


def test_jigsaw_puzzles_use_the_permutation_of_their_label():
    from sslcourse.pretext import extract_tiles

    torch.manual_seed(4)
    method, _ = build_method("jigsaw", profile("quick", device="cpu"))
    assert method.permutations.shape == (64, 9)
    tiles, labels = method.make_puzzles(torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8))
    assert tiles.shape == (6, 9, 3, 9, 9) and labels.min() >= 0 and labels.max() < 64
    assert method(tiles).shape == (6, 64)


def test_gan_encoder_is_the_discriminator():
    method, _ = build_method("gan", profile("quick", device="cpu"))
    d_params = {id(p) for p in method.discriminator.stages.parameters()}
    assert d_params == {id(p) for p in method.encoder.parameters()}
    assert set(method.configure_optimizers()) == {"discriminator", "generator"}
    assert method.sample(3).shape == (3, 3, 32, 32)


@pytest.mark.parametrize("upsample", ["resize", "transposed"])
def test_gan_generator_upsamples_to_32_in_tanh_range(upsample):
    from sslcourse.models import Generator

    g = Generator(z_dim=16, width=8, upsample=upsample)
    out = g(torch.randn(3, 16))
    assert out.shape == (3, 3, 32, 32) and out.abs().max() <= 1
    transposed = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(transposed) == (4 if upsample == "transposed" else 1), "resize: only the 1×1 -> 4×4 projection"


def test_gan_recipes_resize_and_checkpoints_tell_the_upsampling_apart():
    from sslcourse.methods.gan import RECIPES

    assert all(r["upsample"] == "resize" for r in RECIPES.values()), "the checkerboard fix is every profile's recipe"
    p = profile("quick", device="cpu")
    resize, _ = build_method("gan", p)
    transposed, _ = build_method("gan", p, upsample="transposed")
    assert resize.hparams() != transposed.hparams(), "a checkpoint of one must never resume the other"
    with pytest.raises(ValueError, match="upsample must be 'transposed' or 'resize'"):
        build_method("gan", p, upsample="bilinear")


def test_spectral_norm_discriminator_is_one_lipschitz_per_layer_and_saves_as_an_encoder(tmp_path):
    from sslcourse.models import load_encoder, save_encoder

    torch.manual_seed(0)
    method, _ = build_method("gan", profile("quick", device="cpu"), spectral_norm=True)
    x = torch.rand(4, 3, 32, 32)
    for _ in range(30):  # the power iteration converges as the weights are used in training mode
        method.discriminator(x * 2 - 1)
    method.eval()
    conv = method.discriminator.stages[1][0]
    sigma = torch.linalg.matrix_norm(conv.weight.flatten(1), ord=2)
    assert sigma.item() == pytest.approx(1.0, rel=0.02)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in method.discriminator.modules())
    save_encoder(method.encoder, tmp_path / "d.pt")
    loaded, _ = load_encoder(tmp_path / "d.pt")
    torch.testing.assert_close(loaded(x), method.encoder(x))


def test_lesson_04s_partner_and_entropy_measures_against_their_definitions():
    import torch.nn.functional as F

    from sslcourse.methods.simclr import partner_found, softmax_entropy

    g = torch.Generator().manual_seed(0)
    base = F.normalize(torch.randn(6, 8, generator=g), dim=1)
    z = torch.cat([base, base])  # every view's partner is itself again: found for all 12
    assert partner_found(z.clone()) == 1.0
    assert partner_found(torch.cat([base, base.roll(1, 0)])) == 0.0  # partners shifted by one image
    # a direct loop over the definition: entropy of softmax_k≠i(z_i·z_k / τ), averaged over i
    tau, ent = 0.3, []
    for i in range(len(z)):
        logits = torch.stack([z[i] @ z[k] / tau for k in range(len(z)) if k != i])
        p = logits.softmax(0)
        ent.append(-(p * p.log()).sum())
    assert softmax_entropy(z.clone(), tau) == pytest.approx(torch.stack(ent).mean().item(), abs=1e-5)
    same = F.normalize(torch.ones(6, 8), dim=1)
    assert softmax_entropy(same, 0.05) == pytest.approx(math.log(5), abs=1e-5)  # identical views: uniform


def test_hidden_variation_is_one_for_the_truth_zero_for_a_flat_patch_and_matches_the_direct_formula():
    from sslcourse.methods.inpainting import flat_patch, hidden_mean, hidden_variation
    from sslcourse.pretext import make_mask

    g = torch.Generator().manual_seed(0)
    x, noise = torch.rand(6, 3, 16, 16, generator=g), torch.rand(6, 3, 16, 16, generator=g)
    mask = make_mask("block", 6, 16, 0.25, generator=g)
    assert hidden_variation(x, x, mask) == pytest.approx(1.0)
    assert hidden_variation(flat_patch(x, mask), x, mask) == pytest.approx(0.0, abs=1e-6)
    assert torch.equal(flat_patch(x, mask) * mask, x * mask), "the visible pixels are the image's own"
    hole = (1 - mask[0, 0]).bool()
    assert torch.allclose(flat_patch(x, mask)[0][:, hole], x[0][:, hole].mean(1, keepdim=True).expand(-1, int(hole.sum())))
    hidden = (1 - mask).bool().expand_as(x)  # the slow way: every hidden value around its image's hidden mean
    direct = [((a - hidden_mean(a, mask))[hidden] ** 2).mean() for a in (0.5 * noise, x)]
    assert hidden_variation(0.5 * noise, x, mask) == pytest.approx((direct[0] / direct[1]).item(), rel=1e-5)
