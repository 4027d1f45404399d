"""Sample quality: the Fréchet distance against its closed form, the classifier judge on images it must get right."""
import ast
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from sslcourse.generative import (SampleJudge, as_uint8, checkerboard, density_coverage, frechet_distance,
                                  frechet_distance_of_features, gaussian_statistics, knn_radii, nearest_real,
                                  precision_recall, probe_classifier)

ROOT = Path(__file__).resolve().parents[1]


def random_covariance(d, seed):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    return a @ a.T / d + 0.1 * torch.eye(d, dtype=torch.float64)


def rotation(d, seed):
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q


# ---- the Fréchet distance ----

def test_frechet_distance_of_one_dimensional_gaussians_is_the_closed_form():
    """Between N(μ1, σ1²) and N(μ2, σ2²): d² = (μ1 − μ2)² + (σ1 − σ2)²."""
    for (m1, s1), (m2, s2) in [((0.0, 1.0), (0.0, 1.0)), ((1.0, 2.0), (-0.5, 0.5)), ((3.0, 0.1), (3.0, 4.0))]:
        got = frechet_distance(torch.tensor([m1]), torch.tensor([[s1 ** 2]]), torch.tensor([m2]), torch.tensor([[s2 ** 2]]))
        assert got == pytest.approx((m1 - m2) ** 2 + (s1 - s2) ** 2, rel=1e-9, abs=1e-12)


def test_frechet_distance_of_diagonal_gaussians_sums_over_dimensions():
    """Commuting (diagonal) covariances: d² = ‖μ1 − μ2‖² + Σ_i (√a_i − √b_i)²."""
    f64 = dict(dtype=torch.float64)
    a, b = torch.tensor([1.0, 4.0, 0.25, 9.0], **f64), torch.tensor([4.0, 4.0, 1.0, 0.01], **f64)
    m1, m2 = torch.tensor([0.0, 1.0, 2.0, 3.0], **f64), torch.tensor([1.0, 1.0, 0.0, -3.0], **f64)
    want = ((m1 - m2) ** 2).sum() + ((a.sqrt() - b.sqrt()) ** 2).sum()
    assert frechet_distance(m1, torch.diag(a), m2, torch.diag(b)) == pytest.approx(want.item(), rel=1e-9)


def test_frechet_distance_to_a_rotated_gaussian():
    """Σ1 = I and Σ2 = R diag(λ) Rᵀ: Tr(I + Σ2 − 2 Σ2^{1/2}) = Σ_i (1 − √λ_i)² whatever the rotation R."""
    d = 6
    lam = torch.tensor([0.1, 0.5, 1.0, 2.0, 3.0, 7.0], dtype=torch.float64)
    r = rotation(d, 0)
    sigma2 = r @ torch.diag(lam) @ r.T
    mu = torch.zeros(d, dtype=torch.float64)
    want = ((1 - lam.sqrt()) ** 2).sum().item()
    assert frechet_distance(mu, torch.eye(d, dtype=torch.float64), mu, sigma2) == pytest.approx(want, rel=1e-9)


