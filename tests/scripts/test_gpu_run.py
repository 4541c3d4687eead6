"""scripts/gpu_run.sh --tiny: the GPU machine's script runs here end to end and prints its figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_tiny_run_prints_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run(
        ["bash", "scripts/gpu_run.sh", "--tiny"],
        cwd=REPO,
        env={**os.environ, "PYTHON": sys.executable, "OUT": str(out), "DO_NOT_TRACK": "true"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = (out / "summary.md").read_text()
    for label in ("sequential", "parallel"):
        assert f"### harm --env paper, shrunk, {label}:" in summary
        assert (out / f"harm_{label}" / "table1.csv").exists()
    assert summary.count("| model \\ probed on | C/C | C+O/C | C+O/O | O/O |") == 2
    assert "6 pretrainings" in summary and "training images/s each" in summary
    assert "- kedro " in summary and "- torch " in summary
    assert "| cpu | 4 |" in summary  # the batched-probe table
    assert "### ResNet-18" in summary and "### k concurrent trainings" in summary
    assert not any(Path(REPO, "data", "08_reporting", "harm").glob("*.tmp"))


def test_unknown_option_is_refused() -> None:
    proc = subprocess.run(
        ["bash", "scripts/gpu_run.sh", "--fast"], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode == 2 and "usage" in proc.stderr
