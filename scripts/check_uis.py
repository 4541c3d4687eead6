"""Check in headless Chromium that the MLflow UI and kedro viz show what the README promises.

After a tiny ``kedro run --pipeline=harm`` in a scratch project (or on ``--project DIR``, a project
folder where such a run was made), the check starts ``mlflow ui`` and ``kedro viz run`` on free
loopback ports, opens their pages in Debian's headless Chromium through Selenium, asserts what
the README says one finds there, and writes the README's screenshots:

- MLflow: the ``kedro run``'s run (named after the pipeline, ``harm``) with its nested training
  runs named ``<namespace> | <stage> | seed <n>`` and tagged ``seed``; a training run's per-epoch
  curves; the report figures and tables as artifacts of the parent run (``harm/table1.png``)
  and its headline metrics (``harm/table1/<model>/<column>``).
- kedro viz: the harm pipeline with its conditions (``co_c``, ...) as collapsible namespaces.

Both servers run in their own process group and are stopped whatever happens (failure, Ctrl-C).
Needs ``apt-get install chromium chromium-driver`` and ``pip install -e ".[test]"`` (Selenium);
nothing is downloaded: the browser is told to stay off the network.

    python scripts/check_uis.py                      # tiny run in a temp folder: 45 s on 2 CPUs
    python scripts/check_uis.py --project .          # the runs of this project folder
    python scripts/check_uis.py --screenshots /tmp/s # screenshots elsewhere (default docs/images)

Exit status 0 when every check passed; otherwise 1 with the failed check's message.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
EXPERIMENT = "transfer_invariance"  # conf/base/mlflow.yml
PIPELINE = "harm"
WINDOW = (1400, 900)
# kedro viz's saved settings for a first visit: no feature tour, no minimap over the flowchart
VIZ_STATE = {
    "showFeatureHints": False,
    "visible": {"code": False, "graph": True, "miniMap": False, "sidebar": True},
}

# The tiny harm run: seconds per training, yet every stage and namespace of the real one. A few
# epochs so that the curves have points; parameters are soft-merged over conf/base.
TINY_PARAMETERS = """\
harm:
  seeds: [0]
  data: {n_train: 60, n_val: 20, n_test: 30, n_pairs: 20}
  training: {width: 0.125, epochs: 3, batch_size: 32}
  probe: {epochs: 3}
  invariance: {n_random_pairs: 50}
  grid: {rhos: [0.0, 1.0], betas: [0.5], seeds: [0]}
"""

# Chromium flags that keep the browser off the network (no update checks, sync, fonts from the
# web: every host name but the loopback address fails at once) and usable as root in a container.
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)


class CheckFailed(Exception):
    """A promised thing is not there (or a server did not start): the message says which."""


@dataclass
class Report:
    """What was checked, printed as it goes."""

    lines: list[str] = field(default_factory=list)

    def ok(self, what: str) -> None:
        self.lines.append(what)
        print(f"  ok  {what}", flush=True)


def _environment() -> dict[str, str]:
    """The environment for the servers and the run: no telemetry, nothing from the network."""
    env = dict(os.environ)
    env.update(
        DO_NOT_TRACK="true",
        MLFLOW_ENABLE_TELEMETRY="false",
        KEDRO_DISABLE_TELEMETRY="true",
        SE_OFFLINE="true",  # Selenium Manager, should anything call it: never download
        # the MLflow server's job runner (GenAI jobs: 7 more processes) is not needed to browse
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false",
    )
    return env


# ---------------------------------------------------------------- the project and the tiny run


def make_tiny_project(folder: Path) -> Path:
    """A scratch project in ``folder``: the repository's pyproject.toml and conf/, empty data/ and
    src/ (the package is installed), and the tiny parameters in conf/local/parameters_tiny.yml."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "pyproject.toml", folder / "pyproject.toml")
    shutil.copytree(REPO / "conf", folder / "conf", ignore=shutil.ignore_patterns("local"))
    (folder / "conf" / "local").mkdir()
    (folder / "conf" / "local" / "parameters_tiny.yml").write_text(TINY_PARAMETERS)
    (folder / "data").mkdir()
    (folder / "src").mkdir()
    return folder


