"""A Kedro dataset holding one checkpoint per seed, which trains only the seeds it lacks.

The pretrain node returns ``{seed key: Deferred(fingerprint, compute)}`` (Kedro's lazy-saving idiom).
On save, an entry whose file exists with the same fingerprint and is whole (the size and SHA-256
recorded in the index when it was written) is kept as it is and its ``compute`` is never called; the
others are computed and written one at a time (atomically). A truncated or corrupt file is trained
again, with a warning naming it. So an interrupted
experiment, run again (with or without ``--only-missing-outputs``), redoes no finished training, a
failure in one training keeps the ones finished before it, and a changed parameter or dataset (a
different fingerprint) is never mistaken for a finished one.

Where the time goes: the trainings run inside ``save``, after the node function has returned, so
Kedro's node timings (and kedro-viz's run status) show the pretrain node as instant and the time
under the dataset's save. Each training logs its own duration (a log line and the ``duration_s``
metric of its MLflow run). A reused training is named in the log and linked from the run's MLflow
run (a ``reused: <path>/<seed>`` tag holding the run id of the training that made it), so the
parent run of a resumed experiment still shows every training it stands on.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from kedro.io.core import AbstractDataset, DatasetError

from transfer_invariance.core.tracking import record_reused
from transfer_invariance.datasets.atomic import save_tensors, save_text
from transfer_invariance.errors import UserError

logger = logging.getLogger(__name__)

INDEX = "index.json"


@dataclass(frozen=True)
class Deferred:
    """A value computed only when the dataset does not already hold it under ``fingerprint``."""

    fingerprint: str
    compute: Callable[[], Any]


class CorruptArtifactError(UserError, DatasetError):
    """A stored file that cannot be read back (the message names it and says what to do)."""


def _safe(key: str) -> str:
    return key.replace("/", "__")


def _digest(file: Path) -> dict[str, Any]:
    """What a whole file is: its size and SHA-256."""
    sha = hashlib.sha256()
    with file.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return {"size": file.stat().st_size, "sha256": sha.hexdigest()}


def _fingerprint(entry: Any) -> str | None:
    """The fingerprint of an index entry (older indexes hold the fingerprint alone)."""
    return entry.get("fingerprint") if isinstance(entry, dict) else entry


def _is_whole(file: Path, entry: Any) -> bool:
    """The file is there and is what was written: same size and hash as recorded (an older
    index without them: it loads)."""
    if not file.exists():
        return False
    if isinstance(entry, dict) and "sha256" in entry:
        return _digest(file) == {"size": entry["size"], "sha256": entry["sha256"]}
    try:
        torch.load(file, map_location="cpu", weights_only=True)
    except Exception:
        return False
    return True


class CheckpointsDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """One ``torch.save`` file per key in a folder, plus ``index.json`` (key -> fingerprint, size
    and SHA-256 of the file as written)."""

    def __init__(self, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def _read_index(self) -> dict[str, Any]:
        index = self._path / INDEX
        if not index.exists():
            return {"complete": False, "entries": {}}
        return json.loads(index.read_text())

    def _write_index(self, index: dict[str, Any]) -> None:
        save_text(json.dumps(index, indent=1), self._path / INDEX)

    def load(self) -> dict[str, Any]:
        index = self._read_index()
        if not index["complete"]:
            raise DatasetError(
                f"'{self._path}' is missing or incomplete: run the pipeline that produces it "
                "(finished entries are kept and not recomputed)."
            )
        out = {}
        for key in index["entries"]:
            try:
                out[key] = torch.load(
                    self._path / f"{_safe(key)}.pt", map_location="cpu", weights_only=True
                )
            except Exception as err:
                raise CorruptArtifactError(
                    f"'{self._path}/{_safe(key)}.pt' is missing or corrupt "
                    f"({type(err).__name__}). Run the pipeline that makes it again: it trains "
                    "that entry again and keeps the others."
                ) from err
        return out

    def save(self, data: dict[str, Any]) -> None:
        self._path.mkdir(parents=True, exist_ok=True)
        old = self._read_index()["entries"]
        index: dict[str, Any] = {
            "complete": False,
            "entries": {k: v for k, v in old.items() if k in data},
        }
        self._write_index(index)
        for key, value in data.items():
            file = self._path / f"{_safe(key)}.pt"
            fingerprint = value.fingerprint if isinstance(value, Deferred) else None
            same = fingerprint is not None and _fingerprint(old.get(key)) == fingerprint
            if same and _is_whole(file, old[key]):
                run_id = record_reused(f"{self._path}/{key}", fingerprint)
                logger.info(
                    "Reusing %s/%s (finished earlier%s)",
                    self._path,
                    key,
                    f", MLflow run {run_id}" if run_id else "",
                )
                continue
            if same and file.exists():
                logger.warning(
                    "'%s' is not the file that was written (truncated or corrupt): training it "
                    "again",
                    file,
                )
            result = value.compute() if isinstance(value, Deferred) else value
            save_tensors(result, file)
            index["entries"][key] = {"fingerprint": fingerprint, **_digest(file)}
            self._write_index(index)
        index["complete"] = True
        self._write_index(index)

    def _exists(self) -> bool:
        return bool(self._read_index()["complete"])

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
