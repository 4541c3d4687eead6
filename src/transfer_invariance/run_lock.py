"""One ``kedro run`` per project folder at a time: a lock file next to the data.

Two runs in one folder would train the same models side by side and overwrite each other's
artifacts. ``acquire`` writes ``data/.run.lock`` (pid, host, command, start time) or stops with
the running process named; a lock whose process no longer exists on this host (after ``kill -9``)
is stale and taken over with a warning; ``release`` removes it (also at interpreter exit).
``TRANSFER_INVARIANCE_CONCURRENT_RUNS=1`` lets a second run start anyway.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path

from transfer_invariance.errors import UserError

logger = logging.getLogger(__name__)

LOCK = Path("data") / ".run.lock"
ALLOW_ENV = "TRANSFER_INVARIANCE_CONCURRENT_RUNS"


class RunningElsewhereError(UserError):
    """Another run holds the project folder's lock."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holder(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def acquire(project: Path) -> Path | None:
    """Take the lock of ``project`` for this process; None when concurrent runs are allowed."""
    if os.environ.get(ALLOW_ENV) == "1":
        return None
    path = project / LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    me = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    holder = _holder(path)
    if holder is not None and holder.get("pid") != me["pid"]:
        same_host = holder.get("host") == me["host"]
        if not same_host or _alive(int(holder.get("pid", 0))):
            where = "" if same_host else f" on {holder.get('host')}"
            raise RunningElsewhereError(
                f"another run is using this project folder: pid {holder.get('pid')}{where}, "
                f"`{holder.get('command')}`, started {holder.get('started')} ({path}). Two runs "
                "here would train the same models twice and overwrite each other's artifacts. "
                f"Wait for it to finish, or set {ALLOW_ENV}=1 to start anyway"
                + ("" if same_host else f" (or delete {path} if that run has ended)")
                + "."
            )
        logger.warning(
            "Taking over %s: it was left by pid %s (`%s`), which is no longer running",
            path,
            holder.get("pid"),
            holder.get("command"),
        )
    path.write_text(json.dumps(me))
    atexit.register(release, path)
    return path


def release(path: Path | None) -> None:
    """Remove the lock if this process holds it."""
    if path is None:
        return
    holder = _holder(path)
    if holder is not None and holder.get("pid") == os.getpid():
        path.unlink(missing_ok=True)
