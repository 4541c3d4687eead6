"""What a training prints: one progress line (tqdm bar) per training and nothing from Lightning."""

from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Iterator, Mapping
from types import TracebackType

# Lightning's loggers: device banners, "Tip: ... litlogger/litmodels", "`Trainer.fit` stopped", ...
_LIGHTNING_LOGGERS = (
    "lightning.pytorch",
    "lightning.fabric",
    "lightning.pytorch.utilities.rank_zero",
    "lightning.fabric.utilities.rank_zero",
    "lightning_utilities.core.rank_zero",
    # the same messages under the standalone package names, when another library imported them
    "pytorch_lightning",
    "pytorch_lightning.utilities.rank_zero",
    "lightning_fabric",
    "lightning_fabric.utilities.rank_zero",
)
# Warnings that do not apply to this loop (data on the device, no workers, logging on demand).
_IGNORED_WARNINGS = (
    ".*does not have many workers.*",
    ".*num_workers.*",
    ".*LightningModule.*logger.*",
    ".*LeafSpec.*",
    ".*GPU available but not used.*",
)


class EpochProgress:
    """One progress line per training that advances once per epoch.

    It reads ``desc  3/50 [00:12<02:30, ...] val_acc=0.812, loss=0.431`` (loss: the epoch's training
    loss). Nothing is written when ``enabled`` is False. Use it as a context manager.
    """

    def __init__(self, epochs: int, desc: str, enabled: bool = True) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=epochs, desc=desc, unit="epoch", disable=not enabled)

    def epoch_end(self, metrics: Mapping[str, float]) -> None:
        """Advance by one epoch; ``metrics`` holds at least ``val_acc`` and ``train_loss``."""
        self.bar.set_postfix_str(
            f"val_acc={metrics['val_acc']:.3f}, loss={metrics['train_loss']:.3f}", refresh=False
        )
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()

    def __enter__(self) -> EpochProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@contextlib.contextmanager
def quiet_lightning() -> Iterator[None]:
    """Within the body, Lightning logs errors only and its avoidable warnings are ignored.

    Silenced: the info banners and tips (devices, litlogger/litmodels), Lightning's
    ``PossibleUserWarning`` heuristics (few workers, GPU available but not used, ...). The logger
    levels are restored afterwards.
    """
    from lightning.fabric.utilities.warnings import PossibleUserWarning

    loggers = [logging.getLogger(name) for name in _LIGHTNING_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=PossibleUserWarning)
            for message in _IGNORED_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
