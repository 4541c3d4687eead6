"""Counter-based per-sample randomness.

Every random number of a dataset is a pure function of (dataset seed, split, sample index, stream,
position): a 32-bit integer hash evaluated with vectorised integer ops. The same draw therefore comes
out whatever the batch size, the order of generation or the device (integer ops are exact on CPU and
CUDA), and train / val / test are independent streams. This fixes the original implementation, whose
draws depended on the DataLoader worker count and changed every epoch.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

_MASK32 = 0xFFFFFFFF


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """A 32-bit integer finaliser (lowbias32) on int64 tensors holding values in [0, 2**32)."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & _MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & _MASK32
    return x ^ (x >> 16)


def stable_hash(*parts: object) -> int:
    """A 32-bit hash of strings and ints that is stable across processes (unlike ``hash``)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode())


@dataclass(frozen=True)
class SampleRandom:
    """Random draws for a batch of samples, keyed by (seed, split, indices).

    ``stream`` names what a draw is for (``"class"``, ``"rotate.angle"``...), so adding a new
    transformation never changes the draws of the others.
    """

    seed: int
    split: str
    indices: torch.Tensor

    @property
    def n(self) -> int:
        return int(self.indices.numel())

    def _bits(self, stream: str, size: int) -> torch.Tensor:
        key = stable_hash(self.seed, self.split, stream)
        idx = self.indices.to(torch.int64).reshape(-1, 1) & _MASK32
        counter = torch.arange(size, dtype=torch.int64, device=self.indices.device).reshape(1, -1)
        h = _mix32(idx ^ key)
        h = _mix32((h + counter * 0x9E3779B9) & _MASK32)
        return _mix32(h ^ (key >> 1))

    def uniform(
        self, stream: str, *shape: int, low: float = 0.0, high: float = 1.0
    ) -> torch.Tensor:
        """U[low, high) draws of shape [N, *shape] (float32, strictly inside (0, 1) before scaling)."""
        size = 1
        for s in shape:
            size *= s
        bits = self._bits(stream, max(size, 1)) >> 8
        u = (bits.to(torch.float32) + 0.5) / float(1 << 24)
        u = u.reshape(self.n, *shape) if shape else u.reshape(self.n)
        return low + (high - low) * u

    def normal(self, stream: str, *shape: int) -> torch.Tensor:
        """Standard normal draws of shape [N, *shape] (Box-Muller on two uniform streams)."""
        u1 = self.uniform(stream + "#1", *shape)
        u2 = self.uniform(stream + "#2", *shape)
        return torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * torch.pi * u2)

    def bernoulli(self, stream: str, p: float) -> torch.Tensor:
        """Boolean [N]: True with probability p."""
        return self.uniform(stream) < p

    def integers(self, stream: str, high: int) -> torch.Tensor:
        """Uniform integers in [0, high) of shape [N] (int64)."""
        return torch.clamp((self.uniform(stream) * high).to(torch.int64), max=high - 1)

    def derive(self, suffix: str) -> SampleRandom:
        """The same samples on an independent sub-stream (e.g. the second member of a pair)."""
        return SampleRandom(self.seed, f"{self.split}/{suffix}", self.indices)


_GLOBAL_RNG = threading.Lock()


@contextmanager
def seeded_global_rng(seed: int) -> Iterator[None]:
    """Run the body (e.g. a weight initialisation) with torch's global RNG seeded to ``seed``.

    Trainings running in threads take turns here, and the global RNG is restored afterwards, so
    the result depends on ``seed`` only, whatever runs beside it.
    """
    with _GLOBAL_RNG, torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        yield
