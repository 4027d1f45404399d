"""The ``sslcourse`` command (also ``python -m sslcourse``).

    sslcourse info                               the profile, device, precision and what a lesson costs
    sslcourse train METHOD|all [--profile quick|gpu|full] [--dataset NAME] [--root PATH] [--epochs N] [--out results.json]
    sslcourse eval CHECKPOINT [--dataset NAME] [--root PATH] [--finetune] [--out results.json]
    sslcourse checkpoints export DIR [--profile P] [--methods a,b]   share trained runs (with a verified manifest)
    sslcourse checkpoints fetch URL_OR_DIR [--methods a,b]          download them into the cache, verified
    sslcourse grade PATH [--json] [--exercise NN] [--timeout S] [--tests BANK_DIR] [--memory GB] [--credit]
    sslcourse grade FOLDER --exercise NN --out gradebook.csv [--jobs N] [--tests BANK_DIR]
    sslcourse new-bank BANK_DIR                    a hidden test bank to start from (secret seeds)
    sslcourse record-course                        record the course's files (grading for credit checks them)
    sslcourse export-otter NN|all OUTDIR          otter-grader assignments (Gradescope)
    sslcourse course [--out build] [--only 00,01]   execute the lessons (what `make run` does)
    sslcourse workspace [DIR] [--fresh 04]         your own copies of the lessons (what `make lab` opens)
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

from .data import atomic_write_text
from .methods import METHODS


def _profile(args):
    from .config import profile

    p = profile(getattr(args, "profile", None), getattr(args, "dataset", None), getattr(args, "device", None),
                getattr(args, "precision", None))
    from . import distributed

    if distributed.launched_by_torchrun():  # torchrun: one process per GPU (or several on the CPU, gloo)
        world = distributed.setup(p.device.split(":")[0])
        if p.device.startswith("cuda"):
            p = p.replace(device=f"cuda:{world.local_rank}")
    if getattr(args, "root", None):
        p = p.replace(root=args.root)
    return p


def cmd_info(args) -> int:
    import torch

    from . import __version__

    from .config import describe_precision

    p = _profile(args)
    print(f"sslcourse {__version__}, torch {torch.__version__}")
    print(p)
    print(f"  {describe_precision(p)}")
    print(f"  {p.name} profile ({p.dataset}, {p.backbone}): {p.budget}")
    shared = os.environ.get("SSLCOURSE_CHECKPOINTS")
    if shared:
        print(f"  shared checkpoints: {shared} (runs that match load instead of training)")
    return 0


def cmd_train(args) -> int:
    from .runs import train_and_evaluate

    from .distributed import current

    p = _profile(args)
    world = current()
    if args.method == "all":
        return _train_all(args, p)
    if world.size > 1:
        print(f"rank {world.rank} of {world.size}: training {args.method}: {p}")
    else:
        print(f"training {args.method}: {p}")
    out = args.out or f"sslcourse-{args.method}-{p.dataset}.json"
    result = train_and_evaluate(args.method, p, epochs=args.epochs, seed=args.seed, checkpoint=args.checkpoint,
                                out=out, train_size=args.train_size, batch_size=args.batch_size,
                                progress=not args.quiet)
    if not world.is_main:
        return 0
    _print_summary(result)
    print(f"results written to {out}; encoder saved to {result['encoder']}")
    return 0


def _train_all(args, p) -> int:
    """Every method with the profile's recipe, one after the other: the leaderboard of lesson 08."""
    from .plots import results_table
    from .runs import train_and_evaluate

    if args.checkpoint:
        raise ValueError("--checkpoint names one file; `train all` keeps one checkpoint per method in the cache")
    out = args.out or f"sslcourse-all-{p.dataset}.json"
    results = {}
    for name in METHODS:
        print(f"\n=== {name}: {p}")
        results[name] = train_and_evaluate(name, p, epochs=args.epochs, seed=args.seed, train_size=args.train_size,
                                           batch_size=args.batch_size, progress=not args.quiet)
        if "knn_accuracy" not in results[name]:  # not rank 0 under torchrun
            continue
        _print_summary(results[name])
        atomic_write_text(Path(out), json.dumps(results, indent=1))  # after every method: a crash keeps the rest
    from .distributed import current

    if not current().is_main:
        return 0
    first = next(iter(results.values()))
    table = {"random init": first["random_init"], **results}
    print("\n" + results_table(table))
    print(f"results written to {out}")
    return 0


