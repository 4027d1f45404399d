"""fit: the one training loop — resumption, two optimisers, non-finite losses, checkpoints."""
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from sslcourse.data import ImageDataset
from sslcourse.methods.supervised import Supervised
from sslcourse.models import SmallConvNet
from sslcourse.train import CheckpointError, History, Method, cosine_with_warmup, fit


def tiny_data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, 16, 16), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 3, (n,), generator=g)
    return ImageDataset(images, labels, ["a", "b", "c"], "tiny", "train")


def tiny_method(seed=0):
    torch.manual_seed(seed)
    return Supervised(SmallConvNet((8, 8, 8, 8)), num_classes=3)


def state(method):
    return {k: v.clone() for k, v in method.state_dict().items()}


def test_resumed_run_ends_with_the_same_weights(tmp_path):
    data = tiny_data()
    straight = tiny_method()
    fit(straight, data, epochs=4, batch_size=32, progress=False, checkpoint=tmp_path / "a.pt")

    def die_in_epoch_3(method, calls=[]):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the Colab session dies during epoch 3, after epoch 2's checkpoint
        return {}

    with pytest.raises(KeyboardInterrupt):
        fit(tiny_method(), data, epochs=4, batch_size=32, progress=False, checkpoint=tmp_path / "b.pt",
            eval_fn=die_in_epoch_3)
    resumed = tiny_method(seed=123)  # a fresh process: different initial weights, loaded from the checkpoint
    history = fit(resumed, data, epochs=4, batch_size=32, progress=False, checkpoint=tmp_path / "b.pt")

    a, b = state(straight), state(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resuming"
    assert [row["epoch"] for row in history.epochs] == [1, 2, 3, 4], "the history continues across the resume"


def test_a_finished_run_is_not_repeated(tmp_path, capsys):
    data, method = tiny_data(), tiny_method()
    fit(method, data, epochs=1, batch_size=32, progress=False, checkpoint=tmp_path / "c.pt")
    before = state(method)
    again = tiny_method(seed=5)
    history = fit(again, data, epochs=1, batch_size=32, progress=True, checkpoint=tmp_path / "c.pt")
    assert "already trained" in capsys.readouterr().out
    assert all(torch.equal(before[k], v) for k, v in state(again).items())
    assert len(history.epochs) == 1


def test_a_checkpoint_of_another_configuration_is_never_loaded(tmp_path, capsys):
    data, path = tiny_data(), tmp_path / "d.pt"
    fit(tiny_method(), data, epochs=1, batch_size=32, progress=False, checkpoint=path)
    saved = path.read_bytes()
    with pytest.raises(CheckpointError, match=r"(?s)from another run.*batch_size: 32 in the checkpoint vs 16 now.*rm '"):
        fit(tiny_method(), data, epochs=1, batch_size=16, progress=False, checkpoint=path)
    history = fit(tiny_method(), data, epochs=1, batch_size=16, progress=False, checkpoint=path, on_mismatch="fresh")
    assert "this run trains into" in capsys.readouterr().out
    assert history.checkpoint != str(path) and Path(history.checkpoint).exists()
    assert path.read_bytes() == saved, "the other run's checkpoint is kept, not overwritten"
    again = fit(tiny_method(), data, epochs=1, batch_size=16, progress=False, checkpoint=path, on_mismatch="fresh")
    assert again.checkpoint == history.checkpoint and "already trained" in capsys.readouterr().out


def test_a_checkpoint_of_other_data_names_the_data_as_the_difference(tmp_path):
    path = tmp_path / "f.pt"
    fit(tiny_method(), tiny_data(seed=0), epochs=1, batch_size=32, progress=False, checkpoint=path)
    with pytest.raises(CheckpointError, match="data: .* in the checkpoint vs .* now \\(other images or labels\\)"):
        fit(tiny_method(), tiny_data(seed=1), epochs=1, batch_size=32, progress=False, checkpoint=path)


def test_a_method_code_version_bump_invalidates_its_checkpoints(tmp_path):
    path = tmp_path / "g.pt"
    fit(tiny_method(), tiny_data(), epochs=1, batch_size=32, progress=False, checkpoint=path)
    bumped = tiny_method()
    bumped.version = 2  # what a method file does when its code changes what a checkpoint means
    with pytest.raises(CheckpointError, match="method_version: 1 in the checkpoint vs 2 now"):
        fit(bumped, tiny_data(), epochs=1, batch_size=32, progress=False, checkpoint=path)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "not a checkpoint"])
