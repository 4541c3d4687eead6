"""Tests of the CIFAR reader on tiny fake archives built here (no real CIFAR needed)."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from transfer_invariance.core import cifar
from transfer_invariance.core.cifar import check_cifar_available, load_cifar

N_PER_BATCH = 4


def _images(n: int, offset: int) -> np.ndarray:
    """[n, 32, 32, 3] HWC images with a distinct value per (sample, channel) and a spatial ramp."""
    rng = np.random.default_rng(offset)
    return rng.integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def _pack(images_hwc: np.ndarray) -> np.ndarray:
    """The CIFAR row layout: per image the R plane, then G, then B, each row-major."""
    return images_hwc.transpose(0, 3, 1, 2).reshape(len(images_hwc), 3072)


def _files(name: str, bytes_keys: bool = False) -> tuple[dict[str, bytes], dict[str, np.ndarray]]:
    """Member name -> pickled bytes, and split -> HWC images (for round-trip checks)."""
    info = cifar.CIFAR_INFO[name]
    key = (lambda k: k.encode()) if bytes_keys else (lambda k: k)
    n_cls = 10 if name == "cifar10" else 100
    files: dict[str, bytes] = {}
    truth: dict[str, list] = {"train": [], "test": []}
    for split, members in (("train", info.train_files), ("test", info.test_files)):
        for b, m in enumerate(members):
            off = 100 * (split == "test") + b
            imgs = _images(N_PER_BATCH, off)
            labels = [(off + i) % n_cls for i in range(N_PER_BATCH)]
            d = {key("data"): _pack(imgs), key(info.label_key): labels}
            files[m] = pickle.dumps(d)
            truth[split].append((imgs, labels))
    names = [f"class{i}" for i in range(n_cls)]
    files[info.meta_file] = pickle.dumps({key(info.names_key): names})
    return files, truth


def _write_folder(root: Path, name: str, files: dict[str, bytes]) -> Path:
    folder = root / cifar.CIFAR_INFO[name].folder
    folder.mkdir(parents=True)
    for m, raw in files.items():
        (folder / m).write_bytes(raw)
    return folder


def _write_tar(root: Path, name: str, files: dict[str, bytes]) -> Path:
    info = cifar.CIFAR_INFO[name]
    root.mkdir(parents=True, exist_ok=True)
    path = root / info.archive
    with tarfile.open(path, "w:gz") as tf:
        for m, raw in files.items():
            ti = tarfile.TarInfo(f"{info.folder}/{m}")
            ti.size = len(raw)
            tf.addfile(ti, io.BytesIO(raw))
    return path


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
@pytest.mark.parametrize("layout", ["folder", "tar"])
def test_round_trip(tmp_path: Path, name: str, layout: str) -> None:
    files, truth = _files(name)
    (_write_folder if layout == "folder" else _write_tar)(tmp_path, name, files)
    for split in ("train", "test"):
        ts = load_cifar(tmp_path, name, split)
        imgs = np.concatenate([t[0] for t in truth[split]])
        labels = sum((t[1] for t in truth[split]), [])
        assert ts["images"].dtype == torch.uint8 and ts["images"].shape == (len(imgs), 3, 32, 32)
        assert ts["images"].is_contiguous()
        # orientation and channels: CHW tensor == HWC truth transposed; check one pixel explicitly
        assert torch.equal(ts["images"], torch.from_numpy(imgs).permute(0, 3, 1, 2))
        assert ts["images"][0, 2, 5, 7].item() == imgs[0, 5, 7, 2]  # blue channel, row 5, col 7
        assert ts["labels"].dtype == torch.int64 and ts["labels"].tolist() == labels
        n_cls = 10 if name == "cifar10" else 100
        assert ts["meta"]["class_names"] == [f"class{i}" for i in range(n_cls)]
        assert ts["meta"]["image_size"] == 32 and ts["meta"]["name"] == name
    assert check_cifar_available(tmp_path, name).exists()


def test_bytes_keys_and_folder_as_root(tmp_path: Path) -> None:
    files, truth = _files("cifar10", bytes_keys=True)
    folder = _write_folder(tmp_path, "cifar10", files)
    ts = load_cifar(folder, "cifar10", "test")  # root is the extracted folder itself
    assert torch.equal(ts["images"], torch.from_numpy(truth["test"][0][0]).permute(0, 3, 1, 2))


def test_missing_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as e:
        load_cifar(tmp_path, "cifar10", "train")
    assert str(tmp_path / "cifar-10-python.tar.gz") in str(e.value)
    assert "cifar-10-batches-py" in str(e.value)
    with pytest.raises(FileNotFoundError, match="cifar-100-python.tar.gz"):
        check_cifar_available(tmp_path, "cifar100")


def test_truncated_archive(tmp_path: Path) -> None:
    files, _ = _files("cifar10")
    path = _write_tar(tmp_path, "cifar10", files)
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cifar-10-python.tar.gz"):
        load_cifar(tmp_path, "cifar10", "test")
    with pytest.raises(ValueError, match="corrupt or truncated|lacks"):
        check_cifar_available(tmp_path, "cifar10")


def test_corrupt_member_in_folder(tmp_path: Path) -> None:
    files, _ = _files("cifar10")
    files["test_batch"] = files["test_batch"][:50]
    _write_folder(tmp_path, "cifar10", files)
    with pytest.raises(ValueError, match="test_batch"):
        load_cifar(tmp_path, "cifar10", "test")


@pytest.mark.parametrize("member", ["test_batch", "batches.meta"])
def test_incomplete_folder_names_the_missing_file(tmp_path: Path, member: str) -> None:
    files, _ = _files("cifar10")
    folder = _write_folder(tmp_path, "cifar10", files)
    (folder / member).write_bytes(b"")  # an empty file is as good as none
    for check in (
        lambda: load_cifar(tmp_path, "cifar10", "test"),
        lambda: check_cifar_available(tmp_path),
    ):
        with pytest.raises(FileNotFoundError, match=f"lacks a non-empty '{member}'"):
            check()
    (folder / member).unlink()
    with pytest.raises(FileNotFoundError, match="cifar-10-python.tar.gz"):
        load_cifar(tmp_path, "cifar10", "test")


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="name="):
        load_cifar(tmp_path, "cifar11", "train")
    with pytest.raises(ValueError, match="split="):
        load_cifar(tmp_path, "cifar10", "val")


def test_download_offline_gives_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = cifar.CIFAR_INFO["cifar10"]
    bad = cifar._CifarInfo(**{**info.__dict__, "url": "http://127.0.0.1:9/none.tar.gz"})
    monkeypatch.setitem(cifar.CIFAR_INFO, "cifar10", bad)
    with pytest.raises(RuntimeError, match="cifar-10-python.tar.gz"):
        load_cifar(tmp_path, "cifar10", "train", download=True)
    assert not list(tmp_path.glob("*.part")) and not (tmp_path / info.archive).exists()


def test_download_from_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files, _ = _files("cifar10")
    src = _write_tar(tmp_path / "server", "cifar10", files)
    info = cifar.CIFAR_INFO["cifar10"]
    fake = cifar._CifarInfo(**{**info.__dict__, "url": src.as_uri(), "md5": ""})
    monkeypatch.setitem(cifar.CIFAR_INFO, "cifar10", fake)
    ts = load_cifar(tmp_path / "data", "cifar10", "test", download=True)
    assert len(ts["labels"]) == N_PER_BATCH
    assert (tmp_path / "data" / info.archive).is_file()