def _print_summary(r: dict) -> None:
    rand = r.get("random_init", {})
    print(f"{r['method']} on {r['dataset']} ({r.get('epochs', '-')} epochs, {r.get('seconds', 0):.0f} s):")
    print(f"  kNN accuracy          {100 * r['knn_accuracy']:5.1f} %   (random init {100 * rand.get('knn_accuracy', float('nan')):5.1f} %)")
    print(f"  linear-probe accuracy {100 * r['linear_probe_accuracy']:5.1f} %   "
          f"(random init {100 * rand.get('linear_probe_accuracy', float('nan')):5.1f} %)")
    for key in ("finetune_1pct_accuracy", "finetune_10pct_accuracy"):
        if key in r:
            print(f"  {key.replace('_', ' '):<21} {100 * r[key]:5.1f} %")


def cmd_eval(args) -> int:
    from .data import load_profile_data
    from .evaluate import evaluate_encoder
    from .models import load_encoder
    from .runs import baseline, finetune

    p = _profile(args)
    encoder, meta = load_encoder(args.checkpoint, p.device)
    if not args.dataset and meta.get("dataset"):
        p = p.replace(dataset=meta["dataset"])
    train, test = load_profile_data(p)
    result = {"checkpoint": str(args.checkpoint), "method": meta.get("method", "?"), "dataset": train.name,
              "epochs": meta.get("epochs"), "data": {"train": train.fingerprint, "test": test.fingerprint},
              **evaluate_encoder(encoder, train, test)}
    if meta.get("data") and meta["data"] != train.fingerprint:
        print(f"note: this encoder was trained on other data (fingerprint {meta['data'][:8]}) than the "
              f"{train.name} train split evaluated here ({train.fingerprint[:8]}): a transfer result")
    rand = baseline("random", p, train, test)
    result["random_init"] = {k: rand[k] for k in ("knn_accuracy", "linear_probe_accuracy")}
    if args.finetune:
        for frac in (0.01, 0.1):
            result[f"finetune_{round(frac * 100)}pct_accuracy"] = finetune(encoder, train, test, frac)
    _print_summary(result)
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(result, indent=1))
        print(f"results written to {args.out}")
    return 0


