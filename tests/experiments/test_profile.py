"""The profile experiment: models with a known invariance score what they should, a tiny profile of
the three kinds of model runs end to end, and every unusable model stops the run before any work."""

from pathlib import Path

import mlflow
import pandas as pd
import pytest
import torch
import yaml
from PIL import Image
from torch import nn

from tests.core.test_networks import tiny_checkpoint
from transfer_invariance.core import networks
from transfer_invariance.datasets import CheckpointsDataset
from transfer_invariance.errors import MissingInputError, ParameterError
from transfer_invariance.experiments.profile import create_pipeline, data, measure
from transfer_invariance.experiments.profile.params import (
    GridParams,
    ModelParams,
    ProfileDataParams,
)
from transfer_invariance.pipelines.params import BaseImagesParams, InvarianceParams, RenderParams

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
RENDER = RenderParams(progress=False, device="cpu")
INVARIANCE = InvarianceParams(n_random_pairs=500, batch_size=128, device="cpu")
TYPES = ["h_flip", "v_flip", "rotate", "hue"]


# ------------------------------------------------------------------ models with a known invariance
class _Body(nn.Module):
    """A small random CNN whose flattened feature map keeps where things are (no pooling)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(8, 8, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Linear(8 * 8 * 8, 2)


class Plain(_Body):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class FlipAveraged(_Body):
    """Averages the features of the image and of its horizontal flip: invariant to h_flip."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head((self.body(x) + self.body(x.flip(-1))) / 2)


