"""Real-dataset loaders on tiny files written in the real on-disk formats (no network)."""
import pickle
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from sslcourse.data import load_dataset
from sslcourse.data.real import DatasetNotFoundError

SHARED_CIFAR_JPEG = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10-full-jpeg.tar.gz"
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar10(root: Path, per_batch: int = 6) -> np.ndarray:
    """The python-pickle layout of cifar-10-python.tar.gz: rows of 3072 bytes, R then G then B planes."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    test_data = None
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = list(rng.integers(0, 10, per_batch))
        with open(folder / name, "wb") as f:
            pickle.dump({"data": data, "labels": labels, "batch_label": name}, f)
        test_data = data if name == "test_batch" else test_data
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CIFAR_CLASSES, "num_cases_per_batch": per_batch}, f)
    return test_data


def test_cifar10_reads_the_pickle_format(tmp_path):
    raw = write_cifar10(tmp_path)
    train = load_dataset("cifar10", "train", root=tmp_path, download=False)
    test = load_dataset("cifar10", "test", root=tmp_path, download=False)
    assert train.images.shape == (30, 3, 32, 32) and train.images.dtype == torch.uint8
    assert test.classes == CIFAR_CLASSES
    # pixel (row 0, col 1) of the red plane is byte 1 of the row; of the green plane, byte 1024 + 1
    assert test.images[0, 0, 0, 1] == raw[0, 1] and test.images[0, 1, 0, 1] == raw[0, 1024 + 1]


def test_cifar10_offline_gives_one_clear_error(tmp_path, monkeypatch):
    import torchvision.datasets.utils as tvu

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tvu, "download_and_extract_archive", offline)
    with pytest.raises(DatasetNotFoundError) as err:
        load_dataset("cifar10", "train", root=tmp_path)
    msg = str(err.value)
    assert "could not be downloaded" in msg and str(tmp_path) in msg
    assert "cifar-10-python.tar.gz" in msg and "load_dataset('shapes')" in msg


def test_missing_files_without_download(tmp_path):
    with pytest.raises(DatasetNotFoundError, match="(?s)files missing.*downloads are off.*load_dataset..shapes"):
        load_dataset("cifar10", "test", root=tmp_path, download=False)


def write_stl10(root: Path, n: int = 4) -> np.ndarray:
    """stl10_binary/: uint8 images stored column-major (3, 96, 96) per image, labels 1..10."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    images = np.zeros((n, 3, 96, 96), dtype=np.uint8)
    images[:, 0, :48, :] = 255  # top half red: orientation must survive the column-major read
    for split in ("train", "test"):
        images.transpose(0, 1, 3, 2).tofile(folder / f"{split}_X.bin")
        np.arange(1, n + 1, dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    images[:2].transpose(0, 1, 3, 2).tofile(folder / "unlabeled_X.bin")
    (folder / "class_names.txt").write_text("\n".join(
        ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]))
    return images


def test_stl10_reads_the_binary_format_and_resizes(tmp_path):
    write_stl10(tmp_path)
    ds = load_dataset("stl10", "train", root=tmp_path, download=False, image_size=32)
    assert ds.images.shape == (4, 3, 32, 32)
    assert ds.labels.tolist() == [0, 1, 2, 3]  # 1..10 on disk
    red = ds.images[0, 0].float()
    assert red[:14].mean() > 250 and red[-14:].mean() < 5, "rows and columns swapped"
    unlabeled = load_dataset("stl10", "unlabeled", root=tmp_path, download=False)
    assert unlabeled.labels.tolist() == [-1, -1]


def test_stl10_keeps_full_resolution_when_asked(tmp_path):
    write_stl10(tmp_path)
    assert load_dataset("stl10", "test", root=tmp_path, download=False, image_size=96).images.shape[-1] == 96


def write_folder(root: Path, sizes=((40, 30), (64, 64))):
    for c, color in (("cats", (255, 0, 0)), ("dogs", (0, 0, 255))):
        (root / c).mkdir(parents=True)
        for k in range(5):
            Image.new("RGB", sizes[k % len(sizes)], color).save(root / c / f"{k}.png")


def test_image_folder_resizes_and_splits(tmp_path):
    write_folder(tmp_path)
    train = load_dataset("folder", "train", root=tmp_path)
    test = load_dataset("folder", "test", root=tmp_path)
    assert train.classes == ["cats", "dogs"]
    assert train.images.shape[1:] == (3, 32, 32) and len(train) + len(test) == 10 and len(test) == 2
    cats = train.images[train.labels == 0].float()
    assert cats[:, 0].mean() > 250 and cats[:, 2].mean() < 5


def test_image_folder_with_split_folders(tmp_path):
    write_folder(tmp_path / "train")
    write_folder(tmp_path / "test")
    assert len(load_dataset("folder", "test", root=tmp_path, image_size=16)) == 10


def test_image_folder_errors_name_the_fix(tmp_path):
    with pytest.raises(ValueError, match="needs root="):
        load_dataset("folder")
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        load_dataset("folder", root=tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="one sub-folder per class"):
        load_dataset("folder", root=tmp_path / "empty")


def test_unknown_dataset_and_split():
    with pytest.raises(ValueError, match="valid datasets are shapes, cifar10, stl10, folder"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="valid splits are train, test"):
        load_dataset("shapes", "val")


def test_wrong_image_shapes_get_one_clear_error():
    from sslcourse.data import ImageDataset

    with pytest.raises(ValueError, match="channels-last.*permute"):
        ImageDataset(torch.zeros(4, 32, 32, 3, dtype=torch.uint8), torch.zeros(4, dtype=torch.int64), ["a"])
    with pytest.raises(ValueError, match="must be uint8"):
        ImageDataset(torch.zeros(4, 3, 32, 32), torch.zeros(4, dtype=torch.int64), ["a"])


@pytest.mark.skipif(not SHARED_CIFAR_JPEG.exists(), reason="../shared/data/cifar10-full-jpeg.tar.gz is absent")
def test_real_cifar10_photos_load_as_an_image_folder(tmp_path):
    per_class = {}
    with tarfile.open(SHARED_CIFAR_JPEG) as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and parts[0] == "test" and per_class.get(parts[1], 0) < 20:
                per_class[parts[1]] = per_class.get(parts[1], 0) + 1
                tar.extract(member, tmp_path, filter="data")
            if len(per_class) == 10 and all(v == 20 for v in per_class.values()):
                break
    ds = load_dataset("folder", "test", root=tmp_path, image_size=32)
    assert ds.classes == CIFAR_CLASSES and len(ds) == 200
    assert ds.images.float().std() > 30, "real photos have contrast"


def test_image_folder_is_cached_until_a_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    write_folder(tmp_path / "imgs")
    first = load_dataset("folder", "train", root=tmp_path / "imgs")
    assert list((tmp_path / "cache").glob("folder-*.pt")), "decoded images should be cached"
    again = load_dataset("folder", "train", root=tmp_path / "imgs")
    assert torch.equal(first.images, again.images)
    Image.new("RGB", (64, 64), (0, 255, 0)).save(tmp_path / "imgs" / "cats" / "0.png")
    changed = load_dataset("folder", "train", root=tmp_path / "imgs")
    assert not torch.equal(first.images, changed.images), "a changed file must not be served from the cache"


# ---- real photo collections have broken files ----

def write_bad_folder(root: Path):
    """Good images, and every kind of bad file a real collection has."""
    import io

    for c, colour in (("cats", (200, 30, 30)), ("dogs", (30, 30, 200))):
        (root / c).mkdir(parents=True)
        for k in range(6):
            Image.new("RGB", (20, 20), colour).save(root / c / f"good{k}.png")
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 10)).save(buf, "JPEG")
    (root / "cats" / "truncated.jpg").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    (root / "cats" / "notes.jpg").write_text("this is a text file named like a photo\n")
    (root / "dogs" / "empty.jpg").write_bytes(b"")
    Image.new("CMYK", (20, 20), (0, 255, 255, 0)).save(root / "dogs" / "cmyk.jpg")  # red in CMYK
    gray16 = np.full((20, 20), 40000, dtype=np.uint16)  # 40000 / 65535 of full scale: 156 in 8 bits
    Image.fromarray(gray16).save(root / "dogs" / "gray16.png")
    (root / "zebras").mkdir()  # a class folder left empty