def test_frechet_distance_of_general_gaussians_matches_scipy_sqrtm():
    """Full covariances that do not commute: against the textbook formula with scipy's matrix square root."""
    scipy_linalg = pytest.importorskip("scipy.linalg")
    d = 8
    s1, s2 = random_covariance(d, 1), random_covariance(d, 2)
    g = torch.Generator().manual_seed(3)
    m1, m2 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    covmean = scipy_linalg.sqrtm(s1.numpy() @ s2.numpy()).real
    want = ((m1 - m2) ** 2).sum().item() + (s1.trace() + s2.trace()).item() - 2 * covmean.trace()
    assert frechet_distance(m1, s1, m2, s2) == pytest.approx(want, rel=1e-8)
    assert frechet_distance(m2, s2, m1, s1) == pytest.approx(want, rel=1e-8), "the distance is symmetric"
    assert frechet_distance(m1, s1, m1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_of_samples_approaches_that_of_their_gaussians():
    d, n = 4, 40_000
    s1, s2 = random_covariance(d, 4), random_covariance(d, 5)
    m1, m2 = torch.zeros(d, dtype=torch.float64), torch.full((d,), 0.5, dtype=torch.float64)
    g = torch.Generator().manual_seed(6)
    x1 = m1 + torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(s1).T
    x2 = m2 + torch.randn(n, d, generator=g, dtype=torch.float64) @ torch.linalg.cholesky(s2).T
    want = frechet_distance(m1, s1, m2, s2)
    assert frechet_distance_of_features(x1.float(), x2.float()) == pytest.approx(want, rel=0.05)


def test_gaussian_statistics_are_the_mean_and_unbiased_covariance():
    x = torch.randn(50, 3, generator=torch.Generator().manual_seed(7))
    mu, sigma = gaussian_statistics(x)
    torch.testing.assert_close(mu, x.double().mean(0))
    torch.testing.assert_close(sigma, torch.cov(x.double().T))


def test_frechet_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"\(N, D\) with N >= 2"):
        gaussian_statistics(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="one D"):
        frechet_distance(torch.zeros(3), torch.eye(3), torch.zeros(4), torch.eye(4))


# ---- precision and recall, density and coverage ----

def reference_precision_recall(real, fake, k):
    """Kynkäänniemi et al. 2019, literally: a point is in a manifold when it lies in some member's k-NN ball."""
    def radius(points, i):
        return sorted(torch.dist(points[i], points[j]).item() for j in range(len(points)) if j != i)[k - 1]

    def inside(x, points):
        return any(torch.dist(x, points[i]).item() <= radius(points, i) for i in range(len(points)))

    return (sum(inside(f, real) for f in fake) / len(fake), sum(inside(r, fake) for r in real) / len(real))


def reference_density_coverage(real, fake, k):
    """Naeem et al. 2020, literally."""
    radii = [sorted(torch.dist(real[i], real[j]).item() for j in range(len(real)) if j != i)[k - 1]
             for i in range(len(real))]
    hits = [[torch.dist(f, real[i]).item() <= radii[i] for i in range(len(real))] for f in fake]
    density = sum(sum(row) for row in hits) / (k * len(fake))
    coverage = sum(any(row[i] for row in hits) for i in range(len(real))) / len(real)
    return density, coverage


def test_precision_recall_density_coverage_equal_loops_over_the_definitions():
    g = torch.Generator().manual_seed(10)
    real, fake = torch.randn(25, 3, generator=g), 0.7 * torch.randn(20, 3, generator=g) + 0.5
    for k in (1, 3, 5):
        got = precision_recall(real, fake, k)
        assert (got["precision"], got["recall"]) == pytest.approx(reference_precision_recall(real, fake, k))
        got = density_coverage(real, fake, k)
        assert (got["density"], got["coverage"]) == pytest.approx(reference_density_coverage(real, fake, k))


def test_a_collapsed_generator_keeps_precision_and_loses_recall():
    g = torch.Generator().manual_seed(11)
    centres = 10 * torch.randn(8, 4, generator=g)  # eight modes
    real = centres.repeat_interleave(50, 0) + torch.randn(400, 4, generator=g)
    every_mode = centres.repeat_interleave(50, 0) + torch.randn(400, 4, generator=g)
    one_mode = centres[:1].repeat(400, 1) + torch.randn(400, 4, generator=g)
    full, collapsed = precision_recall(real, every_mode), precision_recall(real, one_mode)
    assert full["precision"] > 0.8 and full["recall"] > 0.8
    assert collapsed["precision"] > 0.8 and collapsed["recall"] < 0.2
    assert density_coverage(real, one_mode)["coverage"] < 0.2 < 0.8 < density_coverage(real, every_mode)["coverage"]


def test_knn_radii_are_the_distance_to_the_kth_neighbour():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    assert knn_radii(x, 1).tolist() == [1.0, 1.0, 2.0, 4.0]
    assert knn_radii(x, 2).tolist() == [3.0, 2.0, 3.0, 6.0]
    with pytest.raises(ValueError, match="below the number of features"):
        knn_radii(x, 4)


