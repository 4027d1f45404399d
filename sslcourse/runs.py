"""What a run is: one method, its recipe, a profile, a seed — and the data it is trained on.

    run = plan_run("simclr", p, train, seed=0)   # recipe, data fingerprint, checkpoint path
    print(run)                                    # what will train, on what, saved where
    method = run.build()                          # the method, on the profile's device
    history = run.fit(method, train)              # train.fit with the recipe, checkpointed

Everything a run leaves behind is keyed by its **identity** — method, recipe, profile
settings, seed, and the fingerprint of the training data (``ImageDataset.fingerprint``,
a hash of every pixel and label):

* the checkpoint ``<cache>/checkpoints/<method>-<profile>-<dataset>-e<epochs>-s<seed>-<id>.pt``,
  whose ``<id>`` is a hash of the identity, so two image folders of the same size, or
  ``shapes`` after its generator changed, never share a checkpoint; inside, ``fit`` checks
  the full identity again (code versions included) before resuming;
* cached baselines ``<cache>/results/baseline-…-<train fp>-<test fp>-….json``, each holding
  its identity and recomputed when it does not match;
* result JSONs, which record the fingerprints, the run id and the checkpoint.

This module sits above ``methods/``, ``train`` and ``evaluate``: lessons and the command
line call it; it calls them. ``evaluate`` stays the protocol alone (it trains nothing),
and ``methods/`` stay the methods alone (they evaluate nothing).
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from . import distributed, evaluate, pretrained
from .config import Profile, cache_dir, seed_everything, smoke_requested
from .data import ImageDataset, load_profile_data
from .methods import build_method, recipe as method_recipe
from .models import ViT, build_backbone, build_encoder, encoder_spec, save_encoder
from .train import History, fit, identity_hash, locked, read_checkpoint

RUN_FORMAT = 1  # bump when what a run's files mean changes: every cached run is then redone


def fit_settings(profile: Profile, r: dict) -> dict:
    """The ``fit`` keyword arguments of a recipe on a profile."""
    return dict(epochs=r["epochs"], batch_size=r["batch_size"], lr=r.get("lr"), warmup_epochs=r.get("warmup_epochs"),
                device=profile.device, amp=profile.amp, channels_last=profile.channels_last, compile=profile.compile)


@dataclass
class Run:
    """A planned training run (see the module docstring). Make one with :func:`plan_run`."""

    method: str
    profile: Profile
    recipe: dict
    seed: int
    dataset: str
    data: str  # the training data's fingerprint
    checkpoint: Path = field(default=None)
    explicit: bool = False  # the learner named the checkpoint file: a mismatch is an error, not a new file

    @property
    def identity(self) -> dict:
        return {"format": RUN_FORMAT, "method": self.method, "recipe": self.recipe, "seed": self.seed,
                "profile": self.profile.name, "backbone": self.profile.backbone, "amp": self.profile.amp,
                "image_size": self.profile.image_size, "dataset": self.dataset, "data": self.data}

    @property
    def id(self) -> str:
        return identity_hash(self.identity)[:8]

    def fit_kwargs(self) -> dict:
        """Everything ``fit`` needs besides the method and the data."""
        return {**fit_settings(self.profile, self.recipe), "seed": self.seed, "checkpoint": self.checkpoint,
                "on_mismatch": "error" if self.explicit else "fresh", "desc": self.method}

    def build(self, encoder: nn.Module | None = None) -> nn.Module:
        """The method with this run's recipe and seed, on the profile's device."""
        method, _ = build_method(self.method, self.profile, encoder=encoder, seed=self.seed, **self.recipe)
        return method.to(self.profile.device)

    def fit(self, method: nn.Module, data: ImageDataset, **changes) -> History:
        """``train.fit(method, data, **self.fit_kwargs())``, refusing data other than the run's."""
        if getattr(data, "fingerprint", None) != self.data:
            raise ValueError(
                f"this run of {self.method} was planned for {self.dataset} data with fingerprint {self.data}, "
                f"but fit was given {getattr(data, 'name', type(data).__name__)} with fingerprint "
                f"{getattr(data, 'fingerprint', None)}: plan the run with the data you train on")
        return fit(method, data, **{**self.fit_kwargs(), **changes})

    def __str__(self) -> str:
        settings = ", ".join(f"{k}={v}" for k, v in self.recipe.items())
        return (f"run {self.id}: {self.method} on {self.dataset} (data {self.data[:8]}), seed {self.seed}, "
                f"profile {self.profile.name}\n  recipe: {settings}\n  checkpoint: {self.checkpoint}")


