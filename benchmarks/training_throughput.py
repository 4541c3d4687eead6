"""Training throughput: our in-memory tensor path against a standard per-sample PIL DataLoader.

Measures training images per second of the same model (default ResNet-18, width 0.25), optimiser
(Adam, lr 1e-3), batch size (default 128) and data (default 2,000 rendered 32x32 Transforms-2D
images, ``rotate``, 10 objects; ``--data random`` for random uint8 images) for ``--epochs`` epochs:

* ours, ``pretrain``: the real :func:`transfer_invariance.core.training.pretrain` call, timed end
  to end with nothing subtracted (channel statistics, model construction, the Lightning ``Trainer``
  and its per-epoch validation on ``--n-val`` images all count; only the ``epochs * n`` training
  images are counted as samples). The dataset (uint8 tensor) lives on the device; batches are index
  slices of a seeded per-epoch permutation; normalisation happens on the device; channels_last.
* ours, raw loop: the same data path and ``NormalizedModel`` in a plain PyTorch loop without
  Lightning and without validation, to show Lightning's overhead.
* baseline: a torch ``Dataset`` holding a list of PIL images whose ``__getitem__`` applies
  ``torchvision.transforms.ToTensor()`` + ``Normalize(mean, std)``, a
  ``DataLoader(batch_size, shuffle=True, num_workers=W)`` for W in ``--workers`` (default 0 and 2;
  workers are persistent and started before timing, which favours the baseline) and a plain PyTorch
  training loop (NCHW float input, the bare model).

Each method is warmed up, then timed ``--repeats`` times on a freshly built model; the best is kept.
With ``--device cuda`` it also reports ResNet-18 (width 1.0) training images/s at batch 512 on the
GPU via our path (bf16 autocast, channels_last), on ``--gpu-n`` random 32x32 images.

    DO_NOT_TRACK=true python benchmarks/training_throughput.py
    DO_NOT_TRACK=true python benchmarks/training_throughput.py --tiny
    DO_NOT_TRACK=true python benchmarks/training_throughput.py --device cuda --skip-cpu
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.nn.functional as F
from PIL import Image
from timing import best_time, print_machine
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from transfer_invariance.core.models import MODELS, build_model
from transfer_invariance.core.rendering import DatasetSpec, Renderer, render_split
from transfer_invariance.core.tensor_sets import first
from transfer_invariance.core.training import (
    NormalizedModel,
    TrainConfig,
    batch_slices,
    channel_stats,
    epoch_permutation,
    pretrain,
)

NUM_CLASSES = 10


# ----------------------------------------------------------------------------------------------
# Data


def make_data(kind: str, n: int, n_val: int, size: int, seed: int = 0) -> tuple[dict, dict]:
    """(train, val) tensor sets: rendered Transforms-2D ``rotate`` images or random uint8."""
    if kind == "rendered":
        spec = DatasetSpec(
            name="bench",
            transforms=("rotate",),
            objects=NUM_CLASSES,
            n_train=n,
            n_val=n_val,
            image_size=size,
            seed=seed,
        )
        renderer = Renderer.from_spec(spec)
        return (
            render_split(renderer, "train", n, progress=False),
            render_split(renderer, "val", n_val, progress=False),
        )
    gen = torch.Generator().manual_seed(seed)

    def one(m: int, name: str) -> dict:
        return {
            "images": torch.randint(0, 256, (m, 3, size, size), dtype=torch.uint8, generator=gen),
            "labels": torch.randint(0, NUM_CLASSES, (m,), generator=gen),
            "latents": {},
            "meta": {
                "class_names": [f"c{i}" for i in range(NUM_CLASSES)],
                "image_size": size,
                "name": name,
            },
        }

    return one(n, "random"), one(n_val, "random")


# ----------------------------------------------------------------------------------------------
# Baseline: per-sample PIL images through a standard DataLoader


class PilDataset(Dataset):
    """A list of PIL images; ``__getitem__`` -> (ToTensor + Normalize, label)."""

    def __init__(self, images: list[Image.Image], labels: list[int], mean, std):
        self.images, self.labels = images, labels
        self.transform = T.Compose([T.ToTensor(), T.Normalize(mean, std)])

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[index]), self.labels[index]


def to_pil(images: torch.Tensor) -> list[Image.Image]:
    arr = images.permute(0, 2, 3, 1).contiguous().numpy()
    return [Image.fromarray(a, "RGB") for a in arr]


def train_baseline(model: torch.nn.Module, loader: DataLoader, epochs: int) -> float:
    """A plain PyTorch training loop; returns the last loss."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    last = 0.0
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            last = loss.item()
    return last


