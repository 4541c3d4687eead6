"""Supervised training of the classifiers with Lightning: one loop serves pretraining and fine-tuning.

Performance: the dataset (uint8 tensor set) is moved once to the training device; every epoch draws a
seeded permutation and batches are index slices of it (no per-sample Python, no DataLoader workers);
conversion to float and per-channel normalisation happen on the device inside ``NormalizedModel``;
inputs are channels_last; bf16 autocast on CUDA only.

Images convention: ``NormalizedModel.forward/features`` take **uint8 images [N, 3, H, W] in 0..255**
(float input is accepted too and is then taken to be in [0, 1]). ``mean``/``std`` are per-channel
statistics of the *training* images on the [0, 1] scale; they are buffers of the wrapper and are
stored in the checkpoint as lists.

``lightning`` is imported inside functions only (it costs seconds at import time).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .models import MODELS, build_model

LR_SCHEDULES = ("constant", "linear_to_zero", "warmup_cosine")
OPTIMIZERS = ("adam", "adamw", "sgd")


# ---------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training (pretraining, probe or fine-tuning).

    ``lr_schedule`` is applied per optimisation step: ``constant``; ``linear_to_zero`` (lr decays
    linearly to 0 over all steps); ``warmup_cosine`` (linear warm-up over ``warmup_epochs`` epochs,
    then cosine decay from ``lr`` to ``cosine_final_lr`` (0 if None)).
    ``device``: "auto" (CUDA if available, else CPU), "cpu", "cuda", "cuda:1", ...
    ``num_threads``: torch CPU threads during the training (restored afterwards); None = unchanged.
    """

    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adam"
    lr_schedule: str = "constant"
    warmup_epochs: int = 0
    cosine_final_lr: float | None = None
    seed: int = 0
    device: str = "auto"
    num_threads: int | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        def bad(field: str, why: str) -> ValueError:
            return ValueError(f"TrainConfig.{field}={getattr(self, field)!r}: {why}")

        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise bad("epochs", "must be an integer >= 1")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise bad("batch_size", "must be an integer >= 1")
        if not self.lr > 0:
            raise bad("lr", "must be > 0")
        if self.weight_decay < 0:
            raise bad("weight_decay", "must be >= 0")
        if self.optimizer not in OPTIMIZERS:
            raise bad("optimizer", f"must be one of {OPTIMIZERS}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise bad("lr_schedule", f"must be one of {LR_SCHEDULES}")
        if not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise bad("warmup_epochs", "must be an integer >= 0")
        if self.cosine_final_lr is not None and not 0 <= self.cosine_final_lr <= self.lr:
            raise bad("cosine_final_lr", "must be None or in [0, lr]")
        if not isinstance(self.seed, int):
            raise bad("seed", "must be an integer")
        if not isinstance(self.device, str) or not self.device:
            raise bad("device", "must be 'auto', 'cpu', 'cuda' or 'cuda:<index>'")
        if self.num_threads is not None and (
            not isinstance(self.num_threads, int) or self.num_threads < 1
        ):
            raise bad("num_threads", "must be None or an integer >= 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


def default_config_for(model_name: str, **overrides: Any) -> TrainConfig:
    """The paper's pretraining recipe for ``model_name`` (SPEC section 3), with ``overrides``.

    CNNs: Adam, lr 1e-3, constant. ViT: Adam, 5 warm-up epochs, cosine 1e-3 -> 1e-5, weight decay 1e-5.
    """
    if model_name not in MODELS:
        raise ValueError(f"unknown model name {model_name!r}; known names: {sorted(MODELS)}")
    base = TrainConfig()
    if model_name == "vit":
        base = base.replace(
            lr_schedule="warmup_cosine", warmup_epochs=5, cosine_final_lr=1e-5, weight_decay=1e-5
        )
    return base.replace(**overrides)


def lr_factor(config: TrainConfig, step: int, total_steps: int, steps_per_epoch: int) -> float:
    """Multiplier of ``config.lr`` at optimisation step ``step`` (0-based) out of ``total_steps``."""
    if config.lr_schedule == "constant":
        return 1.0
    if config.lr_schedule == "linear_to_zero":
        return max(0.0, 1.0 - step / max(1, total_steps))
    warmup = min(config.warmup_epochs * steps_per_epoch, total_steps)
    if step < warmup:
        return (step + 1) / warmup
    final = (config.cosine_final_lr or 0.0) / config.lr
    progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress))