def cmd_grade(args) -> int:
    from .grading.classroom.grade import error_report, grade_path, print_report, protect_grader

    protect_grader()
    signal.signal(signal.SIGTERM, _interrupt)  # a stopped batch kills its workers and keeps what is graded
    path = Path(args.path)
    if path.is_dir() and path.suffix not in (".ipynb", ".py"):
        return _grade_folder(args, path)
    if args.out:
        raise ValueError("--out writes a gradebook for a folder of submissions; give a folder, or drop --out")
    try:
        report = grade_path(path, exercise=args.exercise, timeout=args.timeout, tests=args.tests,
                            memory_gb=args.memory, credit=bool(args.credit or args.tests))
    except (ValueError, OSError) as err:
        if not args.json:
            raise
        report = error_report(path, str(err), args.exercise)
        print(json.dumps(report, indent=1))
        print(f"sslcourse grade: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_report(report)
    return 0 if report.get("error") is None else 2


def cmd_checkpoints(args) -> int:
    from .config import cache_dir
    from .pretrained import copy_tree_note, fetch_all
    from .runs import export_checkpoints

    methods = args.methods.split(",") if args.methods else None
    if args.action == "export":
        p = _profile(args)
        print(f"exporting the trained runs of {', '.join(methods or METHODS)}: {p}")
        manifest = export_checkpoints(p, Path(args.location), methods, seed=args.seed, progress=not args.quiet)
        print(f"manifest written to {manifest}\n{copy_tree_note(Path(args.location))}")
    else:
        folder = cache_dir() / "checkpoints"
        print(f"fetching checkpoints from {args.location} into {folder}")
        paths = fetch_all(args.location, folder, methods)
        print(f"{len(paths)} checkpoint(s) verified: lessons and `sslcourse train` now load them instead of training")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _grade_folder(args, folder: Path) -> int:
    from .grading.classroom.batch import grade_folder

    try:
        reports = grade_folder(folder, exercise=args.exercise, out=args.out, jobs=args.jobs, timeout=args.timeout,
                               tests=args.tests, memory_gb=args.memory, progress=not args.json)
    except KeyboardInterrupt:
        if args.out:
            print(f"stopped: the submissions graded so far are kept in {args.out}.partial; run the same command "
                  "again to grade the rest", file=sys.stderr)
        raise
    if args.json:
        print(json.dumps(reports, indent=1))
    else:
        for r in reports:
            flags = f"  [{'; '.join(r['flags'])}]" if r.get("flags") else ""
            print(f"{r['score']:>3}/{r['max_score']:<3} {r['path']}{flags}")
        if args.out:
            print(f"gradebook written to {args.out} ({len(reports)} submissions)")
    return 0


def cmd_record_course(args) -> int:
    from .grading.classroom.integrity import record

    path = record()
    print(f"the course's files are recorded in {path}: grading for credit checks them against it")
    return 0


def cmd_new_bank(args) -> int:
    from .grading.classroom.bank import new_bank

    written = new_bank(args.folder)
    for p in written:
        print(f"wrote {p}")
    print(f"{len(written)} bank files in {args.folder} (existing ones kept). Keep this folder private; grade with "
          f"`sslcourse grade SUBMISSION --tests {args.folder}`.")
    return 0


def cmd_export_otter(args) -> int:
    from .grading.classroom.otter import export_otter

    for path in export_otter(args.exercise, Path(args.out)):
        print(f"wrote {path}")
    return 0


def cmd_course(args) -> int:
    from .course import run_course

    only = args.only.split(",") if args.only else None
    return run_course(Path(args.out), only=only)


def cmd_workspace(args) -> int:
    from .course import make_workspace

    fresh = args.fresh.split(",") if args.fresh else None
    written = make_workspace(Path(args.dir), fresh)
    print(f"your copy of the course: {Path(args.dir).resolve()} ({len(written)} new file(s); existing ones kept)")
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sslcourse", description="Self-supervised learning course helpers")
    sub = ap.add_subparsers(dest="command", required=True)

    def data_options(p):
        p.add_argument("--profile", choices=["quick", "gpu", "full"], help="default: gpu with CUDA, quick without")
        p.add_argument("--dataset", help="shapes, cifar10, stl10 or folder (default: the profile's)")
        p.add_argument("--root", help="where the dataset lives (an ImageFolder for --dataset folder)")
        p.add_argument("--device", help="cpu, cuda, cuda:N or mps (default: cuda if present)")
        p.add_argument("--precision", choices=["fp32", "bf16", "fp16"],
                       help="default: bf16 where the hardware has it, fp16 on older GPUs, else fp32")

    p = sub.add_parser("info", help="print the profile and device in use")
    data_options(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("train", help="train a method and evaluate it with the shared protocol")
    p.add_argument("method", help=f"one of {', '.join(METHODS)}, or all (the leaderboard of lesson 08)")
    data_options(p)
    p.add_argument("--epochs", type=int, help="default: the profile's recipe")
    p.add_argument("--out", help="results JSON (default: sslcourse-METHOD-DATASET.json)")
    p.add_argument("--checkpoint", help="checkpoint file (default: in the cache); an existing one is resumed")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=_positive_int, help="default: the profile's recipe (the global batch under "
                   "torchrun); a batch larger than the training data becomes the whole data")
    p.add_argument("--train-size", type=_positive_int, help="train on a random subset of this many images")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a saved encoder with the shared protocol")
    p.add_argument("checkpoint", help="an encoder file written by `sslcourse train` (…-encoder.pt)")
    data_options(p)
    p.add_argument("--finetune", action="store_true", help="also fine-tune with 1 %% and 10 %% of the labels")
    p.add_argument("--out", help="results JSON")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("grade", help="grade an exercise notebook (.ipynb) or script (.py), or a folder of them")
    p.add_argument("path", help="a notebook or script, or a folder of submissions (then --out writes a CSV)")
    p.add_argument("--json", action="store_true", help="print the report as JSON (errors too)")
    p.add_argument("--exercise", help="exercise number, e.g. 00 (default: from the file name)")
    p.add_argument("--timeout", type=float, default=60, help="CPU seconds each graded function may use (default 60; 4x that on the clock)")
    p.add_argument("--memory", type=float, default=2.0, help="memory limit of the learner's process in GiB (default 2)")
    p.add_argument("--tests", help="a folder of hidden test banks (bank_NN.py) to add to the public cases")
    p.add_argument("--out", help="folder grading: the CSV gradebook to write")
    p.add_argument("--jobs", type=int, help="folder grading: submissions graded at once (default: CPU cores)")
    p.add_argument("--credit", action="store_true", help="grade one file for credit: refuse unless the learner's "
                   "code can be isolated and the course's files are as installed (a folder or --tests implies it)")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("checkpoints", help="share trained runs: export them with a manifest, or fetch them")
    p.add_argument("action", choices=["export", "fetch"])
    p.add_argument("location", help="export: a folder to write; fetch: the URL or folder of an export")
    data_options(p)
    p.add_argument("--methods", help=f"comma-separated, default all: {','.join(METHODS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_checkpoints)

    p = sub.add_parser("workspace", help="copy the lessons and exercises into your own folder (make lab)")
    p.add_argument("dir", nargs="?", default="my-course")
    p.add_argument("--fresh", help="comma-separated numbers whose copies are replaced, e.g. 04 (the old one is kept)")
    p.set_defaults(func=cmd_workspace)
    p = sub.add_parser("record-course", help="record the hashes of the course's files (make setup does), which "
                       "grading for credit checks")
    p.set_defaults(func=cmd_record_course)

    p = sub.add_parser("new-bank", help="write a hidden test bank to start from (one file per exercise)")
    p.add_argument("folder")
    p.set_defaults(func=cmd_new_bank)

    p = sub.add_parser("export-otter", help="write otter-grader assignments (master notebooks) for Gradescope")
    p.add_argument("exercise", help="exercise number, e.g. 04, or all")
    p.add_argument("out", help="output folder")
    p.set_defaults(func=cmd_export_otter)

    p = sub.add_parser("course", help="execute every lesson into OUT (executed notebooks, HTML, results table)")
    p.add_argument("--out", default="build")
    p.add_argument("--only", help="comma-separated lesson numbers, e.g. 00,04")
    p.set_defaults(func=cmd_course)
    return ap


def main(argv=None) -> int:
    from .distributed import teardown

    args = build_parser().parse_args(argv)
    try:
        if getattr(args, "method", None) is not None and args.method not in METHODS + ("all",):
            raise ValueError(f"unknown method {args.method!r}: choose one of {', '.join(METHODS)}, or all")
        return args.func(args)
    except (ValueError, OSError, RuntimeError, TypeError, FloatingPointError) as err:
        if os.environ.get("SSLCOURSE_DEBUG"):
            raise
        if getattr(args, "json", False):  # --json promises JSON on stdout, errors included
            from .grading.classroom.grade import error_report

            print(json.dumps(error_report(getattr(args, "path", ""), str(err), getattr(args, "exercise", None)),
                             indent=1))
        print(f"sslcourse {args.command}: error: {err}\n(set SSLCOURSE_DEBUG=1 for the full traceback)",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main())
