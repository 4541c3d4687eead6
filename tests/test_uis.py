"""The MLflow UI and kedro viz, opened in headless Chromium, show what the README promises.

Runs ``scripts/check_uis.py``'s functions on a tiny ``kedro run --pipeline=harm`` (about 80 s on
a 2-core CPU). Marked ``browser``; skipped where Debian's ``chromium`` and ``chromium-driver``
are not installed. The servers' clean-up is tested without a browser.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def _load_script() -> ModuleType:
    """``scripts/check_uis.py`` as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location("check_uis", REPO / "scripts" / "check_uis.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_uis = _load_script()

needs_chromium = pytest.mark.skipif(
    check_uis.missing_browser() is not None, reason=f"{check_uis.missing_browser()}"
)

SCREENSHOTS = ("mlflow_runs.png", "mlflow_training_run.png", "mlflow_artifacts.png")


@pytest.mark.browser
@needs_chromium
def test_mlflow_ui_and_kedro_viz_show_the_tiny_harm_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = check_uis.make_tiny_project(tmp_path / "project")
    check_uis.run_tiny(project)
    started: list = []
    start_server = check_uis.start_server

    def recording(*args, **kwargs):
        server = start_server(*args, **kwargs)
        started.append(server)
        return server

    monkeypatch.setattr(check_uis, "start_server", recording)
    report = check_uis.Report()
    check_uis.check(project, tmp_path / "shots", report)

    checked = "\n".join(report.lines)
    for promised in ("nested runs", "per-epoch curves", "headline metrics", "harm/table1.png"):
        assert promised in checked
    assert "harm.co_c" in checked and "modular pipelines" in checked
    for name in (*SCREENSHOTS, "kedro_viz_harm.png"):
        with Image.open(tmp_path / "shots" / name) as image:
            assert image.size == check_uis.WINDOW
    assert [s.name for s in started] == ["mlflow ui", "kedro viz"]
    for server in started:  # stopped, children included
        assert not check_uis.group_alive(server.process.pid)
        assert not check_uis._answers(server.url)


# a server whose child ignores SIGTERM: stopping it takes the process group and SIGKILL
STUBBORN = """
import signal, subprocess, sys, time
child = '''
import http.server, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])),
    http.server.SimpleHTTPRequestHandler).serve_forever()
'''
subprocess.Popen([sys.executable, "-c", child, sys.argv[1]])
time.sleep(600)
"""


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_servers_and_their_children_are_stopped_on_ctrl_c(tmp_path: Path) -> None:
    command = [sys.executable, "-c", STUBBORN, str(_port())]
    with pytest.raises(KeyboardInterrupt), ExitStack() as stack:
        server = check_uis.start_server(stack, "stubborn", command, tmp_path, tmp_path)
        server.wait_until_up("/", 30)
        raise KeyboardInterrupt
    assert not check_uis.group_alive(server.process.pid)
    assert not check_uis._answers(server.url)


def test_a_server_that_dies_is_reported_with_its_log(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; sys.exit('no database here')", "1"]
    with pytest.raises(check_uis.CheckFailed, match=r"exited with status 1(.|\n)*no database here"):
        with ExitStack() as stack:
            server = check_uis.start_server(stack, "dying", command, tmp_path, tmp_path)
            server.wait_until_up("/", 30)
