import errno

import pytest
import torch

from transfer_invariance.datasets import atomic
from transfer_invariance.datasets.checkpoints import CheckpointsDataset, Deferred
from transfer_invariance.errors import user_error

TORCH_DISK_FULL = RuntimeError(
    "[enforce fail at inline_container.cc:664] . unexpected pos 4416 vs 4304"
)


def _full_disk_after(monkeypatch, good_saves: int) -> None:
    """torch.save writes part of a file and then fails as it does on a full disk."""
    real = torch.save
    count = {"n": 0}

    def save(obj, path, *args, **kwargs):
        count["n"] += 1
        if count["n"] > good_saves:
            open(path, "wb").write(b"PK\x03\x04 half a file")
            raise TORCH_DISK_FULL
        return real(obj, path, *args, **kwargs)

    monkeypatch.setattr(atomic.torch, "save", save)


def test_a_full_disk_is_named_and_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "set.pt"
    atomic.save_tensors({"x": torch.ones(2)}, path)
    _full_disk_after(monkeypatch, good_saves=0)
    with pytest.raises(OSError) as err:
        atomic.save_tensors({"x": torch.zeros(2)}, path)
    assert err.value.errno == errno.ENOSPC
    assert "No space left on device" in str(err.value) and str(path) in str(err.value)
    assert [p.name for p in tmp_path.iterdir()] == ["set.pt"]  # no .partial left
    assert torch.load(path, weights_only=True)["x"].tolist() == [1.0, 1.0]  # old file intact


def test_an_os_level_enospc_is_reported_the_same_way(tmp_path):
    def write(tmp):
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left on device while writing"):
        atomic.write_atomically(tmp_path / "f.bin", write)
    assert list(tmp_path.iterdir()) == []


def test_checkpoints_written_before_a_full_disk_stay_valid_and_a_rerun_resumes(
    tmp_path, monkeypatch
):
    ds = CheckpointsDataset(str(tmp_path / "ck"))
    calls = []

    def job(i):
        return Deferred(f"fp{i}", lambda: calls.append(i) or {"w": torch.full((3,), float(i))})

    _full_disk_after(monkeypatch, good_saves=1)
    with pytest.raises(Exception, match="No space left on device") as err:  # Kedro wraps it
        ds.save({"seed_0": job(0), "seed_1": job(1)})
    assert user_error(err.value).errno == errno.ENOSPC  # reported as a user error
    assert not list((tmp_path / "ck").glob("*.partial")) and not ds.exists()
    assert torch.load(tmp_path / "ck" / "seed_0.pt", weights_only=True)["w"].tolist() == [0.0] * 3

    monkeypatch.undo()  # space freed
    ds.save({"seed_0": job(0), "seed_1": job(1)})
    assert calls == [0, 1, 1] and ds.exists()  # seed_0 reused, only seed_1 trained again
    assert ds.load()["seed_1"]["w"].tolist() == [1.0] * 3
