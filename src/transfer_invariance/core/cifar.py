"""A small reader for the standard CIFAR-10 / CIFAR-100 "python version" archives.

We read the archives ourselves instead of using ``torchvision.datasets.CIFAR10`` because torchvision
insists on MD5 checks of the files, which a tiny test fixture cannot pass.

Layout accepted under ``root`` (checked in this order):

* the extracted folder: ``root/cifar-10-batches-py/`` (``data_batch_1`` .. ``data_batch_5``,
  ``test_batch``, ``batches.meta``) or ``root/cifar-100-python/`` (``train``, ``test``, ``meta``);
* ``root`` itself being that extracted folder;
* the tarball: ``root/cifar-10-python.tar.gz`` or ``root/cifar-100-python.tar.gz``. Members are read
  straight from the tarball; nothing is extracted to disk.

Each batch file is a pickled dict with ``data`` (uint8, N x 3072, row-major 3 x 32 x 32: the first
1024 bytes are the red plane) and ``labels`` (CIFAR-10) or ``fine_labels`` (CIFAR-100). Class names
come from ``batches.meta`` (``label_names``) or ``meta`` (``fine_label_names``).

The result is a "tensor set" (see the project plan): a dict with ``images`` (uint8 [N, 3, 32, 32]),
``labels`` (int64 [N]), ``latents`` (dict of [N, ...] tensors) and ``meta`` (JSON-able dict).

Note: the archives are Python pickles; only load archives from a source you trust (the official
one is https://www.cs.toronto.edu/~kriz/cifar.html).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import tempfile
import urllib.error
import urllib.request
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = [
    "CIFAR_INFO",
    "check_cifar_available",
    "download_cifar",
    "load_cifar",
]


@dataclass(frozen=True)
class _CifarInfo:
    folder: str
    archive: str
    url: str
    md5: str
    train_files: tuple[str, ...]
    test_files: tuple[str, ...]
    meta_file: str
    label_key: str
    names_key: str


CIFAR_INFO: dict[str, _CifarInfo] = {
    "cifar10": _CifarInfo(
        folder="cifar-10-batches-py",
        archive="cifar-10-python.tar.gz",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        md5="c58f30108f718f92721af3b95e74349a",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)),
        test_files=("test_batch",),
        meta_file="batches.meta",
        label_key="labels",
        names_key="label_names",
    ),
    "cifar100": _CifarInfo(
        folder="cifar-100-python",
        archive="cifar-100-python.tar.gz",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        md5="eb9058c3a382ffc7106e4002c42a8d85",
        train_files=("train",),
        test_files=("test",),
        meta_file="meta",
        label_key="fine_labels",
        names_key="fine_label_names",
    ),
}

_SPLITS = ("train", "test")
DOWNLOAD_TIMEOUT_S = 30.0
# Errors raised by tarfile / gzip / zlib / pickle on a truncated or corrupt archive.
_CORRUPT_ERRORS = (
    tarfile.TarError,
    EOFError,
    zlib.error,
    OSError,
    pickle.UnpicklingError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
)


def _info(name: str) -> _CifarInfo:
    if name not in CIFAR_INFO:
        raise ValueError(
            f"name={name!r} is not a known CIFAR dataset; use one of {sorted(CIFAR_INFO)}"
        )
    return CIFAR_INFO[name]


def _members(info: _CifarInfo, split: str) -> tuple[str, ...]:
    if split not in _SPLITS:
        raise ValueError(f"split={split!r} is not a CIFAR split; use 'train' or 'test'")
    return info.train_files if split == "train" else info.test_files


def _missing_message(root: Path, info: _CifarInfo) -> str:
    return (
        f"CIFAR archive not found: put the official '{info.archive}' (from {info.url}) at "
        f"{root / info.archive}, or its extracted folder at {root / info.folder}/ "
        f"(or pass download=True with network access)."
    )


def _locate(root: Path, info: _CifarInfo) -> tuple[str, Path] | None:
    """Return ("folder", path) or ("tar", path) for the first layout found under root, else None."""
    folder = root / info.folder
    if folder.is_dir():
        return "folder", folder
    if (
        root.is_dir()
        and (root / info.meta_file).is_file()
        and (root / info.test_files[0]).is_file()
    ):
        return "folder", root
    tar = root / info.archive
    if tar.is_file():
        return "tar", tar
    if root.is_file() and root.name == info.archive:
        return "tar", root
    return None


def _unpickle(raw: bytes, source: str) -> dict[str, Any]:
    try:
        obj = pickle.loads(raw, encoding="latin1")
    except _CORRUPT_ERRORS as err:
        raise ValueError(
            f"CIFAR file {source} is corrupt or truncated ({err!r}); re-download it."
        ) from err
    if not isinstance(obj, dict):
        raise ValueError(
            f"CIFAR file {source} does not hold a pickled dict; is it a CIFAR archive?"
        )
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _corrupt(path: Path, info: _CifarInfo, err: BaseException) -> ValueError:
    """The error for an archive that cannot be read to the end."""
    return ValueError(
        f"CIFAR archive {path} is corrupt or truncated ({err!r}); delete it and download "
        f"'{info.archive}' again from {info.url}."
    )


def _require_members(
    path: Path, info: _CifarInfo, wanted: tuple[str, ...], found: Collection[str]
) -> None:
    """Raise the error for an archive that lacks some of the ``wanted`` members."""
    missing = [m for m in wanted if m not in found]
    if missing:
        raise ValueError(
            f"CIFAR archive {path} lacks the member(s) {missing} (is it truncated, or the wrong "
            f"archive?); delete it and download '{info.archive}' again from {info.url}."
        )


def _folder_file(root: Path, path: Path, info: _CifarInfo, member: str) -> Path:
    """``path/member`` of an extracted folder, checked to be a non-empty file."""
    f = path / member
    if not f.is_file() or f.stat().st_size == 0:
        raise FileNotFoundError(
            f"CIFAR folder {path} lacks a non-empty {member!r}; put the complete extracted "
            f"'{info.folder}' folder there (or the '{info.archive}' tarball at "
            f"{root / info.archive})."
        )
    return f


def _read_raw(
    root: Path, kind: str, path: Path, info: _CifarInfo, wanted: tuple[str, ...]
) -> dict[str, bytes]:
    """Read the raw bytes of the wanted member files (names without the folder prefix)."""
    if kind == "folder":
        return {m: _folder_file(root, path, info, m).read_bytes() for m in wanted}
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(path, mode="r:*") as tf:
            for member in tf:  # streams through the archive once
                base = member.name.rsplit("/", 1)[-1]
                if member.isfile() and base in wanted and base not in out:
                    fh = tf.extractfile(member)
                    if fh is None:
                        continue
                    out[base] = fh.read()
                    if len(out) == len(wanted):
                        break
    except _CORRUPT_ERRORS as err:
        raise _corrupt(path, info, err) from err
    _require_members(path, info, wanted, out)
    return out


def download_cifar(root: str | Path, name: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Download the official archive to ``root/<archive>`` (temp file + rename, MD5-checked).

    Raises RuntimeError with a clear message on any network error.
    """
    info = _info(name)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    target = root / info.archive
    fd, tmp_name = tempfile.mkstemp(prefix=f".{info.archive}.", suffix=".part", dir=root)
    tmp = Path(tmp_name)
    try:
        md5 = hashlib.md5()
        with os.fdopen(fd, "wb") as fh, urllib.request.urlopen(info.url, timeout=timeout) as resp:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
                md5.update(chunk)
        if info.md5 and md5.hexdigest() != info.md5:
            raise RuntimeError(
                f"downloaded {info.url} has MD5 {md5.hexdigest()}, expected {info.md5}; "
                f"download '{info.archive}' by hand and put it at {target}."
            )
        os.replace(tmp, target)
    except (urllib.error.URLError, OSError, TimeoutError) as err:
        raise RuntimeError(
            f"could not download {info.url} ({err!r}); download '{info.archive}' by hand and put "
            f"it at {target} (or its extracted folder at {root / info.folder}/)."
        ) from err
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def _ensure(root: Path, info: _CifarInfo, name: str, download: bool) -> tuple[str, Path]:
    found = _locate(root, info)
    if found is None and download:
        download_cifar(root, name)
        found = _locate(root, info)
    if found is None:
        raise FileNotFoundError(_missing_message(root, info))
    return found


