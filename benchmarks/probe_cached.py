"""Linear probe on cached representations against a probe that reruns the frozen backbone.

The paper's probe: 200 epochs of Adam (lr 1e-3, batch 128) on a linear layer over the 512-d
penultimate representations of a frozen ResNet-18, 50,000 training samples, 10 classes.

* cached (ours): :func:`transfer_invariance.core.probe.train_linear_probe` on cached features,
  timed in full (``--epochs`` x ``--n``; random float32 features ``[n, dim]`` and labels generated
  here, with per-epoch validation on ``--n-val`` cached samples). The one-off cost of computing the
  cache (one backbone pass over ``n + n_val`` images) is measured on the subset, extrapolated and
  reported too, so that "cached + extraction" is the whole cost.
* backbone rerun: the same probe but every mini-batch goes through the frozen backbone (eval mode,
  no grad, float32, our in-memory uint8 path) before the linear layer, as when features are not
  cached. It is measured for ``--rerun-epochs`` epochs over ``--subset`` 32x32 images (rendered
  Transforms-2D ``rotate`` images, or random) and extrapolated linearly to ``--epochs`` x ``--n``.
  Its per-epoch validation (which would rerun the backbone on the validation images too) is not
  counted, which favours the rerun side.

    DO_NOT_TRACK=true python benchmarks/probe_cached.py
    DO_NOT_TRACK=true python benchmarks/probe_cached.py --tiny
"""

from __future__ import annotations

import argparse
import os

import torch
import torch.nn.functional as F
from timing import best_time, print_machine

from transfer_invariance.core.models import MODELS, build_model
from transfer_invariance.core.probe import (
    init_linear,
    probe_config,
    representations,
    train_linear_probe,
)
from transfer_invariance.core.rendering import DatasetSpec, Renderer, render_split
from transfer_invariance.core.training import (
    NormalizedModel,
    batch_slices,
    channel_stats,
    epoch_permutation,
)


def make_images(kind: str, n: int, size: int, classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    if kind == "rendered":
        spec = DatasetSpec(
            name="bench", transforms=("rotate",), objects=classes, n_train=n, image_size=size
        )
        data = render_split(Renderer.from_spec(spec), "train", n, progress=False)
        return data["images"], data["labels"]
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen)
    return images, torch.randint(0, classes, (n,), generator=gen)


