"""One run per project folder at a time: a second run stops at once, naming the first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from transfer_invariance import run_lock
from transfer_invariance.errors import user_error


@pytest.fixture
def other_process():
    """A live process that is not this one (its pid holds a lock)."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def _hold(project: Path, pid: int, host: str | None = None) -> Path:
    path = project / run_lock.LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    holder = {"pid": pid, "host": host or os.uname().nodename, "command": "kedro run --pipeline=pretrain", "started": "2026-12-04 10:00:00"}  # fmt: skip
    path.write_text(json.dumps(holder))
    return path


def test_a_second_run_stops_before_any_work_naming_the_first(kedro_project, other_process):
    lock = _hold(Path.cwd(), other_process.pid)
    with pytest.raises(Exception) as err:
        kedro_project("generate_data", {"render": {"progress": False}})
    found = user_error(err.value)
    assert found is not None and f"pid {other_process.pid}" in str(found)
    assert "kedro run --pipeline=pretrain" in str(found) and run_lock.ALLOW_ENV in str(found)
    assert [p for p in Path("data").rglob("*") if p.is_file()] == [run_lock.LOCK]  # no work
    assert json.loads(lock.read_text())["pid"] == other_process.pid  # not taken from it


def test_a_stale_lock_is_taken_over_and_released(tmp_path, other_process, caplog):
    other_process.kill()
    other_process.wait()
    path = _hold(tmp_path, other_process.pid)  # left by a run killed with kill -9
    with caplog.at_level("WARNING"):
        assert run_lock.acquire(tmp_path) == path
    assert "no longer running" in caplog.text
    assert json.loads(path.read_text())["pid"] == os.getpid()
    run_lock.release(path)
    assert not path.exists()


def test_a_lock_of_another_host_or_the_opt_in(tmp_path, monkeypatch):
    _hold(tmp_path, 1, host="elsewhere")
    with pytest.raises(run_lock.RunningElsewhereError, match="on elsewhere.*delete"):
        run_lock.acquire(tmp_path)
    monkeypatch.setenv(run_lock.ALLOW_ENV, "1")
    assert run_lock.acquire(tmp_path) is None  # the user opted in


def test_a_finished_run_leaves_no_lock(kedro_project):
    kedro_project("generate_data", {"render": {"progress": False}})
    assert not (Path.cwd() / run_lock.LOCK).exists()
