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