def plan_run(name: str, profile: Profile, train: ImageDataset, seed: int = 0, checkpoint=None,
             **overrides) -> Run:
    """The run of method ``name`` on ``train`` with the profile's recipe (``overrides`` change it).

    ``checkpoint``: a file you name (a mismatch with it is then an error) — by default one in
    the cache whose name holds the run's id.
    """
    if not isinstance(train, ImageDataset):
        raise TypeError(f"plan_run needs the training data as an ImageDataset (it is keyed by its fingerprint), "
                        f"got {type(train).__name__}")
    r = method_recipe(name, profile, **overrides)
    world = distributed.current()
    if r["batch_size"] > len(train):  # a small folder of photos, or a learner's subset: sizes come from the data
        whole = len(train) - len(train) % world.size  # the global batch splits evenly over the processes
        if world.is_main:
            print(f"{name}: the recipe's batch of {r['batch_size']} is more than the {len(train)} training images: "
                  f"batches of {whole} (one step per epoch)")
        r["batch_size"] = whole
    run = Run(name, profile, r, seed, train.name, train.fingerprint)
    if checkpoint is not None:
        run.checkpoint, run.explicit = Path(checkpoint), True
    else:
        run.checkpoint = (cache_dir() / "checkpoints"
                          / f"{name}-{profile.name}-{train.name}-e{r['epochs']}-s{seed}-{run.id}.pt")
        if not run.checkpoint.exists() and distributed.current().is_main:
            pretrained.provide(run.id, name, run.checkpoint)  # SSLCOURSE_CHECKPOINTS: a shared one of this run
        distributed.barrier()  # under torchrun, every process sees the same file
    return run


def train_method(name: str, profile: Profile, train: ImageDataset, seed: int = 0, checkpoint=None,
                 progress: bool = True, eval_fn=None, test: ImageDataset | None = None, **overrides):
    """(method, recipe, history): ``name`` trained on ``train`` with the profile's recipe through ``fit`` —
    a finished checkpoint of the same run (a lesson's, or an earlier command's) is loaded instead.

    ``test``: given (and no ``eval_fn``), the run is evaluated after every epoch as its lesson evaluates it
    (:func:`lesson_monitor`), so the checkpoint carries the curves the lesson draws whoever trains it first."""
    run = plan_run(name, profile, train, seed, checkpoint, **overrides)
    method = run.build()
    if eval_fn is None and test is not None:
        eval_fn = lesson_monitor(name, profile, train, test, seed)
    history = run.fit(method, train, progress=progress, eval_fn=eval_fn)
    return method, run.recipe, history


KNN_MONITORED = ("simclr", "moco", "byol")  # lessons 04 and 06 draw kNN accuracy after every epoch
KNN_MONITOR_BANK = 5000  # training images in the monitor's kNN bank


def gan_judge(profile: Profile, train: ImageDataset, test: ImageDataset, seed: int = 0, progress: bool = True,
              **supervised_overrides):
    """Lesson 05's judge of generated images: the linear probe of the supervised run (lesson 00's, loaded or
    trained) on ``train``, with the test split as the real reference (``generative.SampleJudge``)."""
    from .generative import SampleJudge, probe_classifier

    supervised, _, _ = train_method("supervised", profile, train, seed=seed, progress=progress,
                                    **supervised_overrides)
    return SampleJudge(probe_classifier(supervised.encoder, train), test.images)