# ----------------------------------------------------------------------------------------------
# Ours without Lightning


def train_raw(
    net: NormalizedModel,
    images: torch.Tensor,
    labels: torch.Tensor,
    epochs: int,
    batch_size: int,
    device: torch.device,
) -> float:
    """Our data path in a plain loop: uint8 tensor on the device, index slices of a per-epoch
    permutation, normalisation + channels_last inside ``NormalizedModel``; bf16 autocast on CUDA."""
    images = images.to(device)
    labels = labels.to(device, dtype=torch.long)
    net.to(device).to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    slices = batch_slices(images.shape[0], batch_size)
    loss = torch.zeros(())
    for epoch in range(epochs):
        order = epoch_permutation(images.shape[0], 0, epoch).to(device)
        for s in slices:
            idx = order[s]
            x, y = images.index_select(0, idx), labels.index_select(0, idx)
            if device.type == "cuda":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    logits = net(x)
            else:
                logits = net(x)
            loss = F.cross_entropy(logits.float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return float(loss.detach())


# ----------------------------------------------------------------------------------------------
# Timing


def no_sync() -> None:
    pass


def cuda_sync() -> None:
    torch.cuda.synchronize()


def print_table(rows: list[tuple[str, int, float]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\n{'method':<{width}}  {'samples':>8}  {'seconds':>8}  {'images/s':>10}")
    for label, n, secs in rows:
        print(f"{label:<{width}}  {n:>8}  {secs:>8.2f}  {n / secs:>10,.0f}")


def run_cpu(args: argparse.Namespace) -> None:
    dev = torch.device("cpu")
    train, val = make_data(args.data, args.n, args.n_val, args.image_size)
    n, epochs, bs = args.n, args.epochs, args.batch_size
    samples = epochs * n
    print(
        f"\n== CPU: {args.arch} width {args.width}, Adam lr 1e-3, batch {bs}, {n} {args.data} "
        f"{args.image_size}x{args.image_size} images, {epochs} epochs, val {args.n_val} images =="
    )
    config = TrainConfig(
        epochs=epochs, batch_size=bs, lr=1e-3, optimizer="adam", device="cpu", progress=False
    )
    mean, std = channel_stats(train["images"])

    def new_model() -> torch.nn.Module:
        torch.manual_seed(0)
        return build_model(args.arch, NUM_CLASSES, args.width, args.image_size)

    ours: list[tuple[str, int, float]] = []
    base: list[tuple[str, int, float]] = []

    # ours: the real pretrain path (warm-up: imports Lightning, first Trainer, allocator)
    warm = first(train, min(n, 2 * bs))
    pretrain(warm, first(val, min(args.n_val, bs)), args.arch, args.width, config.replace(epochs=1))
    secs = best_time(
        lambda: pretrain(train, val, args.arch, args.width, config), args.repeats, no_sync
    )
    ours.append(("ours: pretrain (Lightning, +val each epoch)", samples, secs))

    # ours: raw loop, no Lightning
    images, labels = train["images"], train["labels"]
    train_raw(
        NormalizedModel(new_model(), mean, std), images[: 2 * bs], labels[: 2 * bs], 1, bs, dev
    )
    secs = best_time(
        lambda: train_raw(NormalizedModel(new_model(), mean, std), images, labels, epochs, bs, dev),
        args.repeats,
        no_sync,
    )
    ours.append(("ours: raw loop (no Lightning, no val)", samples, secs))

    # baseline: per-sample PIL + DataLoader
    ds = PilDataset(to_pil(images), labels.tolist(), mean, std)
    drop_last = n % bs == 1  # BatchNorm cannot train on a batch of one
    for w in args.workers:
        loader = DataLoader(
            ds,
            batch_size=bs,
            shuffle=True,
            num_workers=w,
            persistent_workers=w > 0,
            drop_last=drop_last,
        )
        for i, _ in enumerate(loader):  # warm-up: starts the workers
            if i >= 1:
                break
        warm_loader = DataLoader(ds, batch_size=bs, sampler=range(min(n, 2 * bs)))
        train_baseline(new_model(), warm_loader, 1)
        secs = best_time(
            lambda loader=loader: train_baseline(new_model(), loader, epochs), args.repeats, no_sync
        )
        base.append((f"baseline: PIL + ToTensor/Normalize, DataLoader W={w}", samples, secs))
        del loader

    print_table(ours + base)
    if base:
        print("\nratios ours/baseline (images/s):")
        for label, _, secs in ours:
            parts = [
                f"{b_label.split(', ')[-1]}: {b_secs / secs:.2f}x" for b_label, _, b_secs in base
            ]
            print(f"  {label}: " + ", ".join(parts))
        lightning, raw = ours[0][2], ours[1][2]
        print(
            f"Lightning + validation overhead (pretrain time / raw loop time): {lightning / raw:.2f}x"
        )


def run_gpu(args: argparse.Namespace) -> None:
    dev = torch.device("cuda")
    n, epochs, bs = args.gpu_n, args.gpu_epochs, args.gpu_batch_size
    train, val = make_data("random", n, args.gpu_n_val, args.image_size, seed=1)
    samples = epochs * n
    print(
        f"\n== GPU {torch.cuda.get_device_name()}: resnet18 width 1.0, Adam lr 1e-3, batch {bs}, "
        f"bf16 autocast, channels_last, {n} random {args.image_size}x{args.image_size} images, "
        f"{epochs} epochs, val {args.gpu_n_val} images =="
    )
    config = TrainConfig(
        epochs=epochs, batch_size=bs, lr=1e-3, optimizer="adam", device="cuda", progress=False
    )
    mean, std = channel_stats(train["images"])
    rows: list[tuple[str, int, float]] = []

    warm = {**train, "images": train["images"][: 4 * bs], "labels": train["labels"][: 4 * bs]}
    pretrain(warm, val, "resnet18", 1.0, config.replace(epochs=1))
    secs = best_time(lambda: pretrain(train, val, "resnet18", 1.0, config), args.repeats, cuda_sync)
    rows.append(("ours: pretrain (Lightning bf16-mixed, +val each epoch)", samples, secs))

    def raw(m: int, ep: int) -> None:
        torch.manual_seed(0)
        net = NormalizedModel(build_model("resnet18", NUM_CLASSES, 1.0, args.image_size), mean, std)
        train_raw(net, train["images"][:m], train["labels"][:m], ep, bs, dev)

    raw(4 * bs, 1)
    secs = best_time(lambda: raw(n, epochs), args.repeats, cuda_sync)
    rows.append(("ours: raw loop (bf16 autocast, no Lightning, no val)", samples, secs))
    print_table(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", default="resnet18", choices=sorted(MODELS))
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--n", type=int, default=2000, help="training images")
    ap.add_argument("--n-val", type=int, default=200, help="validation images (pretrain only)")
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--data", default="rendered", choices=["rendered", "random"])
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--workers", type=int, nargs="*", default=[0, 2], help="baseline DataLoaders")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: the machine's default)"
    )
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--skip-cpu", action="store_true", help="with --device cuda: GPU rows only")
    ap.add_argument("--gpu-n", type=int, default=50000)
    ap.add_argument("--gpu-n-val", type=int, default=1000)
    ap.add_argument("--gpu-epochs", type=int, default=3)
    ap.add_argument("--gpu-batch-size", type=int, default=512)
    ap.add_argument("--tiny", action="store_true", help="a few-second smoke run")
    args = ap.parse_args()
    if args.tiny:
        args.n, args.n_val, args.epochs, args.repeats, args.width = 256, 64, 1, 1, 0.125
        args.batch_size = 64
        args.gpu_n, args.gpu_n_val, args.gpu_epochs = 4096, 512, 1
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine.")
    if args.skip_cpu and args.device != "cuda":
        raise SystemExit("--skip-cpu only makes sense with --device cuda.")

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    print_machine(threads, args.device)
    if not args.skip_cpu:
        run_cpu(args)
    if args.device == "cuda":
        run_gpu(args)
    print(f"\nload_avg_1min at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
