"""Writing files so that an interrupted or failed write never leaves a half-written artifact.

Data goes to ``<name>.partial`` and is renamed into place; on any failure the partial file is
removed. A full disk is reported as such (torch says ``unexpected pos`` instead), naming the file.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

_DISK_FULL = ("No space left on device", "unexpected pos", "file write failed")


def _disk_full(error: BaseException) -> bool:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        return True
    return isinstance(error, RuntimeError) and any(t in str(error) for t in _DISK_FULL)


def write_atomically(path: Path, write: Callable[[Path], Any]) -> None:
    """``write(tmp)`` then rename ``tmp`` to ``path``; the partial file never outlives a failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if _disk_full(err):
            raise OSError(
                errno.ENOSPC,
                f"No space left on device while writing '{path}'. Free some space and run the "
                "same command again: every file finished before this one is kept and reused",
            ) from err
        raise


def save_tensors(data: Any, path: Path) -> None:
    """``torch.save`` of ``data`` to ``path``, atomically."""
    write_atomically(path, lambda tmp: torch.save(data, tmp))


def save_text(text: str, path: Path) -> None:
    """``text`` to ``path``, atomically."""
    write_atomically(path, lambda tmp: tmp.write_text(text))
