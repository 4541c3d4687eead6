import json

import pytest
import torch
from kedro.io.core import DatasetError

from transfer_invariance.datasets.checkpoints import CheckpointsDataset, Deferred


def test_finished_entries_are_not_recomputed(tmp_path):
    calls = []

    def job(key, value):
        return Deferred(f"fp-{key}", lambda: calls.append(key) or {"w": torch.tensor([value])})

    ds = CheckpointsDataset(str(tmp_path / "ck"))
    ds.save({"seed_0": job("a", 1.0), "seed_1": job("b", 2.0)})
    assert calls == ["a", "b"] and ds.exists()
    ds.save({"seed_0": job("a", 1.0), "seed_1": job("b", 2.0)})
    assert calls == ["a", "b"]  # nothing redone
    ds.save({"seed_0": job("a", 1.0), "seed_1": job("changed", 3.0)})
    assert calls == ["a", "b", "changed"]  # a different fingerprint is retrained
    loaded = ds.load()
    assert loaded["seed_1"]["w"].item() == 3.0 and set(loaded) == {"seed_0", "seed_1"}


def test_an_interrupted_save_keeps_finished_entries_and_is_not_complete(tmp_path):
    ds = CheckpointsDataset(str(tmp_path / "ck"))

    def boom():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ds.save(
            {"seed_0": Deferred("x", lambda: {"v": torch.ones(1)}), "seed_1": Deferred("y", boom)}
        )
    assert not ds.exists()
    with pytest.raises(DatasetError, match="incomplete"):
        ds.load()
    index = json.loads((tmp_path / "ck" / "index.json").read_text())
    assert index["entries"] == {"seed_0": "x"}
    assert not list((tmp_path / "ck").glob("*.partial"))
    calls = []
    ds.save(
        {
            "seed_0": Deferred("x", lambda: calls.append(0)),
            "seed_1": Deferred("y", lambda: calls.append(1) or {"v": torch.zeros(1)}),
        }
    )
    assert calls == [1] and ds.exists()