def test_precision_and_recall_rank_real_images_above_noise_and_a_random_generator(shapes_train, shapes_test):
    """In a network's feature space (here a random-init ConvNet: cheap, and enough to tell images apart), held-out
    real images lie on the real images' manifold and cover it; uniform noise and an untrained generator do not."""
    from sslcourse.models import Generator, SmallConvNet

    torch.manual_seed(0)
    n = 300
    encoder = SmallConvNet()
    judge = SampleJudge(encoder, shapes_test.images[:n], encoder=encoder)  # precision, recall, distance: features only
    noise = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(12))
    with torch.no_grad():
        untrained = (Generator(64, 32).eval()(torch.randn(n, 64)) + 1) / 2
    scores = {name: {**judge.manifold(images), "fd": judge.frechet(images)}
              for name, images in {"real": shapes_train.images[:n], "uniform noise": noise,
                                   "a random-init generator": untrained}.items()}
    real = scores.pop("real")
    assert real["precision"] > 0.7 and real["recall"] > 0.7, real
    for name, other in scores.items():
        assert other["precision"] < 0.1 and other["recall"] < 0.1, f"{name}: {other}"
        assert other["fd"] > 10 * real["fd"], f"{name}: {other}"


# ---- the judge ----

class ColourJudge(nn.Module):
    """A stand-in for the supervised model: an image's class is its red level (class c ↔ red = c / 10),
    with confidence set by ``sharpness``; features are the mean colour."""

    def __init__(self, sharpness=50.0):
        super().__init__()
        self.sharpness = sharpness
        self.encoder = MeanColour()

    def forward(self, x):
        x = x.float() / 255 if x.dtype == torch.uint8 else x
        red = x[:, 0].mean((1, 2))  # (N,)
        centres = torch.arange(10, device=x.device) / 10 + 0.05
        return -self.sharpness * (red[:, None] - centres).abs()  # (N, 10) logits


class MeanColour(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))  # a parameter, so that the judge can find its device

    def forward(self, x):
        x = x.float() / 255 if x.dtype == torch.uint8 else x
        return x.mean((2, 3)) * self.scale + 0.01 * x.std((2, 3))