def test_a_damaged_checkpoint_is_named_with_the_command_that_removes_it(tmp_path, damage):
    path = tmp_path / "h.pt"
    fit(tiny_method(), tiny_data(), epochs=1, batch_size=32, progress=False, checkpoint=path)
    good = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00not a zip file" * 100)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        torch.save({"weights": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match=f"(?s){path}.*rm '{path}'"):
        fit(tiny_method(), tiny_data(), epochs=2, batch_size=32, progress=False, checkpoint=path)


class Payload:
    """Unpickling an arbitrary object runs code: checkpoints are read with weights_only=True."""


def test_checkpoints_load_with_weights_only(tmp_path):
    path = tmp_path / "i.pt"
    fit(tiny_method(), tiny_data(), epochs=1, batch_size=32, progress=False, checkpoint=path)
    state = torch.load(path, weights_only=True)  # the format itself is weights-only
    state["history"]["extra"] = Payload()
    torch.save(state, path)
    with pytest.raises(CheckpointError, match="damaged or is not a checkpoint"):
        fit(tiny_method(), tiny_data(), epochs=1, batch_size=32, progress=False, checkpoint=path)


TWO_RUNS = """
import sys, hashlib, torch
sys.path.insert(0, {tests!r})
from test_train import tiny_data, tiny_method
from sslcourse.train import fit
torch.set_num_threads(1)
m = tiny_method()
fit(m, tiny_data(n=512), epochs=6, batch_size=32, progress=False, checkpoint={path!r})
print("weights", hashlib.sha1(b"".join(v.numpy().tobytes() for v in m.state_dict().values())).hexdigest())
"""


def test_two_runs_on_one_checkpoint_at_once_never_corrupt_it(tmp_path):
    """Two processes (two notebook tabs, two terminals) train into the same file at the same time."""
    import subprocess
    import sys

    path = tmp_path / "shared.pt"
    script = TWO_RUNS.format(tests=str(Path(__file__).parent), path=str(path))
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    weights = [next(line for line in out.splitlines() if line.startswith("weights")) for out, _ in outs]
    assert weights[0] == weights[1], "the second run must end with the first run's result, not a mix"
    assert sum("already trained" in out for out, _ in outs) == 1, [o for o, _ in outs]
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 6
    assert not list(tmp_path.glob("*.tmp")), "no temporary file is left behind"


def test_checkpoints_are_written_atomically(tmp_path, monkeypatch):
    """A crash while saving leaves the previous checkpoint intact (write to a temp file, then rename)."""
    data, path = tiny_data(), tmp_path / "e.pt"
    real_save, saves = torch.save, []

    def crash_on_the_second_save(obj, f, *args, **kwargs):
        saves.append(1)
        if len(saves) == 2:
            f.write(b"partial")
            raise OSError("disk full")
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", crash_on_the_second_save)
    with pytest.raises(OSError, match="disk full"):
        fit(tiny_method(), data, epochs=2, batch_size=32, progress=False, checkpoint=path)
    monkeypatch.setattr(torch, "save", real_save)
    assert torch.load(path, weights_only=True)["epoch"] == 1, "epoch 1's checkpoint survives the failed save"
    assert not list(tmp_path.glob("*.tmp")), "the half-written temporary file is removed"


class Diverges(Method):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(1, 1)

    def training_step(self, images, labels, part="main"):
        return self.encoder.weight.sum() * float("nan"), {}


def test_non_finite_loss_stops_with_a_clear_message():
    with pytest.raises(FloatingPointError, match="loss became nan in epoch 1.*Lower the learning rate"):
        fit(Diverges(), tiny_data(), epochs=1, batch_size=32, progress=False)