def gan_scored_samples(train: ImageDataset, test: ImageDataset) -> int:
    """How many samples lesson 05 scores: 1,000, or fewer where a split is smaller."""
    return min(1000, len(train), len(test))


def lesson_monitor(name: str, profile: Profile, train: ImageDataset, test: ImageDataset, seed: int = 0,
                   **overrides):
    """The ``eval_fn`` whose numbers the lesson of ``name`` draws per epoch — kNN accuracy for SimCLR, MoCo
    and BYOL (lessons 04 and 06), the Fréchet distance, precision and recall of 1,000 samples for the GAN
    (lesson 05) — or None where the lesson draws none. Every trainer of a run passes it (the lesson itself,
    lesson 08, ``sslcourse train``, ``checkpoints export``), so a checkpoint shows the same curves whoever
    trained it. The GAN's judge is built at the first evaluation only (a finished checkpoint needs none; under
    torchrun at once, by every process); ``overrides`` (e.g. ``epochs``) apply to its supervised run, as to the command's own runs."""
    if name in KNN_MONITORED:
        return evaluate.knn_monitor(train, test, n_train=KNN_MONITOR_BANK)
    if name != "gan":
        return None

    def judged():
        judge = gan_judge(profile, train, test, seed, progress=False, **overrides)
        return judge.monitor(gan_scored_samples(train, test), seed=seed)

    if distributed.current().size > 1:  # under torchrun every process takes part in the supervised run: now
        return judged()
    monitor = None

    def eval_fn(method) -> dict:
        nonlocal monitor
        if monitor is None:
            monitor = judged()
        return monitor(method)

    return eval_fn


# ---- baselines ----

def _protocol() -> dict:
    return {"knn_temperature": evaluate.KNN_TEMPERATURE, "probe_l2": evaluate.PROBE_L2,
            "probe_steps": evaluate.PROBE_STEPS}


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # missing, half-written by an old version, or edited by hand
        return None


def _write_json(path: Path, data: dict) -> None:
    from .data import atomic_write_text

    atomic_write_text(path, json.dumps(data, indent=1))


def baseline(kind: str, profile: Profile, train: ImageDataset, test: ImageDataset, seed: int = 0,
             epochs: int | None = None, progress: bool = True, architecture: dict | None = None) -> dict:
    """Protocol results of a ``"random"`` (untrained) or ``"supervised"`` encoder, cached per identity.

    ``architecture``: for ``"random"``, another encoder than the profile's backbone, as ``models.encoder_spec``
    describes it (MAE's ViT is measured against a random ViT of its own size).

    The supervised baseline trains the same backbone with all labels (crop + flip augmentation,
    the ``supervised`` recipe of the profile) through ``fit``, with the checkpoint lesson 00 uses.
    The cache file is keyed by both splits' fingerprints and holds the full identity; a file
    whose identity differs is recomputed, never reused.
    """
    if kind not in ("random", "supervised"):
        raise ValueError(f"unknown baseline {kind!r}: use 'random' or 'supervised'")
    if architecture is not None and kind != "random":
        raise ValueError("architecture= is for the random-init baseline; the supervised one trains the "
                         "profile's backbone")
    identity = {"format": RUN_FORMAT, "kind": kind, "backbone": profile.backbone, "seed": seed,
                "train": train.fingerprint, "test": test.fingerprint, "protocol": _protocol()}
    if architecture is not None:
        identity["architecture"] = dict(architecture)
    run = None
    if kind == "supervised":
        run = plan_run("supervised", profile, train, seed, epochs=epochs)
        identity["run"] = run.identity
    arch = architecture["kind"] if architecture is not None else profile.backbone
    key = (f"baseline-{kind}-{arch}-{train.name}-{train.fingerprint[:8]}-{test.fingerprint[:8]}"
           f"-s{seed}-{identity_hash(identity)[:8]}")
    path = cache_dir() / "results" / f"{key}.json"
    saved = _read_json(path)
    if saved is not None and saved.get("identity") == identity:
        return saved
    t0 = time.perf_counter()
    if run is None and architecture is not None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the same weights as models.build_vit(seed=seed, ...) of that size
            encoder = build_encoder(architecture).to(profile.device)
    elif run is None:
        encoder = build_backbone(profile.backbone, seed=seed).to(profile.device)
    else:
        method = run.build()
        run.fit(method, train, progress=progress, desc="supervised baseline")
        encoder = method.encoder
    result = {"method": kind, "train_seconds": time.perf_counter() - t0,
              **evaluate.evaluate_encoder(encoder, train, test), "identity": identity}
    _write_json(path, result)
    return result