def images_of_classes(classes, n_per_class=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for c in classes:
        img = torch.rand(n_per_class, 3, 8, 8, generator=g)
        img[:, 0] = c / 10 + 0.05 + 0.01 * (torch.rand(n_per_class, 8, 8, generator=g) - 0.5)
        out.append(img)
    return torch.cat(out)


def test_the_judge_counts_recognised_samples_and_the_classes_they_cover():
    real = as_uint8(images_of_classes(range(10), seed=1))
    judge = SampleJudge(ColourJudge(), real)
    every = judge.judge(images_of_classes(range(10)))
    assert every["recognised"] == 1.0 and every["classes_found"] == 10
    assert every["per_class"] == [20] * 10
    collapsed = judge.judge(images_of_classes([3, 3, 3, 7]))
    assert collapsed["classes_found"] == 2, "a generator that draws two classes covers two"
    unsure = SampleJudge(ColourJudge(sharpness=0.1), real).judge(images_of_classes(range(10)))
    assert unsure["recognised"] == 0.0 and unsure["classes_found"] == 0, "nothing is recognised below 0.5"


def test_a_class_needs_a_share_of_the_samples_to_count_as_found():
    judge = SampleJudge(ColourJudge(), as_uint8(images_of_classes(range(10))))
    stray = torch.cat([images_of_classes([1], 199), images_of_classes([2], 1)])  # one sample of class 2 in 200
    assert judge.judge(stray)["classes_found"] == 1
    assert judge.judge(stray, found_share=0.0)["classes_found"] == 2


def test_the_judge_scores_real_images_near_zero_and_a_collapse_far_away():
    real = as_uint8(images_of_classes(range(10), 50, seed=1))
    judge = SampleJudge(ColourJudge(), real)
    same = judge.score(images_of_classes(range(10), 50, seed=2))
    collapsed = judge.score(images_of_classes([4], 500, seed=2))
    assert same["fd"] < 0.1 * collapsed["fd"]
    assert same["classes_found"] == 10 and collapsed["classes_found"] == 1


def test_the_monitor_scores_the_same_noise_every_epoch():
    class Sampler(nn.Module):
        z_dim = 2

        def __init__(self):
            super().__init__()
            self.seen = []

        def sample(self, n, z):
            self.seen.append(z.clone())
            return images_of_classes(range(10), n // 10)

    judge = SampleJudge(ColourJudge(), as_uint8(images_of_classes(range(10))))
    method, monitor = Sampler(), judge.monitor(100)
    first, second = monitor(method), monitor(method)
    assert set(first) == {"fd", "precision", "recall", "recognised", "classes_found"} and first == second
    torch.testing.assert_close(method.seen[0], method.seen[1])


def test_the_probe_classifier_reads_the_encoder_out_like_the_protocol():
    from sslcourse.data import ImageDataset

    classes = list(range(10))
    images = as_uint8(images_of_classes(classes, 30, seed=3))
    train = ImageDataset(images, torch.arange(10).repeat_interleave(30), [str(c) for c in classes], "colours")
    classifier = probe_classifier(ColourJudge(), train)  # its 10 logits serve as features: easy to read out
    test = images_of_classes(classes, 5, seed=4)
    assert classifier(test).shape == (50, 10)
    assert (classifier(test).argmax(1) == torch.arange(10).repeat_interleave(5)).float().mean() > 0.9
    judged = SampleJudge(classifier, images).judge(test)
    assert judged["classes_found"] == 10


def test_the_judge_needs_an_encoder_for_its_features():
    with pytest.raises(ValueError, match="encoder="):
        SampleJudge(nn.Linear(3, 10), torch.zeros(4, 3, 8, 8, dtype=torch.uint8))


# ---- nearest real images, devices, layers ----

def test_nearest_real_finds_a_copied_image():
    real = torch.randint(0, 256, (30, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(8))
    copies = real[[4, 17, 0]].float() / 255
    assert nearest_real(copies, real).tolist() == [4, 17, 0]


def test_nearest_real_and_statistics_stay_on_the_input_device():
    meta = torch.device("meta")
    idx = nearest_real(torch.empty(4, 3, 8, 8, device=meta), torch.empty(6, 3, 8, 8, dtype=torch.uint8, device=meta))
    mu, sigma = gaussian_statistics(torch.empty(10, 5, device=meta))
    assert idx.device == meta and mu.device == meta and sigma.device == meta


def test_generative_is_a_measuring_module():
    """It sits beside the protocol: it may use evaluate, never a method, the loop or a run."""
    tree = ast.parse((ROOT / "sslcourse" / "generative.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert not {m for m in imported if m and m.lstrip(".").split(".")[0] in ("methods", "train", "runs")}
    assert not {m for m in imported if m and m.startswith("sslcourse.") and m.split(".")[1] in ("methods", "train", "runs")}


def test_checkerboard_measures_a_period_two_pattern():
    g = torch.Generator().manual_seed(9)
    noise = torch.rand(64, 3, 16, 16, generator=g)  # white: a flat spectrum
    sign = (-1.0) ** (torch.arange(16)[:, None] + torch.arange(16)[None, :])  # (-1)^(i+j)
    blocky = torch.rand(64, 3, 8, 8, generator=g).repeat_interleave(2, 2).repeat_interleave(2, 3)  # nearest ×2
    assert 0.7 < checkerboard(noise) < 1.3
    assert checkerboard(noise + 0.2 * sign) > 10
    assert checkerboard(blocky) < 1e-6, "nearest-neighbour upsampling has no power at (π, π)"
    with pytest.raises(ValueError, match="even H and W"):
        checkerboard(torch.rand(2, 3, 15, 15, generator=g))