# ------------------------------------------------------------------------------ devices, batches
def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} requested but CUDA is not available; use 'auto' or 'cpu'"
        )
    return dev


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The (CPU, int64) sample order of ``epoch``: a pure function of (n, seed, epoch)."""
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    return torch.randperm(n, generator=gen)


def batch_slices(n: int, batch_size: int, drop_singleton: bool = True) -> list[slice]:
    """Slices covering 0..n in chunks of ``batch_size``; a trailing batch of one sample is dropped
    when ``drop_singleton`` (BatchNorm cannot train on it), unless it is the only batch."""
    out = [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]
    if drop_singleton and len(out) > 1 and out[-1].stop - out[-1].start == 1:
        out.pop()
    return out


class _EpochBatchSampler:
    """Yields per-batch index tensors (on the data device) of a seeded per-epoch permutation.

    Lightning calls ``set_epoch`` on a dataloader's sampler at the start of every epoch.
    """

    def __init__(self, n: int, batch_size: int, seed: int, shuffle: bool, device: torch.device):
        self.n, self.batch_size, self.seed, self.shuffle = n, batch_size, seed, shuffle
        self.device = device
        self.epoch = 0
        self._slices = batch_slices(n, batch_size, drop_singleton=shuffle)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self._slices)

    def __iter__(self):
        if self.shuffle:
            order = epoch_permutation(self.n, self.seed, self.epoch).to(self.device)
        else:
            order = torch.arange(self.n, device=self.device)
        for s in self._slices:
            yield order[s]


class _DeviceTensorDataset(torch.utils.data.Dataset):
    """``dataset[index_tensor] -> (images[index], labels[index])`` on the data's device."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: torch.Tensor):
        return self.images.index_select(0, index), self.labels.index_select(0, index)


def _device_loader(data: dict, batch_size: int, seed: int, shuffle: bool, device: torch.device):
    images = data["images"].to(device, non_blocking=True)
    labels = data["labels"].to(device=device, dtype=torch.long, non_blocking=True)
    sampler = _EpochBatchSampler(images.shape[0], batch_size, seed, shuffle, device)
    return torch.utils.data.DataLoader(
        _DeviceTensorDataset(images, labels), sampler=sampler, batch_size=None, num_workers=0
    )


# ------------------------------------------------------------------------------ input validation
def num_classes_of(data: dict) -> int:
    return len(data["meta"]["class_names"])


def check_tensor_set(data: Any, name: str) -> int:
    """Validate a tensor set; return its image size. Raises ValueError naming ``name``."""
    if not isinstance(data, dict) or "images" not in data or "labels" not in data:
        raise ValueError(f"{name}: expected a tensor set dict with 'images' and 'labels'")
    images, labels = data["images"], data["labels"]
    if (
        not (isinstance(images, torch.Tensor) and images.dtype == torch.uint8 and images.ndim == 4)
        or images.shape[1] != 3
    ):
        raise ValueError(
            f"{name}['images'] must be a uint8 tensor [N, 3, H, W], got "
            f"{getattr(images, 'dtype', type(images))} {tuple(getattr(images, 'shape', ()))}"
        )
    if images.shape[0] < 1:
        raise ValueError(f"{name} is empty: it needs at least one sample")
    if images.shape[2] != images.shape[3]:
        raise ValueError(f"{name}: images must be square, got {tuple(images.shape[2:])}")
    if not isinstance(labels, torch.Tensor) or labels.shape != (images.shape[0],):
        raise ValueError(f"{name}['labels'] must be a tensor [N] with N={images.shape[0]}")
    if labels.dtype.is_floating_point:
        raise ValueError(f"{name}['labels'] must be an integer tensor, got {labels.dtype}")
    size = int(images.shape[-1])
    meta_size = data.get("meta", {}).get("image_size")
    if meta_size is not None and int(meta_size) != size:
        raise ValueError(f"{name}: meta['image_size']={meta_size} but the images are {size}x{size}")
    return size