class ColourHistogram(nn.Module):
    """Reads only the per-channel colour histograms: blind to where pixels are, not to colour."""

    def __init__(self, bins: int = 8) -> None:
        super().__init__()
        self.bins = bins
        self.head = nn.Linear(3 * bins, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        index = (x * self.bins).long().clamp(0, self.bins - 1)
        histogram = nn.functional.one_hot(index, self.bins).float().mean(dim=(2, 3))
        return self.head(histogram.flatten(1))


@pytest.fixture(scope="module")
def pair_sets() -> dict[str, dict]:
    """48 pairs per type at 16 px: objects on backgrounds and whole scenes."""
    grid = GridParams(models={"m": {"checkpoint": "a.b"}}, kinds=["objects", "scenes"], types=TYPES)
    profile_data = ProfileDataParams(n_pairs=48)
    sets = data.make_synthetic_pairs([16], grid, profile_data, BaseImagesParams(), RENDER)
    scenes = data.load_real_world([16], grid, profile_data)["scenes"]
    augmented = data.make_augmented_pairs(scenes, grid, profile_data, RENDER)
    return sets | {data.pair_key("scenes", t): p for t, p in augmented.items()}


def _scores(network: nn.Module, pair_sets: dict, kind: str) -> dict[str, float]:
    representation = networks.LayerRepresentation(network, (0, 0, 0), (1, 1, 1))
    sets = {k: v for k, v in pair_sets.items() if k.startswith(f"{kind}__")}
    rows = measure.sensitivities(representation, 16, INVARIANCE, 0, **sets)
    return {r["transformation"]: r["sensitivity_l2"] for r in rows}


def test_a_network_averaging_its_input_with_its_flip_is_invariant_to_h_flip(pair_sets):
    flip = _scores(FlipAveraged(), pair_sets, "scenes")
    plain = _scores(Plain(), pair_sets, "scenes")
    assert flip["h_flip"] < 0.01 and flip["none"] == 0.0
    assert plain["h_flip"] > 0.15  # the same network without the average is not
    assert flip["rotate"] > 0.3 and flip["v_flip"] > 0.15  # and only h_flip is averaged out


@pytest.mark.parametrize("kind", ["objects", "scenes"])
def test_a_network_reading_colour_histograms_is_blind_to_geometry_not_to_hue(pair_sets, kind):
    scores = _scores(ColourHistogram(), pair_sets, kind)
    assert max(scores["h_flip"], scores["v_flip"], scores["rotate"]) < 0.2
    assert scores["hue"] > 0.25 and scores["hue"] > 2.5 * scores["rotate"]


def test_the_standard_error_is_that_of_the_mean_pair_distance():
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(400, 8, generator=gen)
    b = a + 0.5 * torch.randn(400, 8, generator=gen)
    scores = measure.pair_scores(a, b, 2000, 0)
    distances = (a - b).norm(dim=1).double()
    expected = scores["sensitivity_l2"] * distances.std() / (20 * distances.mean())
    assert scores["se"] == pytest.approx(float(expected))
    assert measure.pair_scores(a, a.clone(), 100, 0)["se"] == 0.0


def test_every_model_gets_the_same_pairs_at_each_of_their_sizes():
    grid = GridParams(models={"m": {"checkpoint": "a.b"}}, kinds=["patterns"], types=["rotate"])
    profile_data = ProfileDataParams(n_pairs=6)
    first = data.make_synthetic_pairs([16, 24], grid, profile_data, BaseImagesParams(), RENDER)
    again = data.make_synthetic_pairs([24], grid, profile_data, BaseImagesParams(), RENDER)
    pairs = first["patterns__rotate"]
    assert pairs["size_16"]["a"]["images"].shape == (6, 3, 16, 16)
    assert torch.equal(
        pairs["size_24"]["b"]["images"], again["patterns__rotate"]["size_24"]["b"]["images"]
    )


# --------------------------------------------------------------------------- parameters and checks
@pytest.mark.parametrize(
    "model, match",
    [
        ({"checkpoint": "pretrain.rotate_model", "arch": "resnet18"}, "exactly one of"),
        ({}, "exactly one of"),
        ({"arch": "resnet18"}, "needs weights"),
        ({"arch": "resnet19", "weights": "w.pth"}, "not a torchvision classification"),
        ({"checkpoint": "pretrain.rotate_model", "image_size": 64}, "carries its own image size"),
        ({"checkpoint": "rotate_model"}, "not a namespace of this project"),
        ({"checkpoint_file": "c.pt", "seed": 1}, "seed picks one of a namespace"),
    ],
)
def test_a_model_entry_that_says_too_much_or_too_little_fails_when_the_pipeline_is_built(
    model, match
):
    with pytest.raises(ParameterError, match=rf"profile.grid(.|\n)*{match}"):
        create_pipeline({"profile": {"grid": {"models": {"m": model}}}})


@pytest.mark.parametrize(
    "grid, match",
    [
        ({"models": {}}, "models"),
        ({"models": {"pairs": {"checkpoint": "a.b"}}}, "are taken"),
        ({"models": {"m": {"checkpoint": "a.b"}}, "kinds": ["imagenet"]}, "kinds"),
        ({"models": {"m": {"checkpoint": "a.b"}}, "types": ["none"]}, "always measured"),
        ({"models": {"m": {"checkpoint": "a.b"}}, "types": ["spin"]}, "unknown transformation"),
    ],
)
def test_a_bad_grid_fails_when_the_pipeline_is_built(grid, match):
    with pytest.raises(ParameterError, match=rf"profile.grid(.|\n)*{match}"):
        create_pipeline({"profile": {"grid": grid}})


def _resnet_file(tmp_path: Path, arch: str = "resnet18") -> str:
    file = tmp_path / f"{arch}.pth"
    torch.save(networks.random_init_state_dict(arch, 0), file)
    return str(file)


@pytest.mark.parametrize(
    "entry, error, match",
    [
        (
            {"weights": "missing.pth"},
            FileNotFoundError,
            "weights file 'missing.pth' does not exist",
        ),
        ({"weights": "{tmp}/mobilenet_v3_small.pth"}, ValueError, "not one of torchvision's"),
        ({"weights": "{tmp}/resnet18.pth", "layer": "layer9"}, ValueError, "no layer named"),
        ({"arch": "vit_b_32", "weights": "new.pth", "random_init": 0}, ValueError, "cannot take"),
    ],
)
def test_an_unusable_torchvision_model_is_one_clear_error_of_the_parameter_check(
    tmp_path, entry, error, match
):
    _resnet_file(tmp_path)
    _resnet_file(tmp_path, "mobilenet_v3_small")
    raw = {"arch": "resnet18", "image_size": 32, **entry}
    raw["weights"] = raw["weights"].format(tmp=tmp_path)
    grid = GridParams(models={"mine": ModelParams(**raw)})
    with pytest.raises(error, match=rf"model 'mine': (.|\n)*{match}"):
        grid.check_resources({})


def test_a_file_that_is_not_the_random_initialisation_it_claims_is_an_error(tmp_path):
    torch.save(networks.random_init_state_dict("resnet18", 1), tmp_path / "w.pth")
    model = ModelParams(arch="resnet18", weights=str(tmp_path / "w.pth"), random_init=0)
    with pytest.raises(ValueError, match="not the random initialisation of seed 0"):
        model.check()


def test_a_seed_the_namespace_has_not_stored_is_an_error():
    model = ModelParams(checkpoint="pretrain.rotate_model", seed=1)
    assert model.check({"seed_1": tiny_checkpoint()})[:2] == (16, 64)
    with pytest.raises(ValueError, match=r"no checkpoint of seed 1(.|\n)*seed_0"):
        model.check({"seed_0": tiny_checkpoint()})


def test_the_data_block_defaults_are_the_base_configuration():
    written = yaml.safe_load((CONF / "parameters_profile.yml").read_text())["profile"]["data"]
    assert ProfileDataParams(**written) == ProfileDataParams()


# ------------------------------------------------------------------------------------- end to end
def _image_folder(root: Path) -> None:
    gen = torch.Generator().manual_seed(0)
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(4):
            pixels = torch.randint(0, 256, (20, 30, 3), generator=gen, dtype=torch.uint8)
            Image.fromarray(pixels.numpy()).save(root / label / f"{i}.png")


TINY_MODELS = {
    "spun": {"checkpoint": "pretrain.rotate_model", "label": "stored rotate"},
    "filed": {"checkpoint_file": "models/filed.pt"},
    "fresh": {
        "arch": "resnet18",
        "weights": "data/06_models/profile/fresh.pth",
        "random_init": 0,
        "image_size": 24,
        "layer": "layer4",
    },
}


def _write_profile(project: Path, models: dict, kinds: list[str]) -> None:
    """The test's own parameters_profile.yml (runtime parameters would merge with the shipped
    models instead of replacing them)."""
    profile = {
        "grid": {"models": models, "kinds": kinds, "types": ["rotate", "hue"]},
        "data": {"n_pairs": 8, "folder": "images"},
        "invariance": {"n_random_pairs": 50, "batch_size": 64, "device": "cpu"},
    }
    (project / "conf" / "base" / "parameters_profile.yml").write_text(
        yaml.safe_dump({"profile": profile})
    )


@pytest.fixture
def stored_models(project_dir: Path) -> Path:
    """A stored namespace's checkpoints, a checkpoint file and a folder of images."""
    CheckpointsDataset("data/06_models/pretrain/rotate_model/checkpoints").save(
        {"seed_0": tiny_checkpoint(seed=0)}
    )
    (project_dir / "models").mkdir()
    torch.save(tiny_checkpoint(seed=1), project_dir / "models" / "filed.pt")
    _image_folder(project_dir / "images")
    return project_dir


def test_a_profile_of_the_three_kinds_of_model_runs_end_to_end(stored_models, kedro_project):
    _write_profile(stored_models, TINY_MODELS, ["objects", "scenes", "folder"])
    kedro_project("profile", {"render": {"progress": False}})
    out = Path("data/08_reporting/profile")
    table = pd.read_csv(out / "table.csv")
    assert len(table) == 3 * 3 * 3  # models x kinds x (none, rotate, hue)
    assert set(table["model"]) == {"spun", "filed", "fresh"}
    assert (table.loc[table["transformation"] == "none", "sensitivity_l2"] == 0).all()
    assert (table.loc[table["transformation"] != "none", "sensitivity_l2"] > 0).all()
    assert (table["se"] >= 0).all() and table["se"].gt(0).any()
    sizes = table.groupby("model")["image_size"].first().to_dict()
    assert sizes == {"spun": 16, "filed": 16, "fresh": 24}
    for name in ("profile.png", "table.md", "ranking.csv", "ranking.md", "findings.md"):
        assert (out / name).exists(), name
    assert "random initialisation" in (out / "findings.md").read_text()
    assert "Your images (folder)" in (out / "table.md").read_text()
    ranking = pd.read_csv(out / "ranking.csv")
    assert set(ranking["rank"]) == {1, 2} and "none" not in set(ranking["transformation"])
    written = networks.read_state_dict("data/06_models/profile/fresh.pth")
    assert torch.equal(
        written["fc.weight"], networks.random_init_state_dict("resnet18", 0)["fc.weight"]
    )
    pairs = torch.load("data/05_model_input/profile/pairs/objects/rotate.pt", weights_only=True)
    assert set(pairs) == {"size_16", "size_24"}  # one pair set at every model's size

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    runs = mlflow.search_runs(experiment_names=["transfer_invariance"], output_format="list")
    nested = {r.info.run_name: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert {
        f"profile.{m} | profile on {k}"
        for m in TINY_MODELS
        for k in ("objects", "scenes", "folder")
    } <= set(nested)
    run = nested["profile.spun | profile on objects"]
    assert run.data.metrics["sensitivity_l2/none"] == 0.0 and "se/rotate" in run.data.metrics
    parent = next(r for r in runs if r.info.run_name == "profile")
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id, "profile")
    }
    assert {"profile/table.csv", "profile/profile.png"} <= artifacts


