"""P linear probes of one shape trained as one batched problem against the same P one after another.

Both sides run the project's own code: ``core.probe.train_linear_probes`` with all P probes, and
``core.probe.train_linear_probe`` (the same function with one probe) P times. The probes are those
of a node of the probe stage: one frozen backbone's features per seed (here: Gaussian class
clusters, a learnable problem), each probe with its own seed, so its own initial weights and batch
order. Prints the speed-up and the largest difference in test accuracy between a probe trained
batched and the same probe trained alone (0 unless float rounding moved a prediction).

    DO_NOT_TRACK=true python benchmarks/probe_batched.py --quick     # one line, P=16, ~1 min here
    DO_NOT_TRACK=true python benchmarks/probe_batched.py             # P = 1, 16, 64 (and CUDA)
    DO_NOT_TRACK=true python benchmarks/probe_batched.py --tiny      # seconds
"""

from __future__ import annotations

import argparse
import time

import torch
from timing import print_machine

from transfer_invariance.core.probe import (
    ProbeFeatures,
    accuracy,
    probe_config,
    train_linear_probe,
    train_linear_probes,
)


def make_probes(
    count: int, n: int, n_val: int, n_test: int, dim: int, classes: int, config, device: str
) -> tuple[list[ProbeFeatures], list[tuple[torch.Tensor, torch.Tensor]]]:
    """``count`` probe problems (their own features and seeds) and their test sets."""
    probes, tests = [], []
    for p in range(count):
        gen = torch.Generator().manual_seed(p)
        means = torch.randn(classes, dim, generator=gen)

        def split(k: int, gen=gen, means=means) -> tuple[torch.Tensor, torch.Tensor]:
            y = torch.randint(0, classes, (k,), generator=gen)
            return (means[y] + 2.0 * torch.randn(k, dim, generator=gen)).to(device), y.to(device)

        (xt, yt), (xv, yv), test = split(n), split(n_val), split(n_test)
        probes.append(ProbeFeatures(xt, yt, xv, yv, config.replace(seed=p)))
        tests.append(test)
    return probes, tests


def measure(count: int, args, device: str) -> tuple[float, float, float]:
    """(separate s, batched s, max |test accuracy difference|) for ``count`` probes."""
    config = probe_config(
        epochs=args.epochs, batch_size=args.batch_size, device=device, progress=False
    )
    probes, tests = make_probes(
        count, args.n, args.n_val, args.n_test, args.dim, args.classes, config, device
    )
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    warm = [
        ProbeFeatures(
            p.train_feats, p.train_labels, p.val_feats, p.val_labels, p.config.replace(epochs=1)
        )
        for p in probes
    ]
    train_linear_probes(warm, args.classes)
    train_linear_probe(*_fields(warm[0]), args.classes, warm[0].config)

    sync()
    t0 = time.perf_counter()
    alone = [train_linear_probe(*_fields(p), args.classes, p.config)[0] for p in probes]
    sync()
    separate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    together = [lin for lin, _ in train_linear_probes(probes, args.classes)]
    sync()
    batched_s = time.perf_counter() - t0
    diff = max(
        abs(accuracy(a, x, y) - accuracy(b, x, y))
        for a, b, (x, y) in zip(alone, together, tests, strict=True)
    )
    return separate_s, batched_s, diff


def _fields(p: ProbeFeatures) -> tuple:
    return p.train_feats, p.train_labels, p.val_feats, p.val_labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="P=16 on the CPU, one line")
    ap.add_argument("--tiny", action="store_true", help="toy sizes, a few seconds (a smoke test)")
    ap.add_argument(
        "--devices", nargs="+", choices=["cpu", "cuda"], help="default: cpu, and cuda if present"
    )
    ap.add_argument("--n", type=int, default=2000, help="training samples per probe")
    ap.add_argument("--n-val", type=int, default=500)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--dim", type=int, default=512, help="feature width (ResNet-18: 512)")
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=128, help="the paper's probe batch")
    ap.add_argument("--counts", type=int, nargs="+", default=[1, 16, 64])
    args = ap.parse_args()
    threads = torch.get_num_threads()
    if args.tiny:
        args.n, args.n_val, args.n_test, args.dim, args.epochs, args.counts = (
            256,
            64,
            64,
            64,
            3,
            [1, 4],
        )
    if args.quick:
        s, b, d = measure(16, args, "cpu")
        print(f"batched vs separate, P=16: {s / b:.1f}x faster, max |accuracy difference| {d:.4f}")
        return
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if "cuda" in devices and not torch.cuda.is_available():
        ap.error("--devices cuda: CUDA is not available on this machine")
    for device in devices:
        print_machine(threads, device)
        print(
            f"{args.epochs} epochs x {args.n} samples per probe, D={args.dim}, "
            f"{args.classes} classes, batch {args.batch_size}, Adam lr 1e-3"
        )
        print("| device | P | separate s | batched s | speed-up | max abs acc diff |")
        print("|---|---|---|---|---|---|")
        for count in args.counts:
            s, b, d = measure(count, args, device)
            print(f"| {device} | {count} | {s:.2f} | {b:.2f} | {s / b:.1f}x | {d:.4f} |")


if __name__ == "__main__":
    main()