def check_labels(data: dict, num_classes: int, name: str) -> None:
    labels = data["labels"]
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(
            f"{name}['labels'] must lie in 0..{num_classes - 1} (num_classes={num_classes}), "
            f"found range {lo}..{hi}"
        )


def check_image_size(data: dict, expected: int, name: str, what: str = "the model") -> None:
    size = check_tensor_set(data, name)
    if size != expected:
        raise ValueError(
            f"{name} has {size}x{size} images but {what} expects image_size={expected}; "
            "generate the data at the model's size or train a model at the data's size"
        )


# ----------------------------------------------------------------------------- normalised model
def channel_stats(images: torch.Tensor, chunk: int = 4096) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of uint8 images [N, 3, H, W] on the [0, 1] scale (float64 sums)."""
    s = torch.zeros(3, dtype=torch.float64, device=images.device)
    ss = torch.zeros(3, dtype=torch.float64, device=images.device)
    for i in range(0, images.shape[0], chunk):
        x = images[i : i + chunk].to(torch.float64) / 255.0
        s += x.sum(dim=(0, 2, 3))
        ss += (x * x).sum(dim=(0, 2, 3))
    count = images.shape[0] * images.shape[2] * images.shape[3]
    mean = s / count
    std = (ss / count - mean * mean).clamp_min(0).sqrt().clamp_min(1e-3)
    return mean.tolist(), std.tolist()


class NormalizedModel(nn.Module):
    """Wraps a classifier so that it takes raw images.

    ``forward``/``features`` accept uint8 images [N, 3, H, W] in 0..255 (or float in [0, 1]); they
    are converted to float, normalised with the stored per-channel ``mean``/``std`` ([0, 1] scale)
    and made channels_last, all on the model's device. ``model`` is the bare classifier.
    """

    def __init__(self, model: nn.Module, mean: list[float], std: list[float]):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))

    @property
    def head(self) -> nn.Linear:
        return self.model.head

    @property
    def feature_dim(self) -> int:
        return self.model.feature_dim

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        x = x.to(self.mean.device, non_blocking=True)
        x = x.float() / 255.0 if x.dtype == torch.uint8 else x.float()
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.features(self.normalize(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(self.normalize(x))


def load_model(checkpoint: dict, device: str | torch.device = "cpu") -> NormalizedModel:
    """Rebuild a checkpoint (see ``pretrain``) as a ``NormalizedModel`` in eval mode on ``device``."""
    missing = {"arch", "width", "num_classes", "image_size", "state_dict", "mean", "std"} - set(
        checkpoint
    )
    if missing:
        raise ValueError(f"checkpoint is missing keys {sorted(missing)}")
    model = build_model(
        checkpoint["arch"],
        int(checkpoint["num_classes"]),
        float(checkpoint["width"]),
        int(checkpoint["image_size"]),
    )
    model.load_state_dict(checkpoint["state_dict"])
    net = NormalizedModel(model, list(checkpoint["mean"]), list(checkpoint["std"]))
    dev = resolve_device(device) if isinstance(device, str) else device
    return net.to(dev).to(memory_format=torch.channels_last).eval()


def cpu_state_dict(module: nn.Module) -> dict[str, torch.Tensor]:
    """A deep copy of ``module.state_dict()`` on the CPU."""
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


@contextlib.contextmanager
def torch_threads(num_threads: int | None):
    """Run the body with ``torch.set_num_threads(num_threads)`` (no-op for None); restore after."""
    if num_threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(num_threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _autocast(device: torch.device):
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.no_grad()
def evaluate(
    model: nn.Module, data: dict, batch_size: int = 1024, device: str | torch.device = "auto"
) -> dict[str, float]:
    """Loss and accuracy of ``model`` (uint8-input, e.g. ``NormalizedModel``) on a tensor set,
    computed fresh for this split. The model is put in eval mode; its mode is restored afterwards."""
    dev = resolve_device(device) if isinstance(device, str) else device
    was_training = model.training
    model.to(dev).eval()
    loss_sum, correct = 0.0, 0
    images, labels = data["images"], data["labels"]
    try:
        for s in batch_slices(images.shape[0], batch_size, drop_singleton=False):
            x = images[s].to(dev, non_blocking=True)
            y = labels[s].to(dev, dtype=torch.long, non_blocking=True)
            with _autocast(dev):
                logits = model(x).float()
            loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
            correct += int((logits.argmax(1) == y).sum())
    finally:
        model.train(was_training)
    n = images.shape[0]
    return {"loss": loss_sum / n, "acc": correct / n}


# ------------------------------------------------------------------------------------- the loop
@contextlib.contextmanager
def _quiet_lightning():
    """Silence Lightning's per-Trainer info banners and the few-workers warnings."""
    names = ["lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"]
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*num_workers.*")
            warnings.filterwarnings("ignore", message=".*LightningModule.*logger.*")
            warnings.filterwarnings("ignore", message=".*LeafSpec.*")
            yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


