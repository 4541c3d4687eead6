import math
import subprocess
import sys

import pytest
import torch
from squares import make_squares

from transfer_invariance.core.training import (
    NormalizedModel,
    TrainConfig,
    default_config_for,
    evaluate,
    load_model,
    lr_factor,
    pretrain,
)

FAST = dict(batch_size=16, progress=False, seed=0, device="cpu", num_threads=1)


@pytest.fixture(scope="module")
def trained():
    train, val = make_squares(160, 0), make_squares(60, 1)
    cfg = TrainConfig(epochs=5, **FAST)
    ckpt, hist = pretrain(train, val, "resnet18", 0.125, cfg)
    return train, val, ckpt, hist


def test_pretraining_learns(trained):
    _, _, ckpt, hist = trained
    assert set(hist) == {"train_loss", "train_acc", "val_loss", "val_acc"}
    assert all(len(v) == 5 for v in hist.values())
    assert hist["train_loss"][-1] < 0.5 * hist["train_loss"][0]
    assert ckpt["best_val_acc"] >= 0.8  # chance is 1/3
    assert ckpt["arch"] == "resnet18" and ckpt["num_classes"] == 3 and ckpt["image_size"] == 16
    assert len(ckpt["mean"]) == 3 and len(ckpt["std"]) == 3
    assert all(t.device.type == "cpu" for t in ckpt["state_dict"].values())


def test_best_validation_checkpoint_is_returned(trained):
    _, val, ckpt, hist = trained
    best = max(hist["val_acc"])
    assert ckpt["best_epoch"] == hist["val_acc"].index(best)  # first epoch reaching the max
    assert ckpt["best_val_acc"] == pytest.approx(best)
    # re-evaluating the returned weights reproduces the best epoch's validation numbers
    metrics = evaluate(load_model(ckpt), val, device="cpu")
    assert metrics["acc"] == pytest.approx(best)
    assert metrics["loss"] == pytest.approx(hist["val_loss"][ckpt["best_epoch"]], rel=1e-4)


def test_best_epoch_restored_when_later_epochs_are_worse():
    # a short run where the first epoch is the best on validation (BatchNorm statistics lag)
    train, val = make_squares(96, 0), make_squares(48, 1)
    ckpt, hist = pretrain(
        train, val, "resnet18", 0.125, TrainConfig(epochs=3, **{**FAST, "batch_size": 32})
    )
    best_epoch = ckpt["best_epoch"]
    assert hist["val_acc"][best_epoch] == max(hist["val_acc"])
    metrics = evaluate(load_model(ckpt), val, device="cpu")
    assert metrics["loss"] == pytest.approx(hist["val_loss"][best_epoch], rel=1e-4)


def test_pretraining_is_deterministic():
    train, val = make_squares(64, 0), make_squares(32, 1)
    cfg = TrainConfig(epochs=1, **FAST)
    a, ha = pretrain(train, val, "vgg11_bn", 0.125, cfg)
    b, hb = pretrain(train, val, "vgg11_bn", 0.125, cfg)
    assert ha == hb
    for k in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][k], b["state_dict"][k])


def test_load_model_accepts_uint8_and_unit_float(trained):
    _, val, ckpt, _ = trained
    model = load_model(ckpt)
    assert isinstance(model, NormalizedModel) and not model.training
    x = val["images"][:4]
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x.float() / 255.0))
        assert model.features(x).shape == (4, model.feature_dim)


def test_zero_epochs_raises():
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="exponential")
    with pytest.raises(ValueError, match="batch_size"):
        TrainConfig(batch_size=0)


def test_image_size_mismatch_raises():
    with pytest.raises(ValueError, match="image"):
        pretrain(
            make_squares(8, 0, 16), make_squares(8, 1, 32), "resnet18", 0.125, TrainConfig(epochs=1)
        )
    bad = make_squares(8, 0, 16)
    bad["meta"]["image_size"] = 32
    with pytest.raises(ValueError, match="image_size"):
        pretrain(bad, make_squares(8, 1, 16), "resnet18", 0.125, TrainConfig(epochs=1))


def test_labels_out_of_range_raise():
    val = make_squares(8, 1)
    val["labels"][0] = 5
    with pytest.raises(ValueError, match="labels"):
        pretrain(make_squares(8, 0), val, "resnet18", 0.125, TrainConfig(epochs=1))


