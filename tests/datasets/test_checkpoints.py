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
    assert list(index["entries"]) == ["seed_0"] and index["entries"]["seed_0"]["fingerprint"] == "x"
    assert not list((tmp_path / "ck").glob("*.partial"))
    calls = []
    ds.save(
        {
            "seed_0": Deferred("x", lambda: calls.append(0)),
            "seed_1": Deferred("y", lambda: calls.append(1) or {"v": torch.zeros(1)}),
        }
    )
    assert calls == [1] and ds.exists()


def test_a_truncated_or_corrupt_checkpoint_is_trained_again_with_a_warning(tmp_path, caplog):
    """Resume checks what it reuses: a finished file that is no longer what was written (same
    fingerprint, other bytes) is retrained, with a warning naming it; the whole one is kept."""
    calls = []

    def job(key):
        return Deferred(f"fp-{key}", lambda: calls.append(key) or {"w": torch.arange(1000.0)})

    ds = CheckpointsDataset(str(tmp_path / "ck"))
    ds.save({"seed_0": job("a"), "seed_1": job("b")})
    file = tmp_path / "ck" / "seed_1.pt"
    file.write_bytes(file.read_bytes()[:200])  # truncated, e.g. by a full disk or a bad copy
    with caplog.at_level("WARNING"):
        ds.save({"seed_0": job("a"), "seed_1": job("b")})
    assert calls == ["a", "b", "b"]
    assert "seed_1.pt" in caplog.text and "truncated or corrupt" in caplog.text
    assert torch.equal(ds.load()["seed_1"]["w"], torch.arange(1000.0))


def test_a_corrupt_file_fails_loading_with_one_user_error(tmp_path):
    from transfer_invariance.errors import user_error

    ds = CheckpointsDataset(str(tmp_path / "ck"))
    ds.save({"seed_0": Deferred("x", lambda: {"v": torch.ones(1)})})
    (tmp_path / "ck" / "seed_0.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DatasetError) as err:
        ds.load()
    found = user_error(err.value)
    assert found is not None and "seed_0.pt' is missing or corrupt" in str(found)
    assert "Run the pipeline that makes it again" in str(found)
