import pytest
import torch
from kedro.io.core import DatasetError

from transfer_invariance.datasets.tensor_set import TensorSetDataset
from transfer_invariance.errors import user_error


def test_round_trip_and_clear_errors(tmp_path):
    ds = TensorSetDataset(str(tmp_path / "sub" / "train.pt"))
    data = {
        "images": torch.zeros(2, 3, 4, 4, dtype=torch.uint8),
        "labels": torch.tensor([0, 1]),
        "meta": {"class_names": ["a", "b"]},
    }
    with pytest.raises(DatasetError, match="does not exist"):
        ds.load()
    ds.save(data)
    back = ds.load()
    assert torch.equal(back["images"], data["images"]) and back["meta"] == data["meta"]
    (tmp_path / "sub" / "train.pt").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="corrupt") as err:
        ds.load()
    assert user_error(err.value) is err.value  # reported as one line, without a traceback
