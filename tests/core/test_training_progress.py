"""What a training prints: one tqdm line per training labelled ``desc``, nothing from Lightning."""

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from squares import make_squares

from transfer_invariance.core.finetune import finetune, finetune_config
from transfer_invariance.core.probe import probe, probe_config
from transfer_invariance.core.training import TrainConfig, pretrain
from transfer_invariance.core.training.progress import quiet_lightning

FAST = dict(batch_size=16, seed=0, device="cpu", num_threads=1)


def segments(text: str) -> list[str]:
    """The non-empty pieces of terminal output between carriage returns and newlines."""
    return [s.strip() for s in text.replace("\r", "\n").split("\n") if s.strip()]


@pytest.fixture(scope="module")
def data():
    return make_squares(64, 0), make_squares(32, 1)


def test_progress_line_names_desc_epochs_and_metrics(data, capfd):
    desc = "harm.co_c | pretrain | seed 1"
    pretrain(*data, "resnet18", 0.125, TrainConfig(epochs=2, progress=True, **FAST), desc=desc)
    out, err = capfd.readouterr()
    assert out == ""
    lines = segments(err)
    assert lines and all(line.startswith(f"{desc}:") for line in lines)
    assert "2/2" in lines[-1] and "val_acc=" in lines[-1] and "loss=" in lines[-1]
    assert err.count("\n") == 1  # one line per training, left on screen


def test_default_labels_name_the_training(data, capfd):
    train, val = data
    cfg = TrainConfig(epochs=1, progress=True, **FAST)
    ckpt, _ = pretrain(train, val, "resnet18", 0.125, cfg)
    p = probe(ckpt, train, val, val, probe_config(epochs=2, progress=True, **FAST))
    finetune(ckpt, p["linear"], train, val, val, finetune_config(epochs=1, progress=True, **FAST))
    lines = segments(capfd.readouterr().err)
    prefixes = {line.split(":")[0] for line in lines}
    assert prefixes == {"pretrain resnet18 | seed 0", "probe", "finetune resnet18 | seed 0"}


def test_probe_and_finetune_use_desc(data, capfd):
    train, val = data
    ckpt, _ = pretrain(train, val, "resnet18", 0.125, TrainConfig(epochs=1, progress=False, **FAST))
    assert capfd.readouterr() == ("", "")
    p = probe(ckpt, train, val, val, probe_config(epochs=3, progress=True, **FAST), desc="P | s 2")
    finetune(
        ckpt,
        p["linear"],
        train,
        val,
        val,
        finetune_config(epochs=1, progress=True, **FAST),
        desc="F | s 2",
    )
    out, err = capfd.readouterr()
    assert out == ""
    lines = segments(err)
    assert {line.split(":")[0] for line in lines} == {"P | s 2", "F | s 2"}
    assert any(line.startswith("P | s 2:") and "3/3" in line for line in lines)
    assert err.count("\n") == 2


def test_progress_false_prints_nothing(data, capfd, caplog):
    train, val = data
    caplog.set_level(logging.DEBUG)
    cfg = TrainConfig(epochs=1, progress=False, **FAST)
    ckpt, _ = pretrain(train, val, "resnet18", 0.125, cfg, desc="silent")
    p = probe(ckpt, train, val, val, probe_config(epochs=2, progress=False, **FAST), desc="x")
    finetune(ckpt, p["linear"], train, val, val, finetune_config(epochs=1, progress=False, **FAST))
    assert capfd.readouterr() == ("", "")
    lightning = [r for r in caplog.records if r.name.startswith("lightning")]
    assert [r for r in lightning if r.levelno >= logging.INFO] == []


def test_quiet_lightning_restores_logger_levels():
    lg = logging.getLogger("lightning.pytorch")
    before = lg.level
    with quiet_lightning():
        assert lg.level == logging.ERROR
    assert lg.level == before


def test_lightning_prints_nothing_in_a_fresh_process(tmp_path):
    """A normal CPU run with INFO logging and all warnings shown prints nothing but the bar."""
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import logging, sys, warnings
            logging.basicConfig(level=logging.INFO)
            warnings.simplefilter("always")
            sys.path.insert(0, {str(Path(__file__).parent)!r})
            from squares import make_squares
            from transfer_invariance.core.finetune import finetune, finetune_config
            from transfer_invariance.core.training import TrainConfig, pretrain

            train, val = make_squares(48, 0), make_squares(24, 1)
            kw = dict(batch_size=16, seed=0, device="cpu", num_threads=1)
            cfg = TrainConfig(epochs=2, progress=False, **kw)
            ckpt, _ = pretrain(train, val, "resnet18", 0.125, cfg)
            state = {{"weight": ckpt["state_dict"]["head.weight"], "bias": ckpt["state_dict"]["head.bias"]}}
            finetune(ckpt, state, train, val, val, finetune_config(epochs=1, progress=True, **kw),
                     desc="only line")
            """
        )
    )
    env = {**os.environ, "DO_NOT_TRACK": "true", "PYTHONWARNINGS": "always"}
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    lines = segments(proc.stderr)
    assert lines and all(line.startswith("only line:") for line in lines), proc.stderr
