import pytest
import torch
import torch.nn.functional as F
from squares import make_squares

from transfer_invariance.core.finetune import finetune, finetune_config
from transfer_invariance.core.models import build_model
from transfer_invariance.core.probe import (
    ProbeFeatures,
    ProbeJob,
    accuracy,
    init_linear,
    probe,
    probe_config,
    probe_many,
    representations,
    train_linear_probe,
    train_linear_probes,
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


def _probe_set(seed: int, n: int = 80, m: int = 40, dim: int = 24, classes: int = 5, **cfg):
    """Features with a learnable signal (class means) and a recipe seeded by ``seed``."""
    gen = torch.Generator().manual_seed(100 + seed)
    means = torch.randn(classes, dim, generator=gen)

    def split(k: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.randint(0, classes, (k,), generator=gen)
        return means[y] + 0.7 * torch.randn(k, dim, generator=gen), y

    (xt, yt), (xv, yv) = split(n), split(m)
    config = probe_config(
        **{"epochs": 6, "batch_size": 16, "lr": 0.05, "progress": False, "device": "cpu", **cfg},
        seed=seed,
    )
    return ProbeFeatures(xt, yt, xv, yv, config)


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_batched_probes_equal_separate_probes(optimizer):
    """P probes trained as one batched problem give each probe's own result: the same per-epoch
    validation accuracies and best epoch, weights within 1e-5 (float rounding of bmm vs mm)."""
    sets = [_probe_set(seed, optimizer=optimizer, weight_decay=1e-3) for seed in range(5)]
    batched = train_linear_probes(sets, 5)
    for p, (linear, history) in zip(sets, batched, strict=True):
        alone, alone_history = train_linear_probe(
            p.train_feats, p.train_labels, p.val_feats, p.val_labels, 5, p.config
        )
        assert history["val_acc"] == alone_history["val_acc"]
        assert history["best_epoch"] == alone_history["best_epoch"]
        assert history["train_loss"] == pytest.approx(alone_history["train_loss"], rel=1e-5)
        torch.testing.assert_close(linear.weight, alone.weight, atol=1e-5, rtol=0)
        torch.testing.assert_close(linear.bias, alone.bias, atol=1e-5, rtol=0)
    # the probes did learn, and differently: batching kept them apart
    accs = [h["best_val_acc"] for _, h in batched]
    assert min(accs) > 0.5
    assert not torch.allclose(batched[0][0].weight, batched[1][0].weight)


def test_batched_probes_refuse_different_shapes():
    with pytest.raises(ValueError, match="batch_key"):
        train_linear_probes([_probe_set(0), _probe_set(1, n=64)], 5)
    with pytest.raises(ValueError, match="batch_key"):
        train_linear_probes([_probe_set(0), _probe_set(1, lr=0.01)], 5)


def test_probe_many_groups_by_shape_and_keeps_order(data):
    """Jobs of several shapes (classes, sample counts) in one call: each result equals the job's
    own ``probe``, in the jobs' order, whatever ``max_batched``."""
    train, val, test, ckpt = data
    cfg = probe_config(epochs=3, batch_size=16, progress=False, device="cpu", num_threads=1)
    three = [
        {**d, "labels": d["labels"] % 3, "meta": {"class_names": list("abc")}} for d in data[:3]
    ]
    jobs = [
        ProbeJob(ckpt, train, val, test, cfg.replace(seed=0)),
        ProbeJob(ckpt, *three, cfg.replace(seed=1)),
        ProbeJob(ckpt, train, val, test, cfg.replace(seed=2)),
        ProbeJob(ckpt, subset_of(train, 64), val, test, cfg.replace(seed=3)),
        ProbeJob(ckpt, *three, cfg.replace(seed=4)),
    ]
    for max_batched in (1, 2, 64):
        results = probe_many(jobs, max_batched=max_batched)
        for job, result in zip(jobs, results, strict=True):
            alone = probe(job.checkpoint, job.train, job.val, job.test, job.config)
            assert result["num_classes"] == alone["num_classes"]
            assert result["test_acc"] == alone["test_acc"]
            assert result["history"]["val_acc"] == alone["history"]["val_acc"]
    with pytest.raises(ValueError, match="max_batched"):
        probe_many(jobs, max_batched=0)


def subset_of(data: dict, n: int) -> dict:
    return {**data, "images": data["images"][:n], "labels": data["labels"][:n]}


def test_bf16_representations_are_within_two_percent_of_float32(data):
    """The GPU path (bf16 autocast, forced here on the CPU) against float32: relative L2 error
    of the representations below 2%, and the same probe accuracy within 2 test samples."""
    train, val, test, ckpt = data
    model = load_model(ckpt)
    exact = representations(model, train["images"], device="cpu", bf16=False)
    fast = representations(model, train["images"], device="cpu", bf16=True)
    assert fast.dtype == torch.float32
    rel = float((fast - exact).norm() / exact.norm())
    assert 0 < rel < 0.02