class TwoPlayers(Method):
    """Two optimisers: 'a' pulls x to 1, 'b' pulls y to -1 — like a GAN's D and G steps."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Identity()
        self.x, self.y = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
        self.calls = []

    def configure_optimizers(self, lr=None, weight_decay=None):
        return {"a": torch.optim.SGD([self.x], lr=0.1), "b": torch.optim.SGD([self.y], lr=0.1)}

    def training_step(self, images, labels, part="main"):
        self.calls.append(part)
        if part == "a":
            loss = (self.x - 1).pow(2).sum()
        else:
            loss = (self.y + 1).pow(2).sum()
        return loss, {f"loss_{part}": loss}


def test_two_optimisers_share_one_loop():
    m = TwoPlayers()
    history = fit(m, tiny_data(), epochs=20, batch_size=32, progress=False, warmup_epochs=0)
    assert m.calls[:4] == ["a", "b", "a", "b"], "each batch steps every optimiser in order"
    assert abs(m.x.item() - 1) < 0.05 and abs(m.y.item() + 1) < 0.05
    assert {"loss_a", "loss_b"} <= set(history.epochs[-1])


def test_history_and_periodic_evaluation():
    calls = []

    def eval_fn(method):
        calls.append(1)
        return {"knn": 0.5}

    history = fit(tiny_method(), tiny_data(), epochs=4, batch_size=32, progress=False, eval_fn=eval_fn,
                  eval_every=2)
    assert len(calls) == 2 and history.last("knn") == 0.5
    assert isinstance(history, History) and len(history.epochs) == 4 and history.steps
    assert {"loss", "lr", "seconds"} <= set(history.epochs[0])


def test_training_lowers_the_loss():
    data = tiny_data(n=64)
    data.labels = (data.images.float().mean((1, 2, 3)) > data.images.float().mean()).long()  # learnable
    history = fit(tiny_method(), data, epochs=15, batch_size=32, progress=False, lr=5e-3)
    first, last = history.epochs[0]["loss"], history.epochs[-1]["loss"]
    assert last < first


def test_cosine_schedule_with_warmup():
    f = cosine_with_warmup(total_steps=100, warmup_steps=10)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(55) == pytest.approx(0.5, abs=1e-6) and f(100) == pytest.approx(0.0, abs=1e-9)
    assert all(f(s) >= f(s + 1) for s in range(10, 100))


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="larger than the dataset"):
        fit(tiny_method(), tiny_data(n=10), epochs=1, batch_size=32, progress=False)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        fit(tiny_method(), (torch.zeros(64, 16, 16, 3, dtype=torch.uint8), torch.zeros(64, dtype=torch.long)),
            epochs=1, batch_size=32, progress=False)


def test_fp16_with_a_gradient_scaler_resumes_exactly(tmp_path):
    """The T4 path: fp16 autocast and a GradScaler whose state is in the checkpoint (run on the CPU here)."""
    data = tiny_data()
    straight = tiny_method()
    fit(straight, data, epochs=3, batch_size=32, progress=False, amp="fp16", checkpoint=tmp_path / "a.pt")
    saved = torch.load(tmp_path / "a.pt", weights_only=True)
    assert saved["scaler"]["scale"] > 0 and "_growth_tracker" in saved["scaler"], "the scaler's state is saved"

    def die_in_epoch_2(method, calls=[]):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return {}

    with pytest.raises(KeyboardInterrupt):
        fit(tiny_method(), data, epochs=3, batch_size=32, progress=False, amp="fp16", checkpoint=tmp_path / "b.pt",
            eval_fn=die_in_epoch_2)
    resumed = tiny_method(seed=7)
    fit(resumed, data, epochs=3, batch_size=32, progress=False, amp="fp16", checkpoint=tmp_path / "b.pt")
    a, b = state(straight), state(resumed)
    for k in a:
        assert torch.equal(a[k], b[k]), f"{k} differs after resuming in fp16"
    assert torch.load(tmp_path / "b.pt", weights_only=True)["scaler"] == saved["scaler"]


def test_the_gradient_scaler_is_on_only_for_fp16():
    from sslcourse.train import grad_scaler

    assert grad_scaler("cpu", "fp16").is_enabled()
    assert not grad_scaler("cpu", "bf16").is_enabled() and not grad_scaler("cpu", None).is_enabled()


class CountsSteps(Method):
    """Logs the number of steps taken so far: the honest curve is a straight line."""

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(1, 1)
        self.n = 0

    def training_step(self, images, labels, part="main"):
        self.n += 1
        return self.encoder.weight.sum() * 0, {"steps_so_far": torch.tensor(float(self.n))}


def test_the_training_curve_is_a_mean_over_each_log_interval_not_a_staircase():
    history = fit(CountsSteps(), tiny_data(n=96), epochs=2, batch_size=16, log_every=2, progress=False)
    xs, ys = history.series("steps_so_far")
    assert ys == [1.5, 3.5, 5.5, 7.5, 9.5, 11.5], "each point is the mean of its own two steps"
    assert [r["step"] for r in history.steps] == [2, 4, 6, 8, 10, 12]
    assert xs == pytest.approx([1 / 3, 2 / 3, 1, 4 / 3, 5 / 3, 2])
    assert [r["steps_so_far"] for r in history.epochs] == [3.5, 9.5], "epoch rows keep the epoch's mean"


class Overflows(Method):
    """Two parts; the "big" part's first loss is so large that its fp16 gradients overflow at the scaler's
    starting scale (2^16): the scaler must skip that part's step, and only that step."""

    schedule = "cosine"

    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 1)
        self.other = nn.Linear(3, 1)
        self.calls = 0

    def configure_optimizers(self, lr=None, weight_decay=None):
        return {"big": torch.optim.SGD(self.encoder.parameters(), lr=1e-3),
                "small": torch.optim.SGD(self.other.parameters(), lr=1e-3)}

    def training_step(self, images, labels, part="main"):
        x = images.float().mean((2, 3)) / 255  # (N, 3)
        if part == "big":
            self.calls += 1
            scale = 1e4 if self.calls == 1 else 1.0  # 1e4 × 2^16 > fp16's largest number, 65504
            return (self.encoder(x).float() * scale).pow(2).mean(), {}
        return self.other(x).float().pow(2).mean(), {}


