"""Small datasets in the real on-disk formats, for the tests, the smoke runs and the GPU check (no network).

    python tests/datasets.py cifar10 OUT [--train N] [--test N]   # OUT/cifar-10-batches-py/ (torchvision's pickles)
    python tests/datasets.py photos OUT [--n 300]                 # OUT/<class>/NNNN.jpg (an ImageFolder)

The images are real photos — CIFAR-10's, from ``../shared/data/cifar10-full-jpeg.tar.gz`` — where that
archive is present (a developer's machine, a GPU machine it was carried to), and the course's ``shapes``
scenes otherwise (a clean CI clone, a learner's machine): either way the loaders read the real formats.
``cifar10 OUT --train 50000 --test 10000`` from the archive writes all of CIFAR-10 (the GPU check does).
"""
from __future__ import annotations

import argparse
import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

SHARED_CIFAR_JPEG = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-full-jpeg.tar.gz"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def cifar_jpegs(split: str, per_class: int, archive: Path = SHARED_CIFAR_JPEG) -> tuple[np.ndarray, np.ndarray]:
    """The first ``per_class`` images of each class of ``split`` in the JPEG archive: uint8 (N, 32, 32, 3), labels."""
    from PIL import Image

    images, labels, counts = [], [], dict.fromkeys(CIFAR_CLASSES, 0)
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = member.name.split("/")
            if not member.isfile() or len(parts) != 3 or parts[0] != split or counts.get(parts[1], per_class) >= per_class:
                continue
            counts[parts[1]] += 1
            with Image.open(io.BytesIO(tar.extractfile(member).read())) as im:
                images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
            labels.append(CIFAR_CLASSES.index(parts[1]))
            if all(c >= per_class for c in counts.values()):
                break
    return np.stack(images), np.array(labels, dtype=np.int64)


def shapes_images(split: str, n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    from sslcourse.data import load_dataset

    ds = load_dataset("shapes", split)
    return ds.images[:n].permute(0, 2, 3, 1).numpy(), ds.labels[:n].numpy(), list(ds.classes)


def images_for(split: str, n: int, use_archive: bool | None = None, archive: Path = SHARED_CIFAR_JPEG):
    """(uint8 (n, 32, 32, 3), labels, class names, source): CIFAR-10 photos when the archive is there, else shapes."""
    if use_archive is None:
        use_archive = Path(archive).exists()
    if use_archive:
        images, labels = cifar_jpegs(split, -(-n // 10), archive)
        rank = np.array([(labels[:i] == label).sum() for i, label in enumerate(labels)])  # index within its class
        order = np.lexsort((labels, rank))  # classes interleaved: any first n hold every class
        return images[order][:n], labels[order][:n], CIFAR_CLASSES, "CIFAR-10 JPEG archive"
    images, labels, classes = shapes_images(split, n)
    return images, labels, classes, "shapes"


def write_cifar10(root: Path, train: np.ndarray, train_labels, test: np.ndarray, test_labels, classes) -> Path:
    """torchvision's ``cifar-10-batches-py`` layout: five training batches, one test batch, ``batches.meta``;
    each row 3,072 bytes, the R, G, B planes of one 32×32 image."""
    folder = Path(root) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)

    def rows(x):  # (N, 32, 32, 3) -> (N, 3072), planes first
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2)).reshape(len(x), -1)

    for i, (data, labels) in enumerate(zip(np.array_split(rows(train), 5), np.array_split(np.asarray(train_labels), 5))):
        with open(folder / f"data_batch_{i + 1}", "wb") as f:
            pickle.dump({"batch_label": f"training batch {i + 1} of 5", "data": data, "labels": labels.tolist()}, f)
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"batch_label": "testing batch 1 of 1", "data": rows(test), "labels": np.asarray(test_labels).tolist()}, f)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": list(classes), "num_cases_per_batch": len(train) // 5, "num_vis": 3072}, f)
    return folder


def write_photos(root: Path, images: np.ndarray, labels, classes) -> Path:
    """An ImageFolder: ``root/<class>/NNNN.jpg``."""
    from PIL import Image

    root = Path(root)
    for i, (image, label) in enumerate(zip(images, labels)):
        (root / classes[label]).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / classes[label] / f"{i:04d}.jpg", quality=95)
    return root


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["cifar10", "photos"])
    ap.add_argument("out", type=Path)
    ap.add_argument("--train", type=int, default=512, help="cifar10: training images (default 512)")
    ap.add_argument("--test", type=int, default=256, help="cifar10: test images (default 256)")
    ap.add_argument("--n", type=int, default=300, help="photos: images in all (default 300)")
    ap.add_argument("--source", choices=["auto", "archive", "shapes"], default="auto",
                    help="auto (default): the CIFAR-10 JPEG archive where present, else shapes")
    ap.add_argument("--archive", type=Path, default=SHARED_CIFAR_JPEG, help=f"default: {SHARED_CIFAR_JPEG}")
    args = ap.parse_args(argv)
    use_archive = {"auto": None, "archive": True, "shapes": False}[args.source]
    if args.kind == "cifar10":
        if (args.out / "cifar-10-batches-py" / "batches.meta").exists():
            print(f"{args.out} already holds a CIFAR-10 folder")
            return
        train, train_labels, classes, source = images_for("train", args.train, use_archive, args.archive)
        test, test_labels, _, _ = images_for("test", args.test, use_archive, args.archive)
        folder = write_cifar10(args.out, train, train_labels, test, test_labels, classes)
        print(f"wrote {len(train)} + {len(test)} images from {source} to {folder}")
    else:
        if args.out.exists() and any(args.out.iterdir()):
            print(f"{args.out} already holds photos")
            return
        images, labels, classes, source = images_for("train", args.n, use_archive, args.archive)
        write_photos(args.out, images, labels, classes)
        print(f"wrote {len(images)} photos from {source} to {args.out}")


if __name__ == "__main__":
    main()
