"""A fifth experiment, added as docs/adding_an_experiment.md says: a folder under experiments/ and a
parameter file, nothing else. The folder is tests/experiments/toy/ (the doc's worked example)."""

from pathlib import Path

import pandas as pd
import pytest
import yaml

import transfer_invariance.experiments as experiments
from transfer_invariance.errors import ParameterError

TOY = {
    "toy": {
        "seeds": [0, 1],
        "grid": {"types": ["rotate", "hue"]},
        "data": {"objects": 4, "n_train": 64, "n_val": 16, "n_test": 16, "image_size": 16},
        "pairs": {"n": 16},
        "training": {"width": 0.125, "epochs": 1, "batch_size": 32, "progress": False},
        "invariance": {"n_random_pairs": 50},
    },
    "render": {"progress": False},
}


@pytest.fixture
def toy_experiment(project_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The toy package found under ``transfer_invariance.experiments`` and its parameter file."""
    monkeypatch.setattr(
        experiments, "__path__", [*experiments.__path__, str(Path(__file__).parent)]
    )
    conf = project_dir / "conf" / "base" / "parameters_toy.yml"
    conf.write_text(yaml.safe_dump({"toy": TOY["toy"]}))
    return conf


def test_a_new_experiment_folder_is_registered_and_runs(toy_experiment, kedro_project, registered):
    kedro_project("toy", {"render": TOY["render"]})
    table = Path("data/08_reporting/toy/table.md").read_text()
    assert "rotate" in table and "hue" in table and "Own-task test accuracy" in table
    assert "Finding: a model pretrained with a type is less sensitive" in table
    sensitivity = pd.read_csv("data/08_reporting/toy/table.csv")
    assert set(sensitivity["model"]) == {"rotate", "hue", "none"}
    assert Path("data/06_models/toy/rotate/checkpoints/index.json").exists()
    assert len(pd.read_csv("data/07_model_output/toy/hue/pretrain_metrics.csv")) == 2


def test_a_new_experiment_reads_its_grid_like_the_others(toy_experiment, kedro_project):
    toy_experiment.write_text(yaml.safe_dump({"toy": {**TOY["toy"], "grid": {"types": ["spin"]}}}))
    with pytest.raises(ParameterError, match=r"toy.grid(.|\n)*spin"):
        kedro_project("toy")