def run_tiny(project: Path, log: Path | None = None) -> float:
    """``kedro run --pipeline=harm`` in ``project``; returns its wall time in seconds."""
    log = log or project / "kedro_run.log"
    start = time.monotonic()
    with log.open("w") as out:
        done = subprocess.run(
            [_bin("kedro"), "run", f"--pipeline={PIPELINE}"],
            cwd=project,
            env=_environment(),
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise CheckFailed(f"`kedro run --pipeline={PIPELINE}` failed in {project}:\n{tail}")
    return time.monotonic() - start


def _bin(name: str) -> str:
    """The console script ``name`` of this Python's environment (else the one on PATH)."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        raise CheckFailed(f"`{name}` is not installed: pip install -e '.[test]'")
    return found


# ---------------------------------------------------------------- servers


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on ``host`` below 49152 (kedro viz refuses higher ones)."""
    for _ in range(200):
        port = random.randint(20000, 45000)
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return port
    raise CheckFailed("no free TCP port found on the loopback interface")


@dataclass
class Server:
    """A server started in its own process group (with its children), logging to a file."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        """The last lines of the server's log, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def wait_until_up(self, ready: str, timeout: float) -> float:
        """Wait until ``url + ready`` answers 200; returns the seconds it took."""
        start = time.monotonic()
        while not _answers(self.url + ready):
            if self.process.poll() is not None:
                raise CheckFailed(
                    f"{self.name} exited with status {self.process.returncode} before "
                    f"answering on {self.url} (log {self.log}):\n{self.tail()}"
                )
            if time.monotonic() - start > timeout:
                raise CheckFailed(
                    f"{self.name} did not answer on {self.url} within {timeout:.0f} s "
                    f"(log {self.log}):\n{self.tail()}"
                )
            time.sleep(0.5)
        return time.monotonic() - start

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL to whatever is left of it after 5 s."""
        group = self.process.pid  # start_new_session: the group id is the leader's pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(group, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                self.process.poll()  # reaps the leader, our child
                if not group_alive(group):
                    return
                time.sleep(0.1)


def group_alive(group: int) -> bool:
    """Whether a process of process group ``group`` is still running (zombies are not)."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: a zombie counts as alive
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[2]) == group and fields[0] != "Z":  # fields: state, ppid, pgrp, ...
            return True
    return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_server(
    stack: ExitStack, name: str, command: Sequence[str], cwd: Path, logs: Path
) -> Server:
    """Start ``command`` (whose last argument is its port) in ``cwd`` in a new process group,
    its output in ``logs``; ``stack`` stops the whole group on the way out, whatever happens."""
    log = logs / f"{name.replace(' ', '_')}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopped as a whole
        )
    running = Server(name, f"http://127.0.0.1:{command[-1]}", process, log)
    stack.callback(running.stop)
    return running


def start_mlflow_ui(stack: ExitStack, project: Path, logs: Path) -> Server:
    """``mlflow ui`` on the project's ``sqlite:///mlflow.db``: one worker, loopback, a free port."""
    command = [_bin("mlflow"), "ui", "--backend-store-uri", "sqlite:///mlflow.db"]
    command += ["--workers", "1", "--host", "127.0.0.1", "--port", str(free_port())]
    return start_server(stack, "mlflow ui", command, project, logs)


def start_kedro_viz(stack: ExitStack, project: Path, logs: Path) -> Server:
    """``kedro viz run`` on the project (its server is a child process, in the same group)."""
    command = [_bin("kedro"), "viz", "run", "--no-browser", "--host", "127.0.0.1"]
    command += ["--port", str(free_port())]
    return start_server(stack, "kedro viz", command, project, logs)


# ---------------------------------------------------------------- what the MLflow server holds


