"""GPU check: the project's GPU figures in one script, in a few minutes, without installing it.

Needs only torch, numpy, pillow, tqdm (and, for part 4, torchvision: ``core.scenes`` imports
``torchvision.ops.roi_align``; Lightning is used when importable, else a plain loop). ``<repo>/src``
is put on ``sys.path`` here, so neither the project nor Kedro / MLflow need be installed.

1. render: Transforms-2D rendering (``core.rendering.render_split``) images/s on the CPU and on the
   GPU (``device="cuda"``: base images, per-sample draws and per-pixel fields on the device) for a
   few transformation sets, with the largest pixel difference from the CPU rendering.
2. train: ResNet-18 (width 1, ``core.models.build_model``) training images/s at batch 128 and 512,
   Adam, bf16 autocast, channels_last, eager and ``torch.compile``, in a plain PyTorch loop;
   achieved FLOP/s (forward FLOPs counted with ``FlopCounterMode``, x3 for forward + backward)
   and their fraction of the GPU's dense bf16 peak.
3. concurrent: k = 1, 2, 4, 8 separate processes each training a width-1 ResNet-18 at batch 128 on
   the same GPU: total and per-training images/s, speed-up over k = 1.
The harm experiment itself runs through Kedro on the GPU machine: ``scripts/gpu_run.sh`` (the real
pipeline, shrunk, then this script).

Each part is guarded: a failure prints its traceback and the next part runs; the exit status is 1
if any part failed. ``--tiny`` runs every part at toy sizes (on the CPU unless ``--device cuda``).

    DO_NOT_TRACK=true python benchmarks/gpu_check.py --out gpu_check.json
    DO_NOT_TRACK=true python benchmarks/gpu_check.py --tiny
    DO_NOT_TRACK=true python benchmarks/gpu_check.py --parts train concurrent
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from timing import best_time, print_machine  # noqa: E402

PARTS = ("render", "train", "concurrent")
RENDER_SETS = ("rotate,hue,blur", "elastic", "scale,translate,contrast")
# Dense (no sparsity) bf16 tensor-core peak in TFLOP/s; the first matching name wins.
PEAK_BF16_TFLOPS = (("H100 PCIe", 756.0), ("H100 NVL", 835.0), ("H100", 989.0), ("H200", 989.0))
PEAK_BF16_TFLOPS += (("A100", 312.0),)
PAPER_EPOCHS, PAPER_PROBE_EPOCHS, PAPER_SEEDS, C3_POINTS = 50, 200, 10, 28
HARM_CONDITIONS = {
    "C/C": {"label_source": "c", "beta": 0.0},
    "C+O/C": {"label_source": "c"},
    "C+O/O": {"label_source": "o"},
    "O/O": {"label_source": "o", "background": "black"},
}
NUM_CLASSES = 10


# ---------------------------------------------------------------------------------------- helpers
def autocast(device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA (the project's training precision), nothing on the CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def syncer(device: torch.device) -> Callable[[], None]:
    """A function that waits for ``device``."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def peak_bf16_tflops(name: str) -> float | None:
    """The dense bf16 peak of a GPU by name, or None when not in the table."""
    return next((peak for key, peak in PEAK_BF16_TFLOPS if key in name), None)


def forward_flops_per_image(width: float, image_size: int = 32) -> float:
    """Forward FLOPs of one image through ``build_model("resnet18", 10, width, image_size)``."""
    from torch.utils.flop_counter import FlopCounterMode

    from transfer_invariance.core.models import build_model

    model = build_model("resnet18", NUM_CLASSES, width, image_size).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(torch.zeros(2, 3, image_size, image_size))
    return counter.get_total_flops() / 2


