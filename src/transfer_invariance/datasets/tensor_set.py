"""A Kedro dataset for tensor sets, pair sets and checkpoints (nested dicts of tensors)."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import torch
from kedro.io.core import AbstractDataset, DatasetError

from transfer_invariance.datasets.atomic import save_tensors
from transfer_invariance.datasets.checkpoints import CorruptArtifactError


class TensorSetDataset(AbstractDataset[dict[str, Any], dict[str, Any]]):
    """Saves a dict of tensors / numbers / strings with ``torch.save``, loads it back safely.

    Writes are atomic (``atomic.save_tensors``: no half-written file, a full disk named); loads use ``weights_only=True`` (no arbitrary code from pickles).
    """

    def __init__(self, filepath: str, metadata: dict[str, Any] | None = None) -> None:
        self._filepath = PurePosixPath(filepath)
        self.metadata = metadata

    def load(self) -> dict[str, Any]:
        path = Path(self._filepath)
        if not path.exists():
            raise DatasetError(
                f"'{path}' does not exist: run the pipeline that produces it first "
                "(e.g. without --only-missing-outputs, or with --from-nodes on its producer)."
            )
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # torch raises many kinds for truncated or foreign files
            raise CorruptArtifactError(
                f"'{path}' is corrupt or not a tensor set ({type(err).__name__}). Run the "
                "pipeline that makes it again (without --only-missing-outputs): it rewrites it."
            ) from err

    def save(self, data: dict[str, Any]) -> None:
        save_tensors(data, Path(self._filepath))

    def _exists(self) -> bool:
        return Path(self._filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath)}