def probe_rerun(
    backbone: NormalizedModel,
    images: torch.Tensor,
    labels: torch.Tensor,
    classes: int,
    epochs: int,
    batch_size: int,
    device: torch.device,
) -> float:
    """The probe without a cache: every batch goes through the frozen backbone first."""
    backbone.eval()
    linear = init_linear(backbone.feature_dim, classes, 0).to(device)
    opt = torch.optim.Adam(linear.parameters(), lr=1e-3)
    images, labels = images.to(device), labels.to(device, dtype=torch.long)
    slices = batch_slices(images.shape[0], batch_size, drop_singleton=False)
    loss = torch.zeros(())
    for epoch in range(epochs):
        order = epoch_permutation(images.shape[0], 0, epoch).to(device)
        for s in slices:
            idx = order[s]
            with torch.no_grad():
                feats = backbone.features(images.index_select(0, idx)).float()
            loss = F.cross_entropy(linear(feats), labels.index_select(0, idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return float(loss.detach())


def fmt_secs(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50000, help="probe training samples")
    ap.add_argument("--n-val", type=int, default=10000, help="probe validation samples")
    ap.add_argument("--dim", type=int, default=512, help="cached feature dimension")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--arch", default="resnet18", choices=sorted(MODELS))
    ap.add_argument("--width", type=float, default=1.0)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--data", default="rendered", choices=["rendered", "random"])
    ap.add_argument("--subset", type=int, default=2000, help="images for the rerun measurement")
    ap.add_argument("--rerun-epochs", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument(
        "--threads", type=int, default=0, help="torch threads (0: the machine's default)"
    )
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--tiny", action="store_true", help="a few-second smoke run")
    args = ap.parse_args()
    if args.tiny:
        args.n, args.n_val, args.epochs, args.subset, args.width = 5000, 1000, 3, 256, 0.25
        args.dim = 128
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine.")
    dev = torch.device(args.device)
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)

    threads = args.threads or torch.get_num_threads()
    torch.set_num_threads(threads)
    print_machine(threads, args.device)
    total = args.epochs * args.n
    print(
        f"probe: {args.epochs} epochs x {args.n} samples, {args.classes} classes, Adam lr 1e-3, "
        f"batch {args.batch_size}; backbone {args.arch} width {args.width} on "
        f"{args.image_size}x{args.image_size} {args.data} images"
    )

    # cached: random features + labels, the real train_linear_probe
    gen = torch.Generator().manual_seed(0)
    xt = torch.randn(args.n, args.dim, generator=gen)
    yt = torch.randint(0, args.classes, (args.n,), generator=gen)
    xv = torch.randn(args.n_val, args.dim, generator=gen)
    yv = torch.randint(0, args.classes, (args.n_val,), generator=gen)
    config = probe_config(
        epochs=args.epochs, batch_size=args.batch_size, device=args.device, progress=False
    )
    m = min(args.n, 1000)
    train_linear_probe(xt[:m], yt[:m], xv, yv, args.classes, config.replace(epochs=1))  # warm-up
    cached_s = best_time(
        lambda: train_linear_probe(xt, yt, xv, yv, args.classes, config), args.repeats, sync
    )

    # backbone rerun on a subset, extrapolated
    images, labels = make_images(args.data, args.subset, args.image_size, args.classes)
    torch.manual_seed(0)
    model = build_model(args.arch, args.classes, args.width, args.image_size)
    mean, std = channel_stats(images)
    backbone = NormalizedModel(model, mean, std).to(dev).to(memory_format=torch.channels_last)
    if backbone.feature_dim != args.dim:
        print(
            f"note: the backbone's feature dim is {backbone.feature_dim}, the cached features' "
            f"--dim is {args.dim}"
        )
    w = min(args.subset, 2 * args.batch_size)
    probe_rerun(backbone, images[:w], labels[:w], args.classes, 1, args.batch_size, dev)
    rerun_s = best_time(
        lambda: probe_rerun(
            backbone, images, labels, args.classes, args.rerun_epochs, args.batch_size, dev
        ),
        args.repeats,
        sync,
    )
    rerun_rate = args.rerun_epochs * args.subset / rerun_s
    rerun_total = total / rerun_rate

    # one-off feature extraction of the cache (representations), extrapolated to n + n_val
    representations(backbone, images[:w], 512, dev)
    extract_s = best_time(lambda: representations(backbone, images, 512, dev), args.repeats, sync)
    extract_total = (args.n + args.n_val) / (args.subset / extract_s)

    rows = [
        ("cached: train_linear_probe", total, cached_s, cached_s),
        (
            "one-off: representations() for the cache",
            args.subset,
            extract_s,
            extract_total,
        ),
        (
            "backbone rerun every epoch",
            args.rerun_epochs * args.subset,
            rerun_s,
            rerun_total,
        ),
    ]
    width = max(len(r[0]) for r in rows)
    print(
        f"\n{'method':<{width}}  {'measured samples':>16}  {'measured s':>10}  "
        f"{'samples/s':>10}  {'full run':>10}"
    )
    for label, n, secs, full in rows:
        print(
            f"{label:<{width}}  {n:>16,}  {secs:>10.2f}  {n / secs:>10,.0f}  {fmt_secs(full):>10}"
        )
    print(
        f"\nfull run = {args.epochs} epochs x {args.n:,} samples (measured for 'cached', "
        f"extrapolated from the subset for the others; extraction covers {args.n + args.n_val:,} "
        "train + val images)"
    )
    print(f"cached probe: {fmt_secs(cached_s)}; backbone rerun: {fmt_secs(rerun_total)}")
    print(f"ratio rerun / cached (probe training only): {rerun_total / cached_s:,.0f}x")
    print(
        f"ratio rerun / (cached + one-off extraction): "
        f"{rerun_total / (cached_s + extract_total):,.0f}x"
    )
    print(f"\nload_avg_1min at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