def _api(base: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """GET (or POST ``body`` to) the MLflow server's REST API; the decoded JSON."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(response.read()))
    except urllib.error.HTTPError as err:
        detail = err.read().decode(errors="replace")[:300]
        raise CheckFailed(f"MLflow API {path}: HTTP {err.code} {detail}") from None


def _tags(run: dict[str, Any]) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["data"].get("tags", [])}


def _metrics(run: dict[str, Any]) -> dict[str, float]:
    return {m["key"]: m["value"] for m in run["data"].get("metrics", [])}


NESTED_NAME = re.compile(r"^(?P<namespace>\S+) \| (?P<stage>[^|]+) \| seed (?P<seed>\d+)$")
HEADLINE = f"{PIPELINE}/table1/"  # the parent run's Table 1 numbers: harm/table1/<model>/<column>


@dataclass
class Runs:
    """The latest ``harm`` run as the MLflow server reports it: experiment, parent, children."""

    experiment_id: str
    parent: dict[str, Any]
    children: list[dict[str, Any]]

    @property
    def parent_id(self) -> str:
        return str(self.parent["info"]["run_id"])

    def names(self) -> list[str]:
        return sorted(r["info"]["run_name"] for r in self.children)

    def namespaces(self) -> set[str]:
        return {m["namespace"] for n in self.names() if (m := NESTED_NAME.match(n))}


def find_runs(base: str, report: Report) -> Runs:
    """The latest FINISHED ``harm`` run and its nested runs, their names and seed tags checked."""
    try:
        found = _api(base, f"experiments/get-by-name?experiment_name={EXPERIMENT}")
    except CheckFailed as err:
        raise CheckFailed(
            f"no MLflow experiment '{EXPERIMENT}' here: run `kedro run --pipeline={PIPELINE}` "
            f"first ({err})"
        ) from None
    experiment_id = found["experiment"]["experiment_id"]
    runs: list[dict[str, Any]] = []
    token = None
    while True:
        body: dict[str, Any] = {"experiment_ids": [experiment_id], "max_results": 1000}
        if token:
            body["page_token"] = token
        page = _api(base, "runs/search", body)
        runs += page.get("runs", [])
        token = page.get("next_page_token")
        if not token:
            break
    parents = [
        r
        for r in runs
        if r["info"]["run_name"] == PIPELINE
        and r["info"]["status"] == "FINISHED"
        and "mlflow.parentRunId" not in _tags(r)
    ]
    if not parents:
        raise CheckFailed(f"no FINISHED run named '{PIPELINE}' in MLflow experiment '{EXPERIMENT}'")
    parent = max(parents, key=lambda r: int(r["info"]["start_time"]))
    children = [r for r in runs if _tags(r).get("mlflow.parentRunId") == parent["info"]["run_id"]]
    result = Runs(experiment_id, parent, children)
    if not children:
        raise CheckFailed(f"the '{PIPELINE}' run {result.parent_id} has no nested runs")
    for run in children:
        name = run["info"]["run_name"]
        match = NESTED_NAME.match(name)
        if match is None or not match["namespace"].startswith(f"{PIPELINE}."):
            raise CheckFailed(
                f"nested run '{name}' is not named '{PIPELINE}.<ns> | <stage> | seed N'"
            )
        if _tags(run).get("seed") != match["seed"]:
            raise CheckFailed(f"nested run '{name}' has the tag seed={_tags(run).get('seed')!r}")
    stages = {m["stage"].split(" ")[0] for n in result.names() if (m := NESTED_NAME.match(n))}
    if not {"pretrain", "probe", "sensitivity"} <= stages:
        raise CheckFailed(f"the nested runs cover the stages {sorted(stages)} only")
    report.ok(
        f"MLflow API: run '{PIPELINE}' {result.parent_id[:8]} with {len(children)} nested runs "
        f"({', '.join(sorted(stages))}), each named '<namespace> | <stage> | seed N', tag seed=N"
    )
    return result


def training_run(base: str, runs: Runs, report: Report) -> tuple[dict[str, Any], list[str]]:
    """A pretraining run (``harm.co_c`` if there) and its per-epoch curves (2+ points each)."""
    pretrain = sorted(
        (r for r in runs.children if " | pretrain | " in r["info"]["run_name"]),
        key=lambda r: (
            not r["info"]["run_name"].startswith(f"{PIPELINE}.co_c |"),
            r["info"]["run_name"],
        ),
    )
    if not pretrain:
        raise CheckFailed("no nested pretraining run")
    run = pretrain[0]
    curves = [m for m in ("train_loss", "val_loss", "train_acc", "val_acc") if m in _metrics(run)]
    if len(curves) < 4:
        raise CheckFailed(f"'{run['info']['run_name']}' lacks train/val loss/acc: {_metrics(run)}")
    for metric in curves:
        query = urllib.parse.urlencode({"run_id": run["info"]["run_id"], "metric_key": metric})
        history = _api(base, f"metrics/get-history?{query}").get("metrics", [])
        if len({h.get("step", 0) for h in history}) < 2:
            raise CheckFailed(f"'{run['info']['run_name']}' {metric} has {len(history)} point(s)")
    report.ok(f"MLflow API: '{run['info']['run_name']}' has per-epoch curves {', '.join(curves)}")
    return run, curves


# ---------------------------------------------------------------- the browser


def missing_browser() -> str | None:
    """What is missing to run the browser checks (None when nothing is)."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return f"{path} is missing: apt-get install -y {package}"
    return None


def browser() -> Any:
    """Headless Chromium driven by Debian's chromedriver (Selenium Manager never runs), with a
    fresh profile and an exact WINDOW-sized viewport."""
    missing = missing_browser()
    if missing:
        raise CheckFailed(missing)
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    profile = tempfile.mkdtemp(prefix="check_uis_chromium_")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False},
    )
    driver.profile_dir = profile
    return driver


