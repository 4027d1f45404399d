import pytest
import torch

from sslcourse.models import (Decoder, Discriminator, DiscriminatorEncoder, Generator, ResNet18, SmallConvNet,
                              build_backbone, linear_head, projection_mlp)


def test_small_convnet_shapes_and_stages():
    net = SmallConvNet()
    x = torch.rand(4, 3, 32, 32)
    assert net(x).shape == (4, net.feature_dim) == (4, 192)
    sizes = [net.forward_features(x, stage=k).shape[-1] for k in range(4)]
    assert sizes == [32, 16, 8, 4], "each stage halves the resolution; the last map is 4×4, not 1×1"
    assert net(x, stage=1).shape == (4, net.stage_dims[1])


def test_uint8_and_float_inputs_agree():
    net = SmallConvNet().eval()
    x = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    torch.testing.assert_close(net(x), net(x.float() / 255))


def test_resnet18_is_the_cifar_variant():
    net = ResNet18().eval()
    x = torch.rand(2, 3, 32, 32)
    assert net(x).shape == (2, 512) and net.feature_dim == 512
    assert net.forward_features(x).shape[-1] == 4, "3×3 stem without max-pool: 32 -> 4 at the end"
    assert net.stages[0][0].kernel_size == (3, 3) and net.stages[0][0].stride == (1, 1)


def test_build_backbone_is_seeded_and_checks_names():
    a, b = build_backbone(seed=1), build_backbone(seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="unknown backbone 'vgg'.*small_convnet, resnet18"):
        build_backbone("vgg")


def test_wrong_input_shape_is_a_clear_error():
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\), got shape \(32, 32, 3\)"):
        SmallConvNet()(torch.rand(32, 32, 3))


def test_heads_and_decoder():
    assert projection_mlp(192, 512, 128)(torch.rand(8, 192)).shape == (8, 128)
    assert linear_head(192, 10)(torch.rand(8, 192)).shape == (8, 10)
    dec = Decoder(192, in_size=4, out_size=32)
    out = dec(torch.rand(2, 192, 4, 4))
    assert out.shape == (2, 3, 32, 32) and out.min() >= 0 and out.max() <= 1


def test_dcgan_pair_shapes_and_ranges():
    g, d = Generator(z_dim=64), Discriminator()
    fake = g(torch.randn(5, 64))
    assert fake.shape == (5, 3, 32, 32) and fake.min() >= -1 and fake.max() <= 1
    assert d(fake).shape == (5,)
    enc = DiscriminatorEncoder(d)
    assert enc(torch.rand(5, 3, 32, 32)).shape == (5, enc.feature_dim)
    assert enc.stages is d.stages, "the encoder shares the discriminator's weights"