def random_set(n: int, seed: int, size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """Random uint8 images [n, 3, size, size] and labels in 0..9."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen)
    return images, torch.randint(0, NUM_CLASSES, (n,), generator=gen)


class TrainLoop:
    """A plain PyTorch training loop on a uint8 tensor set held on the device (the project's path).

    ``NormalizedModel`` (normalisation + channels_last on the device), Adam lr 1e-3, cross-entropy,
    bf16 autocast on CUDA; batches are index slices of the seeded per-epoch permutation.
    """

    def __init__(
        self,
        net: torch.nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        device: torch.device,
        compile_backend: str | None = None,
        seed: int = 0,
    ) -> None:
        from transfer_invariance.core.training import batch_slices, epoch_permutation

        self.permutation = epoch_permutation
        self.device, self.seed = device, seed
        self.net = net.to(device).to(memory_format=torch.channels_last).train()
        self.opt = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        self.forward: Callable[[torch.Tensor], torch.Tensor] = self.net
        if compile_backend:
            self.forward = torch.compile(self.net, backend=compile_backend, dynamic=False)
        self.images = images.to(device)
        self.labels = labels.to(device, dtype=torch.long)
        self.slices = batch_slices(images.shape[0], batch_size)
        self.epoch, self.pos = 0, len(self.slices)
        self.order = torch.empty(0, dtype=torch.long)

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pos == len(self.slices):
            n = self.images.shape[0]
            self.order = self.permutation(n, self.seed, self.epoch).to(self.device)
            self.epoch, self.pos = self.epoch + 1, 0
        idx = self.order[self.slices[self.pos]]
        self.pos += 1
        return self.images.index_select(0, idx), self.labels.index_select(0, idx)

    def run(self, steps: int) -> None:
        """Train for ``steps`` optimisation steps (asynchronous on CUDA)."""
        for _ in range(steps):
            x, y = self._batch()
            with autocast(self.device):
                logits = self.forward(x)
            loss = F.cross_entropy(logits.float(), y)
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()


def resnet_loop(
    width: float,
    batch_size: int,
    device: torch.device,
    pool_batches: int = 8,
    compile_backend: str | None = None,
) -> TrainLoop:
    """A ``TrainLoop`` of a fresh ResNet-18 on ``pool_batches`` batches of random images."""
    from transfer_invariance.core.models import build_model
    from transfer_invariance.core.training import NormalizedModel

    torch.manual_seed(0)
    images, labels = random_set(pool_batches * batch_size, seed=1)
    net = NormalizedModel(build_model("resnet18", NUM_CLASSES, width, 32), [0.5] * 3, [0.25] * 3)
    return TrainLoop(net, images, labels, batch_size, device, compile_backend)


def fmt_rate(x: float) -> str:
    """A rate with thousands separators, no decimals."""
    return f"{x:,.0f}"


def print_table(header: list[str], rows: list[list[str]]) -> None:
    """A plain aligned text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print(
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def md_table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]) + "\n"


# ---------------------------------------------------------------------------------- 1. rendering
def part_render(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Rendering images/s per transformation set, CPU against GPU."""
    from transfer_invariance.core.rendering import DatasetSpec, Renderer, render_split

    note = (
        "'cuda' rows render on the GPU (render_split(..., device='cuda'): base images, per-sample "
        "draws and per-pixel random fields on the device); every row includes copying the images "
        "back to the CPU; 'max diff' compares the first images with the CPU rendering (uint8 "
        "levels)."
    )
    print(f"note: {note}")
    cuda = device.type == "cuda"
    rows: list[dict[str, Any]] = []
    for names in args.render_sets:
        transforms = tuple(n for n in names.replace(",", " ").split() if n)
        spec = DatasetSpec(
            name="gpu_check", transforms=transforms, objects=30, n_train=args.render_n_gpu
        )
        renderer = Renderer.from_spec(spec)
        variants = [("cpu", args.render_batch, args.render_n_cpu)]
        if cuda:
            variants += [
                ("cuda", args.render_batch, args.render_n_gpu),
                ("cuda", args.render_batch_gpu, args.render_n_gpu),
            ]
        m = min(256, args.render_n_cpu)
        reference = render_split(renderer, "train", m, args.render_batch, progress=False)["images"]
        cpu_rate = 0.0
        for label, bs, n in variants:
            row: dict[str, Any] = {"transforms": list(transforms), "device": label, "batch": bs}

            def render(
                n: int = n, bs: int = bs, dev: str = label, r: Renderer = renderer
            ) -> torch.Tensor:
                return render_split(r, "train", n, bs, progress=False, device=dev)["images"]

            diff = (render(n=m).int() - reference.int()).abs()
            secs = best_time(render, args.repeats, syncer(torch.device(label)))
            cpu_rate = cpu_rate or n / secs
            row.update(n=n, images_per_s=n / secs, vs_cpu=n / secs / cpu_rate)
            row["max_diff_vs_cpu"] = int(diff.max())
            rows.append(row)
    table = [
        [
            "+".join(r["transforms"]),
            r["device"],
            str(r["batch"]),
            fmt_rate(r["images_per_s"]) if "images_per_s" in r else "error",
            f"{r['vs_cpu']:.1f}x" if "vs_cpu" in r else "",
            str(r.get("max_diff_vs_cpu", "")),
        ]
        for r in rows
    ]
    header = ["transforms", "device", "batch", "images/s", "vs cpu", "max diff"]
    print_table(header, table)
    if not cuda:
        print("no CUDA: GPU rows skipped (CPU rows only)")
    return {
        "title": f"Rendering Transforms-2D (render_split, 30 objects, 32x32, CPU threads "
        f"{torch.get_num_threads()}), images/s",
        "rows": rows,
        "note": note,
        "markdown": md_table(header, table),
    }


# ----------------------------------------------------------------------------------- 2. training
def part_train(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """ResNet-18 training images/s: batch 128 / 512, eager / torch.compile, and FLOP/s."""
    fwd = forward_flops_per_image(args.width)
    train_flops = 3 * fwd
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    peak = peak_bf16_tflops(gpu) if gpu else None
    precision = "bf16 autocast" if device.type == "cuda" else "fp32 (no CUDA)"
    print(
        f"resnet18 width {args.width}, 32x32, Adam lr 1e-3, {precision}, channels_last; forward "
        f"{fwd / 1e9:.3f} GFLOP/image, training ~3x = {train_flops / 1e9:.3f} GFLOP/image; peak "
        + (f"{peak:.0f} TFLOP/s dense bf16 ({gpu})" if peak else f"unknown for {gpu or 'CPU'}")
    )
    sync = syncer(device)
    rows: list[dict[str, Any]] = []
    backends = [None] + ([args.compile_backend] if args.compile_backend != "none" else [])
    for bs in args.train_batches:
        for backend in backends:
            if backend:
                torch._dynamo.reset()
            label = f"torch.compile({backend})" if backend else "eager"
            row: dict[str, Any] = {"batch": bs, "mode": label}
            try:
                loop = resnet_loop(args.width, bs, device, compile_backend=backend)
                t0 = time.perf_counter()
                loop.run(args.warmup_steps)
                sync()
                row["warmup_s"] = time.perf_counter() - t0
                steps = max(2, args.train_images // bs)
                secs = best_time(lambda loop=loop, steps=steps: loop.run(steps), args.repeats, sync)
            except Exception as err:
                if not backend:
                    raise
                row["error"] = f"{type(err).__name__}: {err}"
                print(f"  batch {bs} {label} failed: {row['error']}")
                rows.append(row)
                continue
            rate = steps * bs / secs
            row.update(
                steps=steps,
                images_per_s=rate,
                ms_per_step=1000 * secs / steps,
                tflops_per_s=rate * train_flops / 1e12,
                peak_fraction=rate * train_flops / 1e12 / peak if peak else None,
            )
            rows.append(row)
            del loop
            if device.type == "cuda":
                torch.cuda.empty_cache()
    table = [
        [
            str(r["batch"]),
            r["mode"],
            fmt_rate(r["images_per_s"]) if "images_per_s" in r else "error",
            f"{r['ms_per_step']:.2f}" if "ms_per_step" in r else "",
            f"{r['tflops_per_s']:.1f}" if "tflops_per_s" in r else "",
            f"{100 * r['peak_fraction']:.1f}%" if r.get("peak_fraction") else "unknown",
            f"{r['warmup_s']:.1f}" if "warmup_s" in r else "",
        ]
        for r in rows
    ]
    header = ["batch", "mode", "images/s", "ms/step", "TFLOP/s", "of peak", "warm-up s"]
    print_table(header, table)
    print(f"(warm-up: {args.warmup_steps} steps, not timed; includes compilation for compile rows)")
    failed = [r for r in rows if "error" in r]
    return {
        **({"status": "failed", "error": f"torch.compile: {failed[0]['error']}"} if failed else {}),
        "title": f"ResNet-18 width {args.width} training, plain loop, Adam, {precision}, "
        f"channels_last ({fwd / 1e9:.2f} GFLOP forward per image, x3 for training)",
        "rows": rows,
        "forward_gflop_per_image": fwd / 1e9,
        "peak_bf16_tflops": peak,
        "precision": precision,
        "markdown": md_table(header, table),
    }


# --------------------------------------------------------------------------------- 3. concurrent
def concurrent_worker(rank: int, cfg: dict[str, Any], barrier: Any, queue: Any) -> None:
    """One of k trainings: warm up, wait for the others, train ``steps`` steps, report times."""
    try:
        torch.set_num_threads(1)
        device = torch.device(cfg["device"])
        sync = syncer(device)
        loop = resnet_loop(cfg["width"], cfg["batch"], device)
        loop.run(cfg["warmup"])
        sync()
        barrier.wait(timeout=cfg["timeout"])
        t0 = time.perf_counter()
        loop.run(cfg["steps"])
        sync()
        t1 = time.perf_counter()
        queue.put({"rank": rank, "t0": t0, "t1": t1, "images": cfg["steps"] * cfg["batch"]})
    except Exception as err:
        barrier.abort()
        queue.put({"rank": rank, "error": f"{type(err).__name__}: {err}\n{traceback.format_exc()}"})


def run_concurrent(k: int, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    """Start k spawned processes of ``concurrent_worker``; return their reports."""
    import queue as queue_mod

    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(k), ctx.Queue()
    procs = [ctx.Process(target=concurrent_worker, args=(r, cfg, barrier, queue)) for r in range(k)]
    for p in procs:
        p.start()
    reports: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + cfg["timeout"]
        while len(reports) < k:
            try:
                reports.append(queue.get(timeout=5.0))
            except queue_mod.Empty as err:
                crashed = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
                if crashed or time.monotonic() > deadline:
                    why = f"exit codes {crashed}" if crashed else f"{cfg['timeout']:.0f} s passed"
                    raise RuntimeError(
                        f"k={k}: only {len(reports)} of {k} trainings reported ({why})"
                    ) from err
    finally:
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    errors = [r["error"] for r in reports if "error" in r]
    if errors:
        raise RuntimeError(f"k={k}: a training failed: {errors[0]}")
    return reports


def part_concurrent(args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    """Total and per-training images/s of k simultaneous trainings on one device."""
    cfg = {
        "device": str(device),
        "width": args.width,
        "batch": args.concurrent_batch,
        "steps": args.concurrent_steps,
        "warmup": args.warmup_steps,
        "timeout": args.concurrent_timeout,
    }
    print(
        f"{args.concurrent_steps} steps of resnet18 width {args.width} at batch "
        f"{args.concurrent_batch} per training (spawned processes, eager, 1 CPU thread each, "
        f"{'bf16 autocast' if device.type == 'cuda' else 'fp32'}), on {device}"
    )
    train_flops = 3 * forward_flops_per_image(args.width)
    rows: list[dict[str, Any]] = []
    for k in sorted(args.ks):
        reports = run_concurrent(k, cfg)
        total_images = sum(r["images"] for r in reports)
        span = max(r["t1"] for r in reports) - min(r["t0"] for r in reports)
        per = [r["images"] / (r["t1"] - r["t0"]) for r in reports]
        rows.append(
            {
                "k": k,
                "total_images_per_s": total_images / span,
                "per_training_images_per_s": sum(per) / len(per),
                "slowest_training_images_per_s": min(per),
                "span_s": span,
                "total_tflops_per_s": total_images / span * train_flops / 1e12,
            }
        )
        rows[-1]["speedup_vs_k1"] = rows[-1]["total_images_per_s"] / rows[0]["total_images_per_s"]
    table = [
        [
            str(r["k"]),
            fmt_rate(r["total_images_per_s"]),
            fmt_rate(r["per_training_images_per_s"]),
            f"{r['speedup_vs_k1']:.2f}x",
            f"{r['total_tflops_per_s']:.1f}",
        ]
        for r in rows
    ]
    header = ["k", "total images/s", "per training images/s", "speed-up vs k=1", "TFLOP/s"]
    print_table(header, table)
    return {
        "title": f"k concurrent trainings (ResNet-18 width {args.width}, batch "
        f"{args.concurrent_batch}, {args.concurrent_steps} steps each, separate processes)",
        "rows": rows,
        "config": cfg,
        "markdown": md_table(header, table),
    }


# ------------------------------------------------------------------------------------------ main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    ap.add_argument(
        "--device", choices=["cpu", "cuda"], help="default: cuda if available (cpu with --tiny)"
    )
    ap.add_argument(
        "--tiny",
        action="store_true",
        help="toy sizes (overriding the size options), ~20 s on a CPU",
    )
    ap.add_argument("--out", type=Path, help="also write every figure to this JSON file")
    ap.add_argument("--repeats", type=int, default=2, help="timed repeats (best kept)")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--width", type=float, default=1.0, help="ResNet-18 width (parts 2 and 3)")
    ap.add_argument("--render-sets", nargs="+", default=list(RENDER_SETS))
    ap.add_argument("--render-n-cpu", type=int, default=4096)
    ap.add_argument("--render-n-gpu", type=int, default=32768)
    ap.add_argument("--render-batch", type=int, default=1024, help="render_split's default")
    ap.add_argument("--render-batch-gpu", type=int, default=8192)
    ap.add_argument("--train-batches", type=int, nargs="+", default=[128, 512])
    ap.add_argument("--train-images", type=int, default=51200, help="images per timed run")
    ap.add_argument("--warmup-steps", type=int, default=15)
    ap.add_argument("--compile-backend", default="inductor", help="'none' to skip torch.compile")
    ap.add_argument("--ks", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--concurrent-batch", type=int, default=128)
    ap.add_argument("--concurrent-steps", type=int, default=300)
    ap.add_argument("--concurrent-timeout", type=float, default=300.0)
    args = ap.parse_args(argv)
    if args.tiny:
        args.device = args.device or "cpu"
        args.threads = args.threads or 1  # tiny tensors: one thread, no oversubscription
        args.repeats, args.width, args.warmup_steps = 1, 0.125, 1
        args.render_n_cpu = args.render_n_gpu = 128
        args.render_batch, args.render_batch_gpu = 64, 128
        args.train_batches, args.train_images = [16, 32], 64
        if args.compile_backend == "inductor":
            args.compile_backend = "eager"  # dynamo tracing only: inductor takes minutes on a CPU
        args.ks, args.concurrent_batch, args.concurrent_steps = [1, 2], 16, 3
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available on this machine")
    return args


def machine_info(device: torch.device) -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {
        "device": str(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["gpu_memory_gib"] = torch.cuda.get_device_properties(device).total_memory / 2**30
    return info


def summary_markdown(info: dict[str, Any], parts: dict[str, dict[str, Any]], wall_s: float) -> str:
    """The markdown block for docs/benchmarks.md."""
    where = info.get("gpu") or f"CPU only ({info['cpu_count']} cores)"
    md = (
        f"## GPU check (`benchmarks/gpu_check.py`)\n{where}, torch {info['torch']} "
        f"(CUDA {info['cuda']}), Python {info['python']}, {info['date']}; whole script "
        f"{wall_s:.0f} s.\n"
    )
    for name, part in parts.items():
        md += f"\n### {part.get('title', name)}\n"
        md += part["markdown"] if "markdown" in part else f"failed: {part.get('error')}\n"
    return md


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    print_machine(torch.get_num_threads(), device.type)
    info = machine_info(device)
    print(
        f"python {info['python']}, torch {info['torch']}, CUDA {info['cuda']}, device {device}"
        + (f" ({info['gpu']})" if "gpu" in info else "")
    )
    runners = {
        "render": part_render,
        "train": part_train,
        "concurrent": part_concurrent,
    }
    parts: dict[str, dict[str, Any]] = {}
    for name in args.parts:
        print(f"\n== {name} ==")
        t0 = time.perf_counter()
        try:
            result = {"status": "ok", **runners[name](args, device)}
        except Exception as err:
            traceback.print_exc()
            result = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
        if result["status"] != "ok":
            print(f"part {name} FAILED: {result['error']}")
        result["seconds"] = time.perf_counter() - t0
        print(f"({name}: {result['seconds']:.1f} s)")
        parts[name] = result
        if device.type == "cuda":
            torch.cuda.empty_cache()
    wall_s = time.perf_counter() - start
    failed = [n for n, p in parts.items() if p["status"] != "ok"]
    md = summary_markdown(info, parts, wall_s)
    print("\n== markdown summary (for docs/benchmarks.md) ==\n" + md)
    print(
        f"total wall time: {wall_s:.1f} s; "
        + (f"FAILED parts: {failed}" if failed else "all parts ok")
    )
    if args.out:
        report = {
            "machine": info,
            "args": vars(args),
            "parts": parts,
            "wall_s": wall_s,
            "failed": failed,
            "markdown": md,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, default=str))
        print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
