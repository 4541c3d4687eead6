import pytest
import torch
import torch.nn.functional as F
from squares import make_squares

from transfer_invariance.core.finetune import finetune, finetune_config
from transfer_invariance.core.models import build_model
from transfer_invariance.core.probe import (
    accuracy,
    init_linear,
    probe,
    probe_config,
    representations,
    train_linear_probe,
)
from transfer_invariance.core.training import (
    TrainConfig,
    batch_slices,
    channel_stats,
    cpu_state_dict,
    epoch_permutation,
    load_model,
)


def random_checkpoint(train: dict, arch: str = "resnet18", width: float = 0.125) -> dict:
    """A checkpoint of a randomly initialised backbone (with non-trivial BatchNorm statistics)."""
    torch.manual_seed(0)
    model = build_model(arch, 5, width, image_size=16)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    mean, std = channel_stats(train["images"])
    return {
        "arch": arch,
        "width": width,
        "num_classes": 5,
        "image_size": 16,
        "state_dict": cpu_state_dict(model),
        "mean": mean,
        "std": std,
        "best_val_acc": 0.0,
        "best_epoch": 0,
    }


@pytest.fixture(scope="module")
def data():
    train, val, test = make_squares(96, 0, k=4), make_squares(48, 1, k=4), make_squares(48, 2, k=4)
    return train, val, test, random_checkpoint(train)


def test_cached_probe_equals_probe_through_frozen_backbone(data):
    train, val, _, ckpt = data
    cfg = TrainConfig(epochs=4, batch_size=16, seed=3, progress=False, device="cpu", num_threads=1)
    backbone = load_model(ckpt)

    # cached representations
    ft = representations(backbone, train["images"], batch_size=40, device="cpu")
    fv = representations(backbone, val["images"], batch_size=40, device="cpu")
    cached, hist = train_linear_probe(ft, train["labels"], fv, val["labels"], 4, cfg)

    # reference: runs the frozen backbone on every mini-batch, every epoch
    lin = init_linear(backbone.feature_dim, 4, cfg.seed)
    opt = torch.optim.Adam(lin.parameters(), lr=cfg.lr)
    best, best_state, ref_val = -1.0, None, []
    n = train["images"].shape[0]
    for epoch in range(cfg.epochs):
        order = epoch_permutation(n, cfg.seed, epoch)
        for s in batch_slices(n, cfg.batch_size, drop_singleton=False):
            idx = order[s]
            with torch.no_grad():
                f = backbone.features(train["images"][idx])
            loss = F.cross_entropy(lin(f), train["labels"][idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = float(
                (lin(backbone.features(val["images"])).argmax(1) == val["labels"]).float().mean()
            )
        ref_val.append(acc)
        if acc > best:
            best, best_state = acc, cpu_state_dict(lin)
    lin.load_state_dict(best_state)

    assert hist["val_acc"] == pytest.approx(ref_val, abs=1e-6)
    assert hist["best_val_acc"] == pytest.approx(best)
    torch.testing.assert_close(cached.weight.detach(), lin.weight.detach(), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(cached.bias.detach(), lin.bias.detach(), atol=1e-4, rtol=1e-4)
    assert accuracy(cached, fv, val["labels"]) == pytest.approx(best)


def test_representations_use_eval_mode_and_restore_mode(data):
    train, _, _, ckpt = data
    model = load_model(ckpt).train()
    before = cpu_state_dict(model)
    reps = representations(model, train["images"][:10], batch_size=4, device="cpu")
    assert reps.dtype == torch.float32 and reps.shape == (10, model.feature_dim)
    assert model.training  # mode restored
    for k, v in cpu_state_dict(model).items():
        torch.testing.assert_close(v, before[k])  # BatchNorm running stats untouched
    # batch size does not matter (eval-mode BatchNorm)
    torch.testing.assert_close(
        reps,
        representations(model, train["images"][:10], batch_size=10, device="cpu"),
        atol=1e-5,
        rtol=1e-5,
    )


def test_probe_keeps_backbone_and_finetune_changes_it(data):
    train, val, test, ckpt = data
    original = {k: v.clone() for k, v in ckpt["state_dict"].items()}
    result = probe(
        ckpt,
        train,
        val,
        test,
        probe_config(epochs=5, batch_size=16, progress=False, device="cpu", num_threads=1),
    )
    assert set(result) >= {"linear", "history", "test_acc", "val_acc", "train_acc"}
    assert result["val_acc"] == pytest.approx(max(result["history"]["val_acc"]))
    assert 0.0 <= result["test_acc"] <= 1.0
    for k, v in ckpt["state_dict"].items():
        assert torch.equal(v, original[k])

    cfg = finetune_config(epochs=2, batch_size=16, progress=False, device="cpu", num_threads=1)
    new_ckpt, metrics = finetune(ckpt, result["linear"], train, val, test, cfg)
    for k, v in ckpt["state_dict"].items():
        assert torch.equal(v, original[k])  # the input checkpoint is not mutated
    assert new_ckpt["num_classes"] == 4
    assert new_ckpt["state_dict"]["head.weight"].shape == (
        4,
        new_ckpt["state_dict"]["head.weight"].shape[1],
    )
    changed = [
        k
        for k, v in new_ckpt["state_dict"].items()
        if not k.startswith("head.") and v.is_floating_point() and not torch.equal(v, original[k])
    ]
    assert changed, "fine-tuning should update backbone weights"
    assert set(metrics) >= {"train_acc", "val_acc", "test_acc", "history"}
    assert metrics["val_acc"] == pytest.approx(new_ckpt["best_val_acc"])
    assert len(metrics["history"]["val_acc"]) == 2


def test_probe_image_size_mismatch_raises(data):
    _, val, test, ckpt = data
    with pytest.raises(ValueError, match="image_size"):
        probe(
            ckpt,
            make_squares(8, 0, size=32, k=4),
            val,
            test,
            probe_config(epochs=1, progress=False),
        )


def test_probe_cache_runs_the_backbone_once_per_image_set(data):
    train, val, test, ckpt = data
    cfg = probe_config(epochs=2, progress=False, device="cpu")
    relabelled = [{**d, "labels": (d["labels"] + 1) % 4} for d in (train, val, test)]
    cache: dict = {}
    first = probe(ckpt, train, val, test, cfg, cache=cache)
    second = probe(ckpt, *relabelled, cfg, cache=cache)
    assert len(cache) == 3  # train, val and test representations, shared by both targets
    assert first["test_acc"] == probe(ckpt, train, val, test, cfg)["test_acc"]
    assert second["test_acc"] == probe(ckpt, *relabelled, cfg)["test_acc"]