def load_cifar(
    root: str | Path, name: str = "cifar10", split: str = "train", download: bool = False
) -> dict[str, Any]:
    """Load a CIFAR split as a tensor set.

    Args:
        root: folder holding ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz`` or the
            extracted ``cifar-10-batches-py/`` / ``cifar-100-python/`` folder (or that folder itself).
        name: ``"cifar10"`` or ``"cifar100"`` (fine labels).
        split: ``"train"`` (50,000 images) or ``"test"`` (10,000).
        download: when the data is missing, download the official tarball into ``root``.

    Returns:
        ``{"images": uint8 [N,3,32,32], "labels": int64 [N], "latents": {"index": int64 [N]}
        (position in the original split), "meta": {"name", "split", "class_names", "image_size"}}``.

    Raises:
        FileNotFoundError: nothing found under root (the message says which file to put where).
        ValueError: bad name/split, or a truncated/corrupt archive (the message names the file).
        RuntimeError: download=True but the download failed.
    """
    info = _info(name)
    wanted = _members(info, split)
    root = Path(root)
    kind, path = _ensure(root, info, name, download)
    raw = _read_raw(root, kind, path, info, (*wanted, info.meta_file))
    source = lambda m: f"{path}/{m}" if kind == "folder" else f"{path}:{m}"  # noqa: E731
    meta_dict = _unpickle(raw[info.meta_file], source(info.meta_file))
    if info.names_key not in meta_dict:
        raise ValueError(
            f"CIFAR meta file {source(info.meta_file)} has no {info.names_key!r} entry"
        )
    class_names = [str(c) for c in meta_dict[info.names_key]]
    images, labels = [], []
    for m in wanted:
        d = _unpickle(raw[m], source(m))
        if "data" not in d or info.label_key not in d:
            raise ValueError(
                f"CIFAR file {source(m)} lacks 'data' or {info.label_key!r}; is it a {name} archive?"
            )
        data = np.asarray(d["data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise ValueError(
                f"CIFAR file {source(m)}: 'data' has shape {data.shape}, expected N x 3072"
            )
        lab = np.asarray(d[info.label_key], dtype=np.int64)
        if lab.shape != (data.shape[0],):
            raise ValueError(
                f"CIFAR file {source(m)}: {len(lab)} labels for {data.shape[0]} images"
            )
        images.append(data.reshape(-1, 3, 32, 32))
        labels.append(lab)
    img = torch.from_numpy(np.ascontiguousarray(np.concatenate(images)))
    lab_t = torch.from_numpy(np.concatenate(labels))
    if lab_t.numel() and (lab_t.min() < 0 or lab_t.max() >= len(class_names)):
        raise ValueError(f"CIFAR labels in {path} fall outside 0..{len(class_names) - 1}")
    return {
        "images": img,
        "labels": lab_t,
        "latents": {"index": torch.arange(len(lab_t), dtype=torch.int64)},
        "meta": {"name": name, "split": split, "class_names": class_names, "image_size": 32},
    }


def check_cifar_available(root: str | Path, name: str = "cifar10", download: bool = False) -> Path:
    """Check cheaply that a CIFAR archive/folder is present and readable; return its path.

    For a folder: all batch files and the meta file exist and are non-empty, and the meta file
    unpickles. For a tarball: it opens, the listing reads to the end (which catches truncation)
    and holds every member. Nothing is loaded into tensors.
    """
    info = _info(name)
    root = Path(root)
    kind, path = _ensure(root, info, name, download)
    wanted = (*info.train_files, *info.test_files, info.meta_file)
    if kind == "folder":
        for m in wanted:
            _folder_file(root, path, info, m)
        _unpickle((path / info.meta_file).read_bytes(), str(path / info.meta_file))
        return path
    try:
        with tarfile.open(path, mode="r:*") as tf:
            names = {m.name.rsplit("/", 1)[-1]: m.size for m in tf.getmembers() if m.isfile()}
    except _CORRUPT_ERRORS as err:
        raise _corrupt(path, info, err) from err
    _require_members(path, info, wanted, names)
    return path
