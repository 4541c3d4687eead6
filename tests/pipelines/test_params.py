import pytest
import torch
from pydantic import ValidationError

from transfer_invariance.experiments.harm.params import GridParams, point_name
from transfer_invariance.pipelines.params import (
    DatasetParams,
    FinetuneParams,
    InvarianceParams,
    ProbeParams,
    TrainingParams,
)


def test_training_block_keeps_the_architecture_recipe_for_unset_fields():
    vit = TrainingParams.model_validate({"arch": "vit", "epochs": 3}).config(seed=7)
    assert (vit.epochs, vit.seed, vit.lr_schedule, vit.warmup_epochs) == (3, 7, "warmup_cosine", 5)
    cnn = TrainingParams.model_validate({"arch": "resnet18"}).config(seed=0)
    assert cnn.lr_schedule == "constant" and cnn.epochs == 50
    assert ProbeParams().config(1).epochs == 200
    assert FinetuneParams().config(1).lr_schedule == "linear_to_zero"


@pytest.mark.parametrize(
    "block, raw, field, shown",
    [
        (TrainingParams, {"lr": "abc"}, "lr", "abc"),
        (TrainingParams, {"epochs": 0}, "epochs", "0"),
        (TrainingParams, {"epochs": True}, "epochs", "True"),
        (TrainingParams, {"arch": "resnet1000"}, "arch", "resnet1000"),
        (TrainingParams, {"weight_decay": -1.0}, "weight_decay", "-1.0"),
        (TrainingParams, {"epoch": 3}, "epoch", "3"),
        (TrainingParams, {"device": "gpu"}, "device", "gpu"),
        (ProbeParams, {"batch_size": 2.5}, "batch_size", "2.5"),
        (FinetuneParams, {"n_samples": []}, "n_samples", "[]"),
        (InvarianceParams, {"batch_size": 0}, "batch_size", "0"),
        (DatasetParams, {"n_train": -5}, "n_train", "-5"),
        (DatasetParams, {"transforms": ["rotate", "wobble"]}, "wobble", "wobble"),
    ],
)
def test_bad_values_name_the_field_and_the_value(block, raw, field, shown):
    with pytest.raises(ValidationError) as err:
        block.model_validate(raw)
    assert field in str(err.value) and shown in str(err.value)


def test_cross_field_rules_are_checked():
    with pytest.raises(ValidationError, match="cosine_final_lr"):
        TrainingParams.model_validate({"lr": 0.001, "cosine_final_lr": 0.1})


@pytest.mark.skipif(
    torch.cuda.is_available(), reason="checks the message on a machine without CUDA"
)
def test_asking_for_a_gpu_on_a_machine_without_one_fails_at_validation():
    with pytest.raises(ValidationError, match="no CUDA device"):
        TrainingParams.model_validate({"device": "cuda"})


def test_relevance_grid_points_are_named_namespaces_with_their_condition():
    grid = GridParams.model_validate(
        {"rhos": [0.0, 0.85], "betas": [0.2], "label_sources": ["c", "o"]}
    ).points()
    assert list(grid) == [
        "rho_0_00_c", "rho_0_85_c", "beta_0_20_c", "rho_0_00_o", "rho_0_85_o", "beta_0_20_o",
    ]  # fmt: skip
    assert grid["rho_0_85_c"].rho == 0.85 and grid["rho_0_85_c"].paste_probability == 1.0
    assert grid["beta_0_20_o"].label == "o" and grid["beta_0_20_o"].paste_probability == 0.2
    assert point_name("rho", 1.0, "c") == "rho_1_00_c"
    with pytest.raises(ValidationError, match="rhos"):
        GridParams.model_validate({"rhos": [0.0, 1.5]})
