"""benchmarks/probe_batched.py: both modes run and print measured numbers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tiny_mode_prints_the_table() -> None:
    proc = subprocess.run(
        [sys.executable, "benchmarks/probe_batched.py", "--tiny"],
        cwd=REPO,
        env={**os.environ, "DO_NOT_TRACK": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = re.findall(
        r"^\| cpu \| (\d+) \| [\d.]+ \| [\d.]+ \| ([\d.]+)x \| ([\d.]+) \|$", proc.stdout, re.M
    )
    assert [r[0] for r in rows] == ["1", "4"]
    assert all(float(r[2]) <= 0.05 for r in rows)  # batched and separate probes agree