def test_fp16_skips_only_the_overflowing_step_says_so_and_keeps_the_schedule_in_step(capsys):
    import warnings

    method = Overflows()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = fit(method, tiny_data(64), epochs=2, batch_size=32, progress=False, amp="fp16", lr=1e-3)
    assert history.skipped_steps == 1, "the first step of the overflowing part is skipped, nothing else"
    out = capsys.readouterr().out
    assert "1 of 4 optimiser steps skipped (big): the fp16 gradients overflowed" in out
    assert not [w for w in caught if "lr_scheduler.step()" in str(w.message)], \
        "the schedule must not step before its optimiser did (PyTorch warns when it does)"
    # the skipped part's cosine schedule took 3 of its 4 steps (no warm-up at 2 epochs): it ends at
    # 0.5 (1 + cos(3π/4)) of its rate, not at 0 as it would had it stepped with the skipped step
    assert history.epochs[-1]["lr"] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(3 * math.pi / 4)))


def test_compiled_encoders_train_checkpoint_and_resume(tmp_path):
    """The full profile's compile path (torch.compile of the encoder) through fit and a checkpoint: 'eager'
    runs TorchDynamo's graph capture without the inductor code generation a GPU run would add."""
    from sslcourse.models import build_backbone

    data = tiny_data(64)
    torch.manual_seed(0)
    method = Supervised(build_backbone("resnet18_narrow", seed=0), num_classes=3)
    fit(method, data, epochs=1, batch_size=32, progress=False, compile="eager", checkpoint=tmp_path / "c.pt")
    again = Supervised(build_backbone("resnet18_narrow", seed=1), num_classes=3)
    history = fit(again, data, epochs=1, batch_size=32, progress=False, compile="eager", checkpoint=tmp_path / "c.pt")
    assert history.epochs and all(torch.equal(a, b) for a, b in zip(method.state_dict().values(),
                                                                      again.state_dict().values()))


