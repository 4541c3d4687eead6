"""The Lightning module of the training loop: cross-entropy, per-epoch curves, best-val state.

``lightning`` is imported inside ``make_module`` only (it costs seconds at import time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .config import TrainConfig, lr_factor
from .model import NormalizedModel, cpu_state_dict

EpochHook = Callable[[dict[str, float]], None]


def make_module(
    net: NormalizedModel,
    config: TrainConfig,
    steps_per_epoch: int,
    on_epoch_end: EpochHook | None = None,
) -> Any:
    """A ``LightningModule`` training ``net`` with ``config``'s optimiser and per-step lr schedule.

    After every epoch it appends train/val loss/acc to ``history``, keeps a CPU copy of the state of
    ``net.model`` with the best validation accuracy (first epoch wins ties) in ``best_state``, logs
    the epoch's metrics and lr to its logger (if any) and calls ``on_epoch_end(metrics)``.
    """
    import lightning as L

    class ClassifierModule(L.LightningModule):
        """Cross-entropy training of ``net``; records per-epoch curves and the best-val state."""

        def __init__(self) -> None:
            super().__init__()
            self.net = net
            self.config = config
            self.steps_per_epoch = steps_per_epoch
            self.history: dict[str, list[float]] = {
                "train_loss": [],
                "train_acc": [],
                "val_loss": [],
                "val_acc": [],
            }
            self.best_state: dict[str, torch.Tensor] | None = None
            self.best_val_acc = -1.0
            self.best_epoch = -1
            self._tr: torch.Tensor | None = None
            self._va: torch.Tensor | None = None
            self._tr_n = self._va_n = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

        def _step(self, batch) -> tuple[torch.Tensor, torch.Tensor, int]:
            """Loss, [summed loss, correct] on the device, and the batch size (a host int: no
            tensor is built from a Python number and nothing waits for the device)."""
            x, y = batch
            logits = self.net(x).float()
            loss = F.cross_entropy(logits, y)
            n = int(y.shape[0])
            stats = torch.stack([loss.detach() * n, (logits.argmax(1) == y).sum().float()])
            return loss, stats, n

        def on_train_epoch_start(self) -> None:
            self._tr, self._tr_n = torch.zeros(2, device=self.device), 0

        def training_step(self, batch, batch_idx):
            loss, stats, n = self._step(batch)
            self._tr += stats
            self._tr_n += n
            return loss

        def on_validation_epoch_start(self) -> None:
            self._va, self._va_n = torch.zeros(2, device=self.device), 0

        def validation_step(self, batch, batch_idx):
            _, stats, n = self._step(batch)
            self._va += stats
            self._va_n += n

        def on_train_epoch_end(self) -> None:
            (tl, tc), tn = self._tr.tolist(), self._tr_n  # the one wait per epoch
            (vl, vc), vn = self._va.tolist(), self._va_n
            metrics = {
                "train_loss": tl / tn,
                "train_acc": tc / tn,
                "val_loss": vl / vn,
                "val_acc": vc / vn,
            }
            for k, v in metrics.items():
                self.history[k].append(v)
            if metrics["val_acc"] > self.best_val_acc:
                self.best_val_acc = metrics["val_acc"]
                self.best_epoch = self.current_epoch
                self.best_state = cpu_state_dict(self.net.model)
            if self.logger is not None:
                lr = self.trainer.optimizers[0].param_groups[0]["lr"]
                self.logger.log_metrics({**metrics, "lr": lr}, step=self.current_epoch)
            if on_epoch_end is not None:
                on_epoch_end(metrics)

        def configure_optimizers(self):
            params = self.net.parameters()
            c = self.config
            fused = {"fused": True} if self.device.type == "cuda" else {}  # one kernel per step
            if c.optimizer == "adam":
                opt = torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay, **fused)
            elif c.optimizer == "adamw":
                opt = torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay, **fused)
            else:
                opt = torch.optim.SGD(params, lr=c.lr, momentum=0.9, weight_decay=c.weight_decay)
            total = c.epochs * self.steps_per_epoch
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda step: lr_factor(c, step, total, self.steps_per_epoch)
            )
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return ClassifierModule()
