"""benchmarks/gpu_check.py --tiny: every part runs (on the CPU here) and reports throughputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PARTS = ("render", "train", "concurrent")


def numbers(node: Any) -> Iterator[float]:
    """Every number in a JSON value."""
    if isinstance(node, dict | list):
        for v in node.values() if isinstance(node, dict) else node:
            yield from numbers(v)
    elif isinstance(node, int | float) and not isinstance(node, bool):
        yield float(node)


def rates(node: Any) -> Iterator[float]:
    """Every number under a key ending in ``_per_s`` (images/s, samples/s, TFLOP/s)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from numbers(v) if str(k).endswith("_per_s") else rates(v)
    elif isinstance(node, list):
        for v in node:
            yield from rates(v)


def test_tiny_run_reports_every_part(tmp_path: Path) -> None:
    out = tmp_path / "gpu_check.json"
    proc = subprocess.run(
        [sys.executable, "benchmarks/gpu_check.py", "--tiny", "--out", str(out)],
        cwd=REPO,
        env={**os.environ, "DO_NOT_TRACK": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["failed"] == []
    assert set(report["parts"]) == set(PARTS)
    for name in PARTS:
        part = report["parts"][name]
        assert part["status"] == "ok", (name, part.get("error"))
        found = list(rates(part))
        assert found, f"{name}: no throughput reported"
        assert all(v > 0 for v in found), (name, found)
    assert [r["k"] for r in report["parts"]["concurrent"]["rows"]] == [1, 2]
    assert "## GPU check" in report["markdown"]
    assert "total wall time" in proc.stdout