def _history_with_monitor() -> History:
    """What fit records for a method that logs three numbers per step, with a kNN monitor after each epoch."""
    h = History()
    for step in range(1, 21):
        h.steps.append(dict(epoch=step / 10, step=step, loss=5 - step / 10, positive_similarity=0.5 + step / 100,
                            negative_similarity=0.1))
    for epoch in (1, 2):
        h.epochs.append(dict(epoch=epoch, loss=4.0, positive_similarity=0.6, negative_similarity=0.1, lr=0.1,
                             seconds=1.0, knn=0.3 + epoch / 10))
    return h


def _labels(ax) -> list:
    return [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]


def test_the_history_plot_shows_what_the_evaluation_measured_beside_the_training_curves():
    """The evaluation panel holds the monitor's numbers only (not the epoch means of what the training panel
    draws), accuracies on an axis labelled in %, and an axis label that does not run several names together."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = _history_with_monitor()
    fig = h.plot(["positive_similarity", "negative_similarity"])
    training, evaluation = fig.axes[0], fig.axes[1]
    assert _labels(training) == ["positive similarity", "negative similarity"]  # names, not keys
    assert training.get_ylabel() == "similarity"
    assert _labels(evaluation) == ["kNN accuracy"] and evaluation.get_ylabel() == "accuracy (%)"
    assert list(evaluation.get_lines()[0].get_ydata()) == pytest.approx([40.0, 50.0])
    plt.close(fig)

    fig, (a, b) = plt.subplots(1, 2)
    h.plot(["loss"], ax=a)
    h.plot(ax=b, per="epochs")
    assert _labels(a) == ["loss"] and a.get_ylabel() == "loss"
    assert _labels(b) == ["kNN accuracy"] and b.get_title() == "evaluation (per epoch)"
    plt.close(fig)
    fig, a = plt.subplots()
    h.plot(["loss", "positive_similarity"], ax=a)  # no shared word: the axis names both (lesson 01's loss, hidden_mse)
    assert a.get_ylabel() == "loss / positive similarity"
    plt.close(fig)
    with pytest.raises(ValueError, match="per='step'.*'steps'"):
        h.plot(per="step")


def test_the_per_epoch_panel_ticks_whole_epochs_and_draws_the_untrained_networks_level():
    """Two epochs' evaluations on an axis with no half-epoch ticks, and a reference (the untrained network's kNN)
    as a level on the accuracy axis, named in the legend, in %."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = _history_with_monitor()
    fig, ax = plt.subplots()
    h.plot(ax=ax, per="epochs", reference={"random init": {"knn": 0.21, "fd": 3.0}})
    fig.canvas.draw()
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    assert _labels(ax) == ["kNN accuracy", "random init (kNN accuracy)"]  # fd: no such curve, no level
    level = ax.get_lines()[1]
    assert list(level.get_ydata()) == pytest.approx([21.0, 21.0]) and level.get_linestyle() == ":"
    plt.close(fig)


def test_a_gans_history_plot_names_its_numbers_for_a_reader():
    """The GAN logs loss_d, loss_g, d_real and d_fake: its legends say D's loss, G's loss, D(x) and D(G(z))."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    h = History()
    for step in range(1, 11):
        h.steps.append(dict(epoch=step / 10, step=step, loss_d=1.0, loss_g=0.7, d_real=0.8, d_fake=0.3))
    fig, (a, b) = plt.subplots(1, 2)
    h.plot(["loss_d", "loss_g"], ax=a)
    h.plot(["d_real", "d_fake"], ax=b)
    assert _labels(a) == ["D's loss", "G's loss"] and a.get_ylabel() == "loss"
    assert _labels(b) == ["D(x)", "D(G(z))"] and b.get_ylabel() == "D(x) / D(G(z))"
    plt.close(fig)
