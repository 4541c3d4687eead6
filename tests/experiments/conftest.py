import json
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture
def forget_training() -> Callable[[Path, str], None]:
    """``forget(checkpoints_dir, "seed_1")``: make one training look interrupted (its checkpoint
    file and index entry gone), as a killed run leaves it."""

    def forget(checkpoints: Path, seed: str) -> None:
        index = json.loads((checkpoints / "index.json").read_text())
        del index["entries"][seed]
        index["complete"] = False
        (checkpoints / "index.json").write_text(json.dumps(index))
        (checkpoints / f"{seed}.pt").unlink()

    return forget


@pytest.fixture
def resume_redoes_only(kedro_project, forget_training) -> Callable[..., None]:
    """``check(pipeline, params, checkpoints_dir, "seed_1", report=None)``: make one training look
    interrupted (and ``report`` unwritten), run ``pipeline`` again with ``--only-missing-outputs``,
    and assert that the training and the report are back and no finished training was redone."""

    def check(
        pipeline: str, params: dict, checkpoints: Path, seed: str, report: Path | None = None
    ) -> None:
        forget_training(checkpoints, seed)
        if report is not None:
            report.unlink()
        stamps = {p: p.stat().st_mtime_ns for p in Path("data/06_models").rglob("*.pt")}
        kedro_project(pipeline, params, only_missing_outputs=True)
        assert (checkpoints / f"{seed}.pt").exists()
        assert report is None or report.exists()
        assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # no finished training redone

    return check
