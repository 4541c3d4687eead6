"""The finetune stage: each small target set trains its own starting probe (paper App. C.2)."""

import pytest
import torch

from transfer_invariance.core.models import build_model
from transfer_invariance.core.training import channel_stats, cpu_state_dict
from transfer_invariance.pipelines.finetune import nodes
from transfer_invariance.pipelines.finetune.pipeline import create_pipeline
from transfer_invariance.pipelines.params import FinetuneParams
from transfer_invariance.pipelines.study import StudyPlan

SIZE = 16


def _split(n: int, k: int, seed: int) -> dict:
    """k classes: a bright channel per class (an easy task), noise elsewhere."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k, (n,), generator=g)
    images = (torch.rand(n, 3, SIZE, SIZE, generator=g) * 100).to(torch.uint8)
    images[torch.arange(n), labels % 3] += 150
    return {
        "images": images,
        "labels": labels,
        "latents": {"index": torch.arange(n)},
        "meta": {"class_names": [f"c{j}" for j in range(k)], "image_size": SIZE, "name": "t"},
    }


def _target(k: int, seed: int, seeds: list[int]) -> dict:
    splits = {"train": _split(30, k, seed), "val": _split(10, k, seed + 1)}
    splits["test"] = _split(10, k, seed + 2)
    return {f"seed_{s}": splits for s in seeds}


def _checkpoint(seed: int) -> dict:
    torch.manual_seed(seed)
    model = build_model("resnet18", 4, 0.125, image_size=SIZE)
    mean, std = channel_stats(_split(20, 4, 99)["images"])
    return {
        "arch": "resnet18",
        "width": 0.125,
        "num_classes": 4,
        "image_size": SIZE,
        "state_dict": cpu_state_dict(model),
        "mean": mean,
        "std": std,
        "best_val_acc": 0.0,
        "best_epoch": 0,
    }


@pytest.fixture
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def test_starting_probe_sees_only_the_small_set_it_fine_tunes_on(monkeypatch, one_thread):
    seeds, sizes = [0, 3], [5, 12]
    params = FinetuneParams.model_validate(
        {
            "epochs": 1,
            "batch_size": 8,
            "n_samples": sizes,
            "probe_epochs": 2,
            "device": "cpu",
            "num_threads": 1,
            "progress": False,
        }
    )
    targets = {"three": _target(3, 10, seeds), "two": _target(2, 20, seeds)}
    calls = []
    real_probe, real_finetune = nodes.probe, nodes.finetune

    def spy_probe(checkpoint, train, val, test, config, run_id=None, cache=None, desc=None):
        result = real_probe(checkpoint, train, val, test, config, run_id, cache, desc=desc)
        calls.append(("probe", train, val, config, result))
        return result

    def spy_finetune(checkpoint, linear, train, val, test, config, run_id=None, desc=None):
        calls.append(("finetune", train, val, config, linear))
        return real_finetune(checkpoint, linear, train, val, test, config, run_id, desc=desc)

    monkeypatch.setattr(nodes, "probe", spy_probe)
    monkeypatch.setattr(nodes, "finetune", spy_finetune)

    table = nodes.finetune_models({f"seed_{s}": _checkpoint(s) for s in seeds}, params, **targets)

    runs = [(s, t, n) for s in seeds for t in targets for n in sizes]
    assert list(zip(table["seed"], table["target"], table["n_samples"], strict=True)) == runs
    assert table[["test_acc", "probe_test_acc"]].notna().all().all()
    assert [c[0] for c in calls] == ["probe", "finetune"] * len(runs)
    for i, (seed, target, n) in enumerate(runs):
        _, p_train, p_val, p_config, result = calls[2 * i]
        _, f_train, f_val, f_config, start = calls[2 * i + 1]
        full = targets[target][f"seed_{seed}"]
        # the probe trains on exactly the n samples of the fine-tuning, not the whole split
        assert (
            p_train is f_train and p_train["labels"].numel() == n < full["train"]["labels"].numel()
        )
        expected = nodes.subset(full["train"], n, seed)
        assert torch.equal(p_train["images"], expected["images"])
        assert torch.equal(p_train["latents"]["index"], expected["latents"]["index"])
        assert p_val is f_val is full["val"]
        # fine-tuning starts from that probe; each has its own recipe
        assert start is result["linear"] and start["weight"].shape[0] == len(
            full["train"]["meta"]["class_names"]
        )
        assert p_config == params.start_probe_config(seed) and p_config.epochs == 2
        assert f_config == params.config(seed) and f_config.epochs == 1


def test_starting_probe_recipe_and_stage_inputs():
    block = FinetuneParams.model_validate({"lr": 1e-4, "batch_size": 16, "progress": False})
    start = block.start_probe_config(seed=5)
    assert (start.epochs, start.lr, start.lr_schedule, start.optimizer) == (
        100,
        1e-3,
        "constant",
        "adam",
    )
    assert (start.batch_size, start.seed, start.progress) == (16, 5, False)
    assert block.config(5).lr == 1e-4

    # no probe stage needed: fine-tuning on a target that is not probed is a valid study
    plan = StudyPlan.from_parameters(
        {
            "generate_data": {"a": {"dataset": {}}, "b": {"dataset": {}}},
            "pretrain": {"models": {"m": {"data": "a"}}},
            "finetune": {"models": {"m": ["b"]}},
        }
    )
    inputs = create_pipeline(plan).inputs()
    assert "pretrain.m.checkpoints" in inputs
    assert not any(name.startswith("probe.") for name in inputs)
