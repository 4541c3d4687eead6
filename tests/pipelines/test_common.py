import inspect

import pytest
import torch

from transfer_invariance.core.training import TrainConfig
from transfer_invariance.pipelines.common import bind, fingerprint, seed_of, train_config


def test_bind_fixes_keywords_and_keeps_the_remaining_signature():
    def f(a, b, label):
        return (a, b, label)

    g = bind(f, label="x")
    assert g(1, b=2) == (1, 2, "x") and g.__name__ == "f"
    assert list(inspect.signature(g).parameters) == ["a", "b"]


def test_fingerprint_tracks_parameters_and_tensor_content():
    t = torch.arange(6, dtype=torch.uint8)
    base = fingerprint({"lr": 0.001, "epochs": 5}, t)
    assert base == fingerprint({"epochs": 5, "lr": 0.001}, t.clone())
    assert base != fingerprint({"lr": 0.001, "epochs": 6}, t)
    t2 = t.clone()
    t2[3] = 0
    assert base != fingerprint({"lr": 0.001, "epochs": 5}, t2)


def test_seed_keys_and_training_parameters():
    assert seed_of("seed_12") == 12
    with pytest.raises(ValueError, match="seed_<n>"):
        seed_of("run_3")
    cfg = train_config({"epochs": 3, "arch": "vit", "width": 1}, 7, TrainConfig(), "training")
    assert cfg.epochs == 3 and cfg.seed == 7
    with pytest.raises(ValueError, match="training: unknown parameter"):
        train_config({"epoch": 3}, 0, TrainConfig(), "training")
    with pytest.raises(ValueError, match="epochs"):
        train_config({"epochs": 0}, 0, TrainConfig(), "training")