def close_browser(driver: Any) -> None:
    """Quit Chromium and remove its profile."""
    try:
        driver.quit()
    finally:
        shutil.rmtree(getattr(driver, "profile_dir", ""), ignore_errors=True)


CLICK_SETTLE = 10.0  # seconds a click may take to show its effect before it is repeated


def wait_for(driver: Any, what: str, condition: Callable[[Any], Any], timeout: float = 60) -> Any:
    """Wait until ``condition(driver)`` is truthy and return it; else CheckFailed naming ``what``."""
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def attempt(d: Any) -> Any:
        try:
            return condition(d)
        except WebDriverException:  # the page is still being rendered
            return False

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.5).until(attempt)
    except TimeoutException:
        raise CheckFailed(
            f"{what}: not shown within {timeout:.0f} s on {driver.current_url}"
        ) from None


def _text(driver: Any) -> str:
    from selenium.webdriver.common.by import By

    return str(driver.find_element(By.TAG_NAME, "body").text)


def shows(*texts: str) -> Callable[[Any], bool]:
    """Condition: each of ``texts`` is in the page's visible text."""
    return lambda d: all(t in _text(d) for t in texts)


def elements(css: str, at_least: int = 1) -> Callable[[Any], list[Any]]:
    """Condition: at least ``at_least`` displayed elements match ``css`` (returns them)."""
    from selenium.webdriver.common.by import By

    def found(d: Any) -> list[Any]:
        shown = [e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        return shown if len(shown) >= at_least else []

    return found


def click(
    driver: Any, what: str, css: str, until: Callable[[Any], Any], timeout: float = 60
) -> Any:
    """Click the first displayed element matching ``css`` until ``until(driver)`` holds, and return
    that. The pages animate: a click that lands while they do can be dropped (seen in CI: kedro viz
    left its pipeline collapsed), so a click without effect within ``CLICK_SETTLE`` s is repeated
    (the wait is long enough that a slow toggle is not clicked back)."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    while True:
        try:
            wait_for(driver, what, elements(css), max(1.0, deadline - time.monotonic()))[0].click()
        except WebDriverException:  # re-rendered between finding and clicking: find it again
            pass
        try:
            settle = max(0.5, min(CLICK_SETTLE, deadline - time.monotonic()))
            return wait_for(driver, what, until, settle)
        except CheckFailed:
            if time.monotonic() + 1 >= deadline:
                raise


def screenshot(driver: Any, folder: Path, name: str, report: Report) -> Path:
    """Save the viewport as ``folder/name`` (animations given a moment to finish)."""
    time.sleep(1.5)
    driver.execute_script("document.activeElement && document.activeElement.blur()")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not driver.save_screenshot(str(path)):
        raise CheckFailed(f"could not write the screenshot {path}")
    report.ok(f"screenshot {path}")
    return path


# ---------------------------------------------------------------- the checks


def check_mlflow(driver: Any, base: str, shots: Path, report: Report) -> Runs:
    """The runs list with the nested runs, a training run's curves, the parent's metrics and
    its report artifacts, as the MLflow UI shows them."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    runs = find_runs(base, report)
    run, curves = training_run(base, runs, report)
    experiment = f"{base}/#/experiments/{runs.experiment_id}"
    mode = "workflowType=machine_learning"  # MLflow 3 opens on its GenAI view otherwise

    # no assistant panel sliding in over the page (MLflow 3.17 opens it on a first visit)
    driver.get(f"{base}/health")
    driver.execute_script(
        "localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');"
        "localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');"
    )

    # 1. the runs: the parent run, expanded to its nested runs (oldest first: pretraining on top)
    driver.get(f"{experiment}/runs?{mode}&orderByKey=attributes.start_time&orderByAsc=true")
    name_cell = "[col-id='attributes.`Run Name`']"
    expander = f"[row-id='{runs.parent_id}'] {name_cell} button"
    names = runs.names()
    pretrain = [n for n in names if " | pretrain | " in n][:3]
    probe = [n for n in names if " | probe on " in n][:1]
    sensitivity = [n for n in names if " | sensitivity to " in n][:1]
    shown = [run["info"]["run_name"], *pretrain, *probe, *sensitivity]
    click(driver, f"the nested runs {shown}, the run expanded", expander, shows(*shown))
    header = driver.find_element(By.CSS_SELECTOR, f"[role='columnheader']{name_cell}")
    resize = header.find_element(By.CSS_SELECTOR, ".ag-header-cell-resize")
    ActionChains(driver).double_click(resize).perform()  # fit the column to the run names
    report.ok(f"MLflow UI runs: '{PIPELINE}' expanded to nested runs, e.g. {shown[1:]}")
    screenshot(driver, shots, "mlflow_runs.png", report)

    # 2. a training run's per-epoch curves
    driver.get(f"{experiment}/runs/{run['info']['run_id']}/model-metrics?{mode}")
    search = wait_for(
        driver, "the metric chart search box", elements("input[placeholder='Search metric charts']")
    )[0]
    search.send_keys("^(train|val)_")
    wait_for(driver, f"charts of {curves}", shows(run["info"]["run_name"], *curves))
    wait_for(driver, "plotted curves", elements(".js-plotly-plot path.js-line", len(curves)))
    report.ok(f"MLflow UI '{run['info']['run_name']}': curves of {', '.join(curves)} plotted")
    screenshot(driver, shots, "mlflow_training_run.png", report)

    # 3. the parent run: its headline metrics and its report artifacts
    headline = sorted(m for m in _metrics(runs.parent) if m.startswith(HEADLINE))
    if not headline:
        raise CheckFailed(f"the '{PIPELINE}' run has no {HEADLINE}<model>/<column> metrics")
    driver.get(f"{experiment}/runs/{runs.parent_id}?{mode}")
    wait_for(
        driver,
        f"metric {headline[0]} on the run page",
        shows(f"Metrics ({len(_metrics(runs.parent))})", headline[0]),
    )
    report.ok(f"MLflow UI '{PIPELINE}': {len(headline)} headline metrics, e.g. {headline[0]}")
    artifact = f"{PIPELINE}/table1.png"
    driver.get(f"{experiment}/runs/{runs.parent_id}/artifacts/{artifact}?{mode}")
    wait_for(driver, f"the artifact {artifact}", shows(artifact, "table1.md", "table1.csv"))
    wait_for(
        driver,
        f"the image {artifact}",
        lambda d: d.execute_script(
            "return [...document.images].some(i => i.complete && i.naturalWidth > 200)"
        ),
    )
    report.ok(f"MLflow UI '{PIPELINE}' artifacts: {artifact} shown, with table1.md, table1.csv")
    screenshot(driver, shots, "mlflow_artifacts.png", report)
    return runs


def check_kedro_viz(
    driver: Any, base: str, namespaces: set[str], shots: Path, report: Report
) -> None:
    """The harm pipeline in kedro viz, its conditions as collapsible namespaces (modular
    pipelines), every namespace that has MLflow runs among them."""
    from selenium.webdriver.common.by import By

    with urllib.request.urlopen(f"{base}/api/pipelines/{PIPELINE}", timeout=60) as response:
        graph = json.loads(response.read())
    modular = set(graph.get("modular_pipelines", {}))
    missing = sorted(namespaces - modular)
    if missing:
        raise CheckFailed(
            f"kedro viz API: {missing} (MLflow runs' namespaces) are no modular pipelines"
        )
    report.ok(
        f"kedro viz API: all {len(namespaces)} namespaces of the MLflow runs are modular pipelines"
    )

    # no feature tour over the flowchart (kedro viz shows one on a first visit), no minimap
    driver.get(f"{base}/api/version")
    driver.execute_script(
        "localStorage.setItem('KedroViz', JSON.stringify(arguments[0]))", VIZ_STATE
    )
    driver.get(f"{base}/?pid={PIPELINE}")
    wait_for(driver, f"the pipeline '{PIPELINE}' selected", shows(PIPELINE, "Filters"))
    for button in driver.find_elements(By.XPATH, "//button[text()='Dismiss']"):
        button.click()  # a "Kedro-Viz <version> is here!" banner
    # the experiment is one collapsed namespace; opened, it shows its conditions as namespaces
    top = f"g.pipeline-node--modularPipeline[data-id='{PIPELINE}']"
    conditions = sorted(n for n in modular if n.count(".") == 1 and n.startswith(f"{PIPELINE}."))
    nodes = ", ".join(f"g.pipeline-node--modularPipeline[data-id='{n}']" for n in conditions)
    click(
        driver,
        f"namespaces {conditions} in the flowchart, '{PIPELINE}' expanded",
        top,
        elements(nodes, len(conditions)),
    )
    tree = ", ".join(
        f"li[role='treeitem'][id$='-{n}'] .pipeline-node-icon--icon-modularPipeline"
        for n in conditions
    )
    wait_for(driver, f"namespaces {conditions} in the sidebar", elements(tree, len(conditions)))
    report.ok(
        f"kedro viz '{PIPELINE}': namespaces {', '.join(conditions)} in flowchart and sidebar"
    )
    # one condition opened in the sidebar: its stage nodes
    example = f"{PIPELINE}.co_c" if f"{PIPELINE}.co_c" in conditions else conditions[0]
    item = f"li[role='treeitem'][id$='-{example}']"
    stages = ("pretrain_models", "probe_models", "measure_sensitivity")
    expander = f"{item} .MuiTreeItem-iconContainer"
    click(driver, f"the nodes {stages} of {example}, expanded", expander, shows(*stages))
    report.ok(f"kedro viz '{example}': its nodes {', '.join(stages)}")
    screenshot(driver, shots, "kedro_viz_harm.png", report)


def check(project: Path, shots: Path, report: Report) -> None:
    """Start both servers on ``project``, check both UIs in Chromium; servers always stopped.
    The servers' logs (and a screenshot of a failed page) are kept only when a check fails."""
    logs = Path(tempfile.mkdtemp(prefix="check_uis_logs_"))
    with ExitStack() as stack:
        start = time.monotonic()
        mlflow = start_mlflow_ui(stack, project, logs)
        viz = start_kedro_viz(stack, project, logs)
        mlflow.wait_until_up("/health", 120)
        viz.wait_until_up("/api/main", 180)
        report.ok(
            f"servers up in {time.monotonic() - start:.0f} s: mlflow ui {mlflow.url}, "
            f"kedro viz {viz.url}"
        )
        driver = browser()
        stack.callback(close_browser, driver)
        _check_both(driver, mlflow.url, viz.url, shots, logs, report)
    shutil.rmtree(logs, ignore_errors=True)


def _check_both(
    driver: Any, mlflow: str, viz: str, shots: Path, logs: Path, report: Report
) -> None:
    """Both UIs' checks; a failure names the UI and keeps a screenshot of the page in ``logs``."""
    from selenium.common.exceptions import WebDriverException

    current = "MLflow UI"
    try:
        runs = check_mlflow(driver, mlflow, shots, report)
        current = "kedro viz"
        check_kedro_viz(driver, viz, runs.namespaces(), shots, report)
    except (CheckFailed, WebDriverException) as failure:
        message = str(failure) if isinstance(failure, CheckFailed) else f"browser: {failure.msg}"
        path = logs / "failed_page.png"
        try:  # what the page showed, when a page was open
            if driver.current_url.startswith("http") and driver.save_screenshot(str(path)):
                message += f" (screenshot {path})"
        except WebDriverException:
            pass
        raise CheckFailed(f"{current}: {message} (server logs in {logs})") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: see the module's docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", type=Path, help="a project folder with a finished harm run")
    parser.add_argument("--screenshots", type=Path, default=REPO / "docs" / "images")
    parser.add_argument("--keep", action="store_true", help="keep the scratch project folder")
    args = parser.parse_args(argv)
    # Ctrl-C (even where a shell started the check with SIGINT ignored) and SIGTERM end it
    # through the `finally`s that stop the servers
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report = Report()
    scratch = None
    try:
        missing = missing_browser()
        if missing:  # before minutes of work
            raise CheckFailed(missing)
        if args.project is None:
            scratch = Path(tempfile.mkdtemp(prefix="check_uis_"))
            project = make_tiny_project(scratch / "project")
            seconds = run_tiny(project)
            report.ok(f"tiny `kedro run --pipeline={PIPELINE}` in {project}: {seconds:.0f} s")
        else:
            project = args.project.resolve()
        check(project, args.screenshots.resolve(), report)
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    finally:
        if scratch is not None and not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"passed: {len(report.lines)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