def test_a_folder_with_bad_images_loads_with_one_warning_that_counts_and_names_them(tmp_path, monkeypatch):
    from sslcourse.data.real import BadImagesWarning

    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    write_bad_folder(tmp_path / "photos")
    (tmp_path / "photos" / "train").mkdir()
    import shutil

    for c in ("cats", "dogs", "zebras"):
        shutil.move(str(tmp_path / "photos" / c), str(tmp_path / "photos" / "train" / c))
    with pytest.warns(BadImagesWarning) as caught:
        ds = load_dataset("folder", "train", root=tmp_path / "photos")
    messages = [str(w.message) for w in caught]
    skipped = next(m for m in messages if m.startswith("skipped"))
    assert "skipped 3 unreadable image(s) of 17" in skipped
    for name in ("truncated.jpg", "notes.jpg", "empty.jpg"):
        assert name in skipped, f"{name} is not named in: {skipped}"
    assert "truncated" in skipped and "not an image" in skipped and "empty file" in skipped
    assert "strict=True" in skipped, "the warning says how to fail instead"
    assert any("'zebras'" in m for m in messages), "the empty class folder is reported by name"
    assert ds.classes == ["cats", "dogs", "zebras"] and len(ds) == 14
    names = sorted(p.name for p in (tmp_path / "photos" / "train").rglob("*") if p.is_file())
    assert len(names) == 17
    cmyk = ds.images[ds.labels == 1].float().mean((2, 3))
    assert (cmyk[:, 0] > 200).sum() == 1, "the CMYK image decodes to red"
    gray = ds.images[ds.labels == 1]
    assert ((gray.float() - 156).abs() <= 1).all(dim=(1, 2, 3)).sum() == 1, "the 16-bit PNG keeps its gray level"
    with pytest.warns(BadImagesWarning) as from_cache:  # from the cache: the same warnings again
        again = load_dataset("folder", "train", root=tmp_path / "photos")
    assert [str(w.message) for w in from_cache] == messages
    assert torch.equal(again.images, ds.images) and again.fingerprint == ds.fingerprint


def test_strict_loading_stops_at_the_first_bad_file_and_caches_nothing(tmp_path, monkeypatch):
    from sslcourse.data.real import DatasetNotFoundError

    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    write_bad_folder(tmp_path / "photos")
    with pytest.raises(DatasetNotFoundError, match=r"cannot read .*(truncated|notes)\.jpg.*without strict"):
        load_dataset("folder", "train", root=tmp_path / "photos", strict=True)
    assert not list((tmp_path / "cache").glob("folder-*.pt")), "nothing is cached for a failed load"
    monkeypatch.setenv("SSLCOURSE_STRICT_IMAGES", "1")
    with pytest.raises(DatasetNotFoundError, match="cannot read"):
        load_dataset("folder", "train", root=tmp_path / "photos")


def test_a_folder_of_only_broken_files_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SSLCOURSE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "photos" / "cats").mkdir(parents=True)
    for k in range(5):
        (tmp_path / "photos" / "cats" / f"{k}.jpg").write_bytes(b"")
    with pytest.raises(DatasetNotFoundError, match="none of the 4 image files .* could be read"):
        load_dataset("folder", "train", root=tmp_path / "photos")


def test_split_folders_with_different_classes_are_a_clear_error(tmp_path):
    write_folder(tmp_path / "train")
    (tmp_path / "test" / "cats").mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "test" / "cats" / "0.png")
    with pytest.raises(DatasetNotFoundError, match=r"different class folders \(only in train/: \['dogs'\]"):
        load_dataset("folder", "train", root=tmp_path)