def test_missing_checkpoints_are_named_with_the_command_that_makes_them(project_dir, kedro_project):
    _write_profile(project_dir, {"spun": TINY_MODELS["spun"]}, ["objects"])
    with pytest.raises(MissingInputError) as err:
        kedro_project("profile", {"render": {"progress": False}})
    message = str(err.value)
    assert "'pretrain.rotate_model.checkpoints' does not exist" in message
    assert "kedro run --pipeline=pretrain" in message
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_a_missing_weights_file_stops_the_run_before_any_work(project_dir, kedro_project):
    models = {"tv": {"arch": "resnet18", "weights": "nowhere.pth", "image_size": 32}}
    _write_profile(project_dir, models, ["objects"])
    with pytest.raises(MissingInputError, match="model 'tv': weights file 'nowhere.pth'"):
        kedro_project("profile", {"render": {"progress": False}})
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_a_wrong_layer_of_a_stored_model_stops_the_run_before_any_pair(
    stored_models, kedro_project
):
    models = {"spun": {**TINY_MODELS["spun"], "layer": "layers.99"}}
    _write_profile(stored_models, models, ["objects"])
    with pytest.raises(ParameterError, match=r"models.spun(.|\n)*no layer named 'layers.99'"):
        kedro_project("profile", {"render": {"progress": False}})
    assert not Path("data/05_model_input/profile").exists()