def random_init_baseline(encoder: nn.Module, profile: Profile, train: ImageDataset, test: ImageDataset,
                         seed: int = 0) -> dict:
    """The random-init reference of a trained ``encoder``: the profile's backbone, untrained — or, for a ViT
    (MAE trains one, not the profile's backbone), an untrained ViT of the same size."""
    own = encoder_spec(encoder) if isinstance(encoder, ViT) else None
    return baseline("random", profile, train, test, seed=seed, architecture=own)


# ---- few labels ----

FINETUNE_STEPS = 300
SMOKE_FINETUNE_STEPS = 3  # SSLCOURSE_SMOKE=1: the code path, not the result


def finetune(encoder: nn.Module, train: ImageDataset, test: ImageDataset, fraction: float = 0.1,
             steps: int | None = None, lr: float = 1e-3, batch_size: int = 64, seed: int = 0,
             amp=None, progress: bool = False, details: bool = False, head_init: str = "probe",
             layer_decay: float | None = None, cache: bool = True):
    """Fine-tune a copy of ``encoder`` with a linear head on ``fraction`` of the labels; its test accuracy.

    Fixed recipe: crop + flip augmentation, AdamW (lr 1e-3, wd 5e-4), cosine schedule, batch 64 (or the
    whole subset if smaller), about ``steps`` optimisation steps whatever the fraction — the same compute
    for 1 % and 10 % of the labels, enough for the training loss to level off on ``shapes`` (lesson 08
    checks it). ``head_init="probe"`` (the default) starts the head as the protocol's linear probe fit on the
    same labelled images (LP-FT, Kumar et al. 2022): fine-tuning then starts from the frozen probe's answer,
    instead of a random head whose first gradients scramble the pretrained features; ``"random"`` starts
    from a fresh head. ``details=True`` returns a dict with the train accuracy on the labelled subset, the
    per-epoch training loss and the accuracy of the starting point (the probe's head, before fine-tuning).
    ``layer_decay`` (a ViT's fine-tuning, as in MAE): each layer below the top learns ``layer_decay`` times
    slower than the one above it.

    ``cache``: the result is kept in the cache, keyed by every weight of ``encoder``, both datasets'
    fingerprints and every setting above, with the random-number state the run left behind — so lesson 08
    reuses lesson 07's fine-tunes of the same ViTs, and a re-run gets the same numbers and the same random
    draws afterwards as a run that trained (``cache=False`` always trains).
    """
    if head_init not in ("probe", "random"):
        raise ValueError(f"head_init must be 'probe' or 'random', got {head_init!r}")
    if steps is None:
        steps = SMOKE_FINETUNE_STEPS if smoke_requested() else FINETUNE_STEPS
    settings = dict(fraction=fraction, steps=steps, lr=lr, batch_size=batch_size, seed=seed, amp=amp,
                    details=details, head_init=head_init, layer_decay=layer_decay)
    if not cache:
        return _finetune(encoder, train, test, progress=progress, **settings)
    identity = {"format": RUN_FORMAT, "kind": "finetune", "encoder": _weights_hash(encoder),
                "train": train.fingerprint, "test": test.fingerprint, "protocol": _protocol(),
                "device": train.images.device.type, "torch": str(torch.__version__),
                **{k: (str(v) if k == "amp" else v) for k, v in settings.items()}}
    path = (cache_dir() / "results" / f"finetune-{train.name}-{round(fraction * 100)}pct-s{seed}-"
            f"{identity_hash(identity)}.pt")
    with locked(path, f"fine-tune {fraction:.0%}"):  # a second process asking for it waits, then reads it
        saved = _read_saved(path)
        if saved is not None and saved.get("identity") == identity:
            _set_rng_states(saved["rng"])
            return saved["result"]
        result = _finetune(encoder, train, test, progress=progress, **settings)
        from .data import atomic_save

        atomic_save({"identity": identity, "result": result, "rng": _rng_states()}, path)
    return result


def _finetune(encoder, train, test, fraction, steps, lr, batch_size, seed, amp, details, head_init, layer_decay,
              progress):
    from .methods.supervised import Supervised

    subset = evaluate.few_label_subset(train, fraction, seed)
    bs = min(batch_size, len(subset))
    epochs = max(1, round(steps / (len(subset) // bs)))
    model = Supervised(copy.deepcopy(encoder), num_classes=len(train.classes),
                       layer_decay=layer_decay).to(subset.images.device)
    if head_init == "probe":
        _init_head_from_probe(model, subset)
    start = evaluate.accuracy(model, test) if details else None
    history = fit(model, subset, epochs, batch_size=bs, lr=lr, seed=seed, amp=amp, progress=progress,
                  desc=f"fine-tune {fraction:.0%}")
    test_accuracy = evaluate.accuracy(model, test)
    if not details:
        return test_accuracy
    return {"test_accuracy": test_accuracy, "train_accuracy": evaluate.accuracy(model, subset),
            "start_accuracy": start, "steps": epochs * (len(subset) // bs),
            "loss": [row["loss"] for row in history.epochs]}


def _weights_hash(module: nn.Module) -> str:
    """Every parameter and buffer of ``module`` (names, shapes, dtypes, values) and its class, hashed."""
    from .data.files import content_hash

    parts = [type(module).__qualname__]
    for name, t in module.state_dict().items():
        t = t.detach().cpu().contiguous().reshape(-1)
        parts += [name, tuple(t.shape), str(t.dtype), memoryview(t.view(torch.uint8).numpy()).cast("B")]
    return content_hash(*parts)


def _read_saved(path: Path) -> dict | None:
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # missing, half-written by an old version, or not ours: train instead
        return None


def _rng_states() -> dict:
    states = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def _set_rng_states(states: dict) -> None:
    torch.set_rng_state(states["cpu"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def _init_head_from_probe(model: nn.Module, subset: ImageDataset) -> None:
    """Set ``model.classifier`` to the protocol's linear probe of the frozen features of ``subset``, with the
    probe's standardisation folded in: W (x − μ) / σ + b = (W / σ) x + (b − (W / σ) μ)."""
    features = evaluate.extract_features(model.encoder, subset.images)
    labels = subset.labels.to(features.device)
    _, (head, mean, std) = evaluate.linear_probe(features, labels, features, labels, return_model=True)
    weight = head.weight / std  # (classes, D)
    with torch.no_grad():
        model.classifier.weight.copy_(weight)
        model.classifier.bias.copy_(head.bias - weight @ mean)


# ---- the whole run, as the command line does it ----

def train_and_evaluate(name: str, profile: Profile, epochs: int | None = None, seed: int = 0, checkpoint=None,
                       out=None, train_size: int | None = None, batch_size: int | None = None,
                       progress: bool = True) -> dict:
    """Train ``name`` on the profile's data through ``fit``, evaluate it and the random-init
    encoder with the shared protocol, save the encoder, and return (and write) the results."""
    seed_everything(seed)
    train, test = load_profile_data(profile, train_size)
    run = plan_run(name, profile, train, seed, checkpoint, epochs=epochs, batch_size=batch_size)
    t0 = time.perf_counter()
    method = run.build()
    history = run.fit(method, train, progress=progress,  # the GAN's judge: the supervised run of this command
                      eval_fn=lesson_monitor(name, profile, train, test, seed, epochs=epochs, batch_size=batch_size))
    seconds = time.perf_counter() - t0
    world = distributed.current()
    if not world.is_main:  # under torchrun, rank 0 evaluates and writes; the others are done
        return {"method": name, "rank": world.rank}
    result = {
        "method": name, "profile": profile.name, "dataset": train.name, "backbone": profile.backbone,
        "epochs": run.recipe["epochs"], "seconds": seconds, "device": profile.device,
        "world_size": world.size, "global_batch": run.recipe["batch_size"],
        "per_process_batch": run.recipe["batch_size"] // world.size,
        "torch": torch.__version__, "recipe": run.recipe, "seed": seed, "run_id": run.id,
        "data": {"train": train.fingerprint, "test": test.fingerprint, "train_size": len(train),
                 "test_size": len(test)},
        "checkpoint": history.checkpoint,
        **evaluate.evaluate_encoder(method.encoder, train, test),
    }
    rand = random_init_baseline(method.encoder, profile, train, test, seed)
    result["random_init"] = {k: rand[k] for k in ("knn_accuracy", "linear_probe_accuracy")}
    result["random_init_knn_accuracy"] = rand["knn_accuracy"]
    result["random_init_linear_probe_accuracy"] = rand["linear_probe_accuracy"]
    trained_into = Path(history.checkpoint)
    encoder_path = trained_into.with_name(trained_into.stem + "-encoder.pt")
    save_encoder(method.encoder, encoder_path, method=name, dataset=train.name, profile=profile.name,
                 epochs=run.recipe["epochs"], run_id=run.id, data=train.fingerprint)
    result["encoder"] = str(encoder_path)
    result["history"] = history.epochs
    if out:
        _write_json(Path(out), result)
    return result


# ---- sharing trained runs ----

def export_checkpoints(profile: Profile, folder, methods=None, seed: int = 0, train_missing: bool = True,
                       progress: bool = True) -> Path:
    """Write the trained runs of ``methods`` (all of them by default) on the profile's data into
    ``folder`` with a manifest (``sslcourse.pretrained``): the final weights and history only
    (no optimiser state), each with its run id, recipe, data fingerprints and protocol metrics.
    Runs not trained yet are trained first (``train_missing``), as ``sslcourse train all`` would."""
    from .data import atomic_save
    from .methods import METHODS

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    train, test = load_profile_data(profile)
    entries = []
    for name in methods or METHODS:
        run = plan_run(name, profile, train, seed)
        if not run.checkpoint.exists() and not train_missing:
            raise FileNotFoundError(f"{name} has no trained checkpoint for this run ({run.checkpoint}): "
                                    f"train it first (sslcourse train {name} --profile {profile.name})")
        method = run.build()
        history = run.fit(method, train, progress=progress)
        state = read_checkpoint(history.checkpoint)
        if state["epoch"] < run.recipe["epochs"]:
            raise RuntimeError(f"{history.checkpoint} is not finished ({state['epoch']} of {run.recipe['epochs']} "
                               "epochs): run the training to the end first")
        shared = {k: state[k] for k in ("identity", "fingerprint", "epoch", "method", "history")}
        file = Path(history.checkpoint).name
        atomic_save(shared, folder / file)
        metrics = evaluate.evaluate_encoder(method.encoder, train, test)
        entries.append({"file": file, "method": name, "run_id": run.id, "recipe": run.recipe, "seed": seed,
                        "profile": profile.name, "dataset": train.name, "backbone": profile.backbone,
                        "data": {"train": train.fingerprint, "test": test.fingerprint},
                        "metrics": {k: v for k, v in metrics.items() if k != "eval_seconds"},
                        "torch": torch.__version__})
        if progress:
            print(f"  {name:<11} kNN {100 * metrics['knn_accuracy']:5.1f} %  linear "
                  f"{100 * metrics['linear_probe_accuracy']:5.1f} %  -> {folder / file}")
    return pretrained.write_manifest(folder, entries)
