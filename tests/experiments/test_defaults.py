"""Defaults in one place: a data block's class defaults are the default size of conf/base."""

from pathlib import Path

import pytest
import yaml

from transfer_invariance.experiments.harm.params import HarmDataParams
from transfer_invariance.experiments.importance.params import ImportanceDataParams
from transfer_invariance.experiments.mismatch.params import GridParams, MismatchDataParams
from transfer_invariance.experiments.transfer.params import TransferDataParams

CONF = Path(__file__).resolve().parents[2] / "conf" / "base"
BLOCKS = {
    ("harm", "data"): HarmDataParams,
    ("importance", "data"): ImportanceDataParams,
    ("mismatch", "grid"): GridParams,
    ("mismatch", "data"): MismatchDataParams,
    ("transfer", "data"): TransferDataParams,
}


@pytest.mark.parametrize(("experiment", "block"), list(BLOCKS))
def test_class_defaults_are_the_base_configuration(experiment, block):
    written = yaml.safe_load((CONF / f"parameters_{experiment}.yml").read_text())[experiment][block]
    defaults = BLOCKS[experiment, block]().model_dump()
    differ = {k: (defaults[k], v) for k, v in written.items() if k in defaults and defaults[k] != v}
    assert differ == {}, f"{experiment}.{block}: class default vs conf/base: {differ}"
