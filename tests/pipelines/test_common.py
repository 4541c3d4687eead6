import pytest
import torch

from transfer_invariance.core.fingerprint import fingerprint
from transfer_invariance.pipelines.common import key_by_seed, seed_key, seed_of


def test_fingerprint_tracks_parameters_and_tensor_content():
    t = torch.arange(6, dtype=torch.uint8)
    base = fingerprint({"lr": 0.001, "epochs": 5}, t)
    assert base == fingerprint({"epochs": 5, "lr": 0.001}, t.clone())
    assert base != fingerprint({"lr": 0.001, "epochs": 6}, t)
    t2 = t.clone()
    t2[3] = 0
    assert base != fingerprint({"lr": 0.001, "epochs": 5}, t2)


def test_seed_keys_round_trip_and_splits_are_keyed_by_every_seed():
    assert seed_of(seed_key(12)) == 12
    with pytest.raises(ValueError, match="seed_<n>"):
        seed_of("run_3")
    data = key_by_seed({"a": 1}, {"b": 2}, {"c": 3}, [0, 4])
    assert list(data) == ["seed_0", "seed_4"]
    assert data["seed_4"] == {"train": {"a": 1}, "val": {"b": 2}, "test": {"c": 3}}