def _make_module(net: NormalizedModel, config: TrainConfig, steps_per_epoch: int):
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

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

        def _step(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
            x, y = batch
            logits = self.net(x).float()
            loss = F.cross_entropy(logits, y)
            stats = torch.stack(
                [
                    loss.detach() * y.shape[0],
                    (logits.argmax(1) == y).sum().float(),
                    y.new_tensor(y.shape[0]).float(),
                ]
            )
            return loss, stats

        def on_train_epoch_start(self) -> None:
            self._tr = torch.zeros(3, device=self.device)

        def training_step(self, batch, batch_idx):
            loss, stats = self._step(batch)
            self._tr += stats
            return loss

        def on_validation_epoch_start(self) -> None:
            self._va = torch.zeros(3, device=self.device)

        def validation_step(self, batch, batch_idx):
            _, stats = self._step(batch)
            self._va += stats

        def on_train_epoch_end(self) -> None:
            tl, tc, tn = self._tr.tolist()
            vl, vc, vn = self._va.tolist()
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
            self.log_dict(
                {"loss": metrics["train_loss"], "val_acc": metrics["val_acc"]},
                prog_bar=True,
                logger=False,
            )
            if self.logger is not None:
                lr = self.trainer.optimizers[0].param_groups[0]["lr"]
                self.logger.log_metrics({**metrics, "lr": lr}, step=self.current_epoch)

        def configure_optimizers(self):
            params = self.net.parameters()
            c = self.config
            if c.optimizer == "adam":
                opt = torch.optim.Adam(params, lr=c.lr, weight_decay=c.weight_decay)
            elif c.optimizer == "adamw":
                opt = torch.optim.AdamW(params, lr=c.lr, weight_decay=c.weight_decay)
            else:
                opt = torch.optim.SGD(params, lr=c.lr, momentum=0.9, weight_decay=c.weight_decay)
            total = c.epochs * self.steps_per_epoch
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda step: lr_factor(c, step, total, self.steps_per_epoch)
            )
            return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}

    return ClassifierModule()


