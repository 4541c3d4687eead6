from pathlib import Path

import pytest
import torch

SMALL = {"objects": 4, "n_train": 24, "n_val": 8, "n_test": 8}
TINY = {
    "generate_data": {
        "rotate_source": {"dataset": SMALL},
        "hue_source": {"dataset": SMALL},
        "rotate_target": {"dataset": SMALL, "pairs": {"n": 6}},
        "hue_target": {"dataset": {**SMALL, "data": "random"}, "pairs": {"n": 6}},
    },
    "render": {"progress": False},
}


def test_generate_data_writes_splits_pairs_and_galleries(kedro_project):
    kedro_project("generate_data", TINY)
    root = Path("data/03_primary/generate_data/rotate_source")
    train = torch.load(root / "train.pt", weights_only=True)
    assert train["images"].shape == (24, 3, 32, 32) and train["images"].dtype == torch.uint8
    assert train["labels"].max() < 4 and "rotate.angle" in train["latents"]
    assert train["meta"]["name"] == "rotate_source"
    assert torch.load(root / "test.pt", weights_only=True)["images"].shape[0] == 8
    pairs = torch.load("data/05_model_input/generate_data/hue_target/pairs.pt", weights_only=True)
    assert pairs["a"]["images"].shape[0] == pairs["b"]["images"].shape[0] == 6
    assert Path("data/08_reporting/generate_data/rotate_source_gallery.png").stat().st_size > 1000
    assert Path("data/08_reporting/generate_data/hue_target_gallery.png").exists()


@pytest.mark.parametrize(
    "override, match",
    [
        ({"transforms": ["rotate", "wobble"]}, r"generate_data.rotate_source.dataset(.|\n)*wobble"),
        ({"objects": 99}, r"generate_data.rotate_source.dataset(.|\n)*objects = 99"),
        ({"n_train": 0}, r"generate_data.rotate_source.dataset(.|\n)*n_train"),
    ],
)
def test_bad_parameters_fail_before_rendering_and_leave_nothing(kedro_project, override, match):
    params = {
        "generate_data": {
            "rotate_source": {"dataset": {"n_train": 24, "n_val": 8, "n_test": 8, **override}}
        },
        "render": {"progress": False},
    }
    with pytest.raises(Exception, match=match):
        kedro_project("generate_data", params)
    written = [p for p in Path("data").rglob("*") if p.is_file()]
    assert written == []


def test_missing_base_image_folder_fails_before_rendering(kedro_project, tmp_path):
    params = {
        "base_images": {"source": "si_score", "base_dir": str(tmp_path / "missing")},
        "render": {"progress": False},
    }
    with pytest.raises(Exception, match=r"parameter 'base_images'(.|\n)*missing"):
        kedro_project("generate_data", params)
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []
