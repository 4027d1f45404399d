"""The shared protocol: kNN against a slow reference, probes on separable and random data."""
import pytest
import torch

from sslcourse.evaluate import extract_features, few_label_subset, knn_accuracy, knn_predict, linear_probe
from sslcourse.grading.checks.knn import reference_knn


def clusters(n_per_class=60, classes=5, dim=16, spread=1.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=g) * 6
    y = torch.arange(classes).repeat_interleave(n_per_class)
    return centres[y] + spread * torch.randn(len(y), dim, generator=g), y


def test_knn_agrees_with_the_slow_reference():
    g = torch.Generator().manual_seed(1)
    train, test = torch.randn(80, 8, generator=g), torch.randn(25, 8, generator=g)
    y = torch.randint(0, 4, (80,), generator=g)
    for k, t in ((20, 0.07), (5, 0.5), (80, 1.0)):
        assert torch.equal(knn_predict(train, y, test, k=k, temperature=t), reference_knn(train, y, test, k, t))


def test_knn_is_chunk_size_independent():
    x, y = clusters()
    q = torch.randn(37, 16)
    assert torch.equal(knn_predict(x, y, q, chunk=7), knn_predict(x, y, q, chunk=1024))


def test_near_perfect_on_separable_features():
    xtr, ytr = clusters(seed=0)
    xte, yte = clusters(n_per_class=20, seed=0)
    assert knn_accuracy(xtr, ytr, xte, yte, k=20) > 0.99
    assert knn_accuracy(xtr, ytr, xte, yte, k=(20, 200))[200] > 0.95
    assert linear_probe(xtr, ytr, xte, yte) > 0.99


def test_near_chance_on_random_labels():
    g = torch.Generator().manual_seed(2)
    xtr, xte = torch.randn(2000, 32, generator=g), torch.randn(1000, 32, generator=g)
    ytr, yte = torch.randint(0, 10, (2000,), generator=g), torch.randint(0, 10, (1000,), generator=g)
    assert abs(knn_accuracy(xtr, ytr, xte, yte, k=20) - 0.1) < 0.04
    assert abs(linear_probe(xtr, ytr, xte, yte) - 0.1) < 0.04


def test_linear_probe_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression

    xtr, ytr = clusters(n_per_class=80, spread=5.0, seed=3)
    xte, yte = clusters(n_per_class=40, spread=5.0, seed=4)
    ours = linear_probe(xtr, ytr, xte, yte, l2=1e-3)
    mean, std = xtr.mean(0), xtr.std(0)
    # sklearn minimises C·Σ CE + ½‖W‖² (bias unpenalised); ours mean CE + (l2/2)‖W‖²: C = 1 / (l2·n)
    clf = LogisticRegression(C=1 / (1e-3 * len(xtr)), max_iter=2000, tol=1e-8)
    clf.fit(((xtr - mean) / std).numpy(), ytr.numpy())
    theirs = clf.score(((xte - mean) / std).numpy(), yte.numpy())
    assert ours == pytest.approx(theirs, abs=0.01)


def test_extract_features_restores_the_training_mode():
    from sslcourse.models import SmallConvNet

    net = SmallConvNet((8, 8, 8, 8)).train()
    feats = extract_features(net, torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8), batch_size=4)
    assert feats.shape == (10, 8) and net.training
    assert not feats.requires_grad


def test_features_do_not_depend_on_the_batch_and_the_cpu_extracts_in_small_batches():
    from sslcourse.evaluate import inference_batch_size
    from sslcourse.models import SmallConvNet

    torch.manual_seed(0)
    net = SmallConvNet((8, 8, 8, 8)).eval()
    images = torch.randint(0, 256, (300, 3, 32, 32), dtype=torch.uint8)
    batches = []
    real = net.forward
    net.forward = lambda x, **kw: (batches.append(len(x)), real(x, **kw))[1]
    default = extract_features(net, images)  # the CPU's batch: 128, 128, 44
    assert inference_batch_size("cpu") == 128 and batches == [128, 128, 44]
    assert inference_batch_size("cuda") == 512 and inference_batch_size(torch.device("cuda", 1)) == 512
    torch.testing.assert_close(default, extract_features(net, images, batch_size=512))
    torch.testing.assert_close(default, extract_features(net, images, batch_size=7))


def test_few_label_subset_is_balanced(shapes_train):
    sub = few_label_subset(shapes_train, 0.01)
    assert len(sub) == 100 and torch.bincount(sub.labels).tolist() == [10] * 10


def test_probe_by_stage_probes_each_stage_as_the_protocol_does():
    from sslcourse.data import ImageDataset
    from sslcourse.evaluate import evaluate_encoder, probe_by_stage
    from sslcourse.models import SmallConvNet, build_backbone

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat(30)
    images = torch.randint(0, 256, (120, 3, 32, 32), generator=g, dtype=torch.uint8)
    images[torch.arange(120), labels % 3, :4, :4] //= 2  # a faint class signal: which channel's corner is darker
    data = ImageDataset(images, labels, ["a", "b", "c", "d"], name="toy")
    train, test = data.subset(80, seed=0), data.subset(40, seed=1)
    torch.manual_seed(0)
    nets = {"one": SmallConvNet((8, 8, 8, 8)), "two": SmallConvNet((8, 8, 8, 8))}
    got = probe_by_stage(nets, train, test)
    assert list(got) == ["one", "two"] and all(len(v) == 3 for v in got.values())  # stages 1-3: the first left out
    for name, net in nets.items():
        expected = [evaluate_encoder(net, train, test, stage=k)["linear_probe_accuracy"] for k in (1, 2, 3)]
        assert got[name] == expected and len(set(expected)) > 1  # stages that differ: an off-by-one would show
        assert got[name][-1] == evaluate_encoder(net, train, test)["linear_probe_accuracy"]  # the protocol's
    assert probe_by_stage({"one": nets["one"]}, train, test, stages=[0])["one"] == [
        evaluate_encoder(nets["one"], train, test, stage=0)["linear_probe_accuracy"]]
    with pytest.raises(ValueError, match="same stages"):
        probe_by_stage({"small": nets["one"], "resnet": build_backbone("resnet18_narrow")}, train, test)


def test_the_knn_monitor_scores_a_method_and_a_bare_encoder_alike():
    """A lesson draws the untrained network's level beside the monitor's curve: ``monitor(encoder)`` is what
    ``monitor(method)`` gives for a method with that encoder, on the same neighbours, and what knn_accuracy gives."""
    from types import SimpleNamespace

    from sslcourse.data import ImageDataset
    from sslcourse.evaluate import knn_monitor
    from sslcourse.models import SmallConvNet

    g = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat(30)
    images = torch.randint(0, 256, (120, 3, 32, 32), generator=g, dtype=torch.uint8)
    images[torch.arange(120), labels % 3, :8, :8] //= 4
    data = ImageDataset(images, labels, ["a", "b", "c", "d"], name="toy")
    train, test = data.subset(80, seed=0), data.subset(40, seed=1)
    torch.manual_seed(0)
    net = SmallConvNet((8, 8, 8, 8))
    monitor = knn_monitor(train, test, n_train=50)
    bare, wrapped = monitor(net), monitor(SimpleNamespace(encoder=net))
    bank = train.subset(50)
    expected = knn_accuracy(extract_features(net, bank.images), bank.labels, extract_features(net, test.images),
                            test.labels, k=20)
    assert bare == wrapped == {"knn": expected}