def fit(
    net: NormalizedModel,
    train: dict,
    val: dict,
    config: TrainConfig,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Train every parameter of ``net`` with cross-entropy; the one loop of pretrain and finetune.

    Validates every epoch, keeps (a CPU deep copy of) the state of ``net.model`` with the best
    validation accuracy (first epoch wins ties) and loads it back into ``net`` at the end.
    With ``run_id``, Lightning's ``MLFlowLogger`` bound to that run logs train/val loss/acc and lr
    per epoch (step = epoch). Returns ``{"history", "best_epoch", "best_val_acc"}``.
    """
    import lightning as L

    device = resolve_device(config.device)
    with torch_threads(config.num_threads):
        L.seed_everything(config.seed, workers=False, verbose=False)
        net.to(device).to(memory_format=torch.channels_last)
        train_loader = _device_loader(train, config.batch_size, config.seed, True, device)
        val_loader = _device_loader(val, max(config.batch_size, 512), config.seed, False, device)
        module = _make_module(net, config, len(train_loader))
        logger: Any = False
        if run_id is not None:
            import mlflow
            from lightning.pytorch.loggers import MLFlowLogger

            logger = MLFlowLogger(run_id=run_id, tracking_uri=mlflow.get_tracking_uri())
        if device.type == "cuda":
            accel, devices = "gpu", [device.index or 0]
        else:
            accel, devices = device.type, 1
        with _quiet_lightning():
            trainer = L.Trainer(
                max_epochs=config.epochs,
                accelerator=accel,
                devices=devices,
                precision="bf16-mixed" if device.type == "cuda" else "32-true",
                logger=logger,
                enable_checkpointing=False,
                enable_model_summary=False,
                enable_progress_bar=config.progress,
                num_sanity_val_steps=0,
                use_distributed_sampler=False,
                log_every_n_steps=1,
                default_root_dir=None,
            )
            trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=val_loader)
        if module.best_state is None:  # pragma: no cover - interrupted before the first epoch end
            raise RuntimeError("training stopped before the first epoch finished")
        net.model.load_state_dict(module.best_state)
        return {
            "history": module.history,
            "best_epoch": module.best_epoch,
            "best_val_acc": module.best_val_acc,
        }


# ------------------------------------------------------------------------------------ public API
def pretrain(
    train: dict,
    val: dict,
    model_name: str,
    width: float,
    config: TrainConfig,
    run_id: str | None = None,
) -> tuple[dict, dict]:
    """Pretrain ``model_name`` (width multiplier ``width``) on tensor set ``train``.

    The model's image size is the data's; ``num_classes`` is ``len(train["meta"]["class_names"])``
    (or ``max(label) + 1`` without meta). Returns ``(checkpoint, history)`` with
    checkpoint = {"arch", "width", "num_classes", "image_size", "state_dict" (CPU, best val acc),
    "mean", "std", "best_val_acc", "best_epoch"} and history = {"train_loss", "train_acc",
    "val_loss", "val_acc"} (one value per epoch).
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
    if model_name not in MODELS:
        raise ValueError(f"unknown model name {model_name!r}; known names: {sorted(MODELS)}")
    if not width > 0:
        raise ValueError(f"width must be > 0, got {width}")
    image_size = check_tensor_set(train, "train")
    check_image_size(val, image_size, "val", what="the training set (train)")
    if "meta" in train and "class_names" in train["meta"]:
        num_classes = num_classes_of(train)
    else:
        num_classes = int(train["labels"].max()) + 1
    check_labels(train, num_classes, "train")
    check_labels(val, num_classes, "val")
    resolve_device(config.device)

    import lightning as L

    L.seed_everything(config.seed, workers=False, verbose=False)
    model = build_model(model_name, num_classes, width, image_size)
    device = resolve_device(config.device)
    with torch_threads(config.num_threads):
        mean, std = channel_stats(train["images"].to(device))
    net = NormalizedModel(model, mean, std)
    result = fit(net, train, val, config, run_id=run_id)
    checkpoint = {
        "arch": model_name,
        "width": float(width),
        "num_classes": num_classes,
        "image_size": image_size,
        "state_dict": cpu_state_dict(net.model),
        "mean": mean,
        "std": std,
        "best_val_acc": float(result["best_val_acc"]),
        "best_epoch": int(result["best_epoch"]),
    }
    return checkpoint, result["history"]
