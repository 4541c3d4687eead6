import json
from pathlib import Path

import pandas as pd
import pytest

TINY = {
    "harm": {
        "seeds": [0, 1],
        "data": {"n_train": 60, "n_val": 20, "n_test": 30, "n_pairs": 20},
        "training": {"width": 0.125, "epochs": 1, "batch_size": 32},
        "probe": {"epochs": 3},
        "invariance": {"n_random_pairs": 50},
        "relevance": {"rhos": [0.0, 1.0], "betas": [0.5], "seeds": [0]},
    }
}


def test_harm_end_to_end_and_resume_redoes_no_finished_training(kedro_project):
    kedro_project("harm", TINY)
    table = Path("data/08_reporting/harm/table1.md").read_text()
    assert "Table 1" in table and "Findings" in table and "sensitivity to O" in table
    csv = pd.read_csv("data/08_reporting/harm/table1.csv")
    assert len(csv) == 4 * 6  # 4 models x (4 accuracies + 2 sensitivities)
    assert Path("data/08_reporting/harm/table1.png").exists()
    assert Path("data/08_reporting/harm/relevance.png").exists()
    sweep = pd.read_csv("data/07_model_output/harm/relevance/probe_metrics.csv")
    assert set(sweep["axis"]) == {"rho", "beta"} and set(sweep["target"]) == {"c", "o"}

    # Simulate an interruption during the C+O/C pretraining: seed 1 never finished.
    ck = Path("data/06_models/harm/co_c/checkpoints")
    index = json.loads((ck / "index.json").read_text())
    del index["entries"]["seed_1"]
    index["complete"] = False
    (ck / "index.json").write_text(json.dumps(index))
    (ck / "seed_1.pt").unlink()
    Path("data/08_reporting/harm/table1.md").unlink()
    stamps = {p: p.stat().st_mtime_ns for p in Path("data/06_models").rglob("*.pt")}

    kedro_project("harm", TINY, only_missing_outputs=True)
    assert (ck / "seed_1.pt").exists() and Path("data/08_reporting/harm/table1.md").exists()
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # no finished training redone


@pytest.mark.parametrize(
    "override, match",
    [
        ({"relevance": {"rhos": [0.0, 1.5]}}, "rhos values must be in"),
        ({"relevance": {"betas": [-0.1]}}, "betas values must be in"),
        ({"data": {"n_objects": 80}}, "n_objects = 80"),
        ({"data": {"c_source": "cifar10", "cifar_root": "nowhere"}}, "cifar-10-python.tar.gz"),
        ({"training": {"arch": "resnet1000"}}, "unknown model name"),
        ({"training": {"epochs": 0}}, "epochs"),
    ],
)
def test_bad_harm_parameters_fail_before_any_work(kedro_project, override, match):
    params = {"harm": {k: {**TINY["harm"].get(k, {}), **v} for k, v in override.items()}}
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        kedro_project("harm", {"harm": {**TINY["harm"], **params["harm"]}})
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_truncated_cifar_archive_is_reported_before_training(kedro_project):
    Path("data/01_raw").mkdir(parents=True)
    Path("data/01_raw/cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"0" * 100)
    params = {"harm": {**TINY["harm"], "data": {**TINY["harm"]["data"], "c_source": "cifar10"}}}
    with pytest.raises(ValueError, match="cifar-10-python.tar.gz"):
        kedro_project("harm", params)
    assert [p for p in Path("data").rglob("*") if p.is_file() and p.parent.name != "01_raw"] == []