def test_default_configs_and_schedules():
    cnn = default_config_for("resnet18")
    assert (cnn.optimizer, cnn.lr, cnn.lr_schedule, cnn.epochs) == ("adam", 1e-3, "constant", 50)
    vit = default_config_for("vit", epochs=20)
    assert vit.epochs == 20 and vit.lr_schedule == "warmup_cosine"
    assert (vit.warmup_epochs, vit.cosine_final_lr, vit.weight_decay) == (5, 1e-5, 1e-5)
    with pytest.raises(ValueError, match="known names"):
        default_config_for("nope")

    total, spe = 100, 10
    lin = TrainConfig(lr_schedule="linear_to_zero")
    assert lr_factor(lin, 0, total, spe) == 1.0
    assert lr_factor(lin, total - 1, total, spe) == pytest.approx(0.01)
    cos = TrainConfig(lr_schedule="warmup_cosine", warmup_epochs=2, cosine_final_lr=1e-5)
    assert lr_factor(cos, 0, total, spe) == pytest.approx(1 / 20)
    assert lr_factor(cos, 19, total, spe) == pytest.approx(1.0)
    assert lr_factor(cos, 20, total, spe) == pytest.approx(1.0)
    assert lr_factor(cos, total, total, spe) == pytest.approx(1e-2)
    mid = lr_factor(cos, 60, total, spe)
    assert mid == pytest.approx(1e-2 + (1 - 1e-2) * 0.5 * (1 + math.cos(math.pi * 0.5)))


def test_importing_training_does_not_import_lightning():
    code = (
        "import sys, transfer_invariance.core.training as t, transfer_invariance.core.finetune, "
        "transfer_invariance.core.probe; assert t.fit and 'lightning' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_package_reexports_the_public_names():
    import transfer_invariance.core.training as training

    assert set(training.__all__) <= set(dir(training))
    for name in ("fit", "pretrain", "TrainConfig", "NormalizedModel", "epoch_permutation"):
        assert name in training.__all__


def test_augmented_training_set_is_redrawn_every_epoch_and_reproducibly():
    from transfer_invariance.core.training.data import EpochAugmentation, device_loader

    data = make_squares(24, 3)
    data["meta"] = {**data.get("meta", {}), "augment": {"transforms": ["rotate"], "seed": 5}}
    augment = EpochAugmentation.of(data)
    index = torch.arange(24)
    first, again = augment(data["images"], index, 0), augment(data["images"], index, 0)
    assert torch.equal(first, again) and not torch.equal(first, data["images"])
    assert not torch.equal(first, augment(data["images"], index, 1))  # a fresh draw per epoch
    # a sample's draw depends on its index, not on the batch it lands in
    assert torch.equal(augment(data["images"][5:9], index[5:9], 0), first[5:9])

    loader = device_loader(
        data, 8, seed=0, shuffle=True, device=torch.device("cpu"), augment=augment
    )
    seen = {}
    for epoch in (0, 1):
        loader.sampler.set_epoch(epoch)
        seen[epoch] = torch.cat([x for x, _ in loader])
    assert not torch.equal(seen[0].sort(0).values, seen[1].sort(0).values)
    assert EpochAugmentation.of(make_squares(4, 0)) is None


def test_narrow_model_trains_on_odd_batch_sizes_on_the_cpu():
    # PyTorch 2.14's channels_last backward of a width-0.125 ResNet-18 corrupted memory on a batch
    # of 9 (the process died); the CPU uses the standard layout. In a subprocess, so a crash fails
    # this test instead of ending the suite.
    code = (
        "import torch; from transfer_invariance.core.models import build_model; "
        "from transfer_invariance.core.training import NormalizedModel; "
        "net = NormalizedModel(build_model('resnet18', 5, 0.125, 32), [0.5] * 3, [0.25] * 3); "
        "x = torch.randint(0, 256, (9, 3, 32, 32), dtype=torch.uint8); "
        "[net(x).sum().backward() for _ in range(3)]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_fixed_normalisation_feeds_the_network_x_minus_half_over_half(trained):
    """``normalisation: fixed`` (the original code's): the network sees (x - 0.5) / 0.5 of the
    [0, 1] image whatever the training images; ``dataset`` uses their own statistics."""
    train, val, dataset_ckpt, _ = trained
    ckpt, _ = pretrain(
        train, val, "resnet18", 0.125, TrainConfig(epochs=1, normalisation="fixed", **FAST)
    )
    assert ckpt["normalisation"] == "fixed" and ckpt["mean"] == ckpt["std"] == [0.5] * 3
    assert dataset_ckpt["normalisation"] == "dataset" and dataset_ckpt["mean"] != [0.5] * 3
    x = train["images"][:4]
    torch.testing.assert_close(load_model(ckpt).normalize(x), (x.float() / 255 - 0.5) / 0.5)
    with pytest.raises(ValueError, match="normalisation"):
        TrainConfig(normalisation="imagenet")
