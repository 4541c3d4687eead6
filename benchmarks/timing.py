"""Shared helpers of the benchmark scripts: best-of-n timing and the machine line."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import torch


def best_time(fn: Callable[[], object], repeats: int, sync: Callable[[], None]) -> float:
    """Seconds of the fastest of ``repeats`` runs of ``fn`` (``sync`` waits for the device)."""
    best = float("inf")
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def print_machine(threads: int, device: str) -> None:
    """What the numbers were measured on, and a warning when other load makes them unreliable."""
    print(
        f"machine: processor={platform.processor() or platform.machine()!r} "
        f"cpu_count={os.cpu_count()} torch={torch.__version__} threads={threads} "
        f"device={device} load_avg_1min={os.getloadavg()[0]:.2f}"
        + (f" ({torch.cuda.get_device_name()})" if device == "cuda" else "")
    )
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print(
            "WARNING: the machine is busy; CPU timings (above all with threads > 1, where OpenMP "
            "threads fight the other load) will be unreliable. Use an idle machine or --threads 1."
        )
