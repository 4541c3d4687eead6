import pickle
import tarfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from transfer_invariance.core.rendering import Renderer, augment_pairs
from transfer_invariance.experiments.transfer import data, params, report
from transfer_invariance.experiments.transfer.params import (
    GridParams,
    TransferDataParams,
)
from transfer_invariance.pipelines.params import (
    BaseImagesParams,
    DatasetParams,
    InvarianceParams,
    RenderParams,
    TrainingParams,
)

TINY = {
    "transfer": {
        "grid": {"types": ["rotate", "hue"], "real_world": ["scenes"]},
        "seeds": [0],
        "data": {"n_objects": 4, "n_train": 48, "n_val": 16, "n_test": 16, "n_pairs": 12},
        "training": {"width": 0.125, "epochs": 1, "batch_size": 32, "progress": False},
        "invariance": {"n_random_pairs": 50},
    },
    "render": {"progress": False},
}
SMALL = TransferDataParams(n_objects=4, n_train=8, n_val=4, n_test=4, n_pairs=6)
BASE, RENDER = BaseImagesParams(), RenderParams(progress=False)
RUN = (TrainingParams(), TransferDataParams(), InvarianceParams())  # table2's recipe and sizes


def _differ_only_in(pairs: dict, transformation: str) -> None:
    """Both members share images' labels and every latent but the transformation's own draws."""
    a, b = pairs["a"], pairs["b"]
    assert torch.equal(a["labels"], b["labels"])
    own = {k for k in a["latents"] if k.startswith(f"{transformation}.")}
    for key in set(a["latents"]) - own:
        assert torch.equal(a["latents"][key], b["latents"][key]), key
    if transformation == "none":
        assert torch.equal(a["images"], b["images"])
    else:
        assert own and any(not torch.equal(a["latents"][k], b["latents"][k]) for k in own)
        assert not torch.equal(a["images"], b["images"])


@pytest.mark.parametrize("source", data.SYNTHETIC)
@pytest.mark.parametrize("transformation", ["rotate", "hue", "none"])
def test_synthetic_pairs_differ_only_in_the_named_transformation(source, transformation):
    pairs = data.synthetic_pairs(source, transformation, SMALL, 1, BASE, RENDER)
    assert pairs["a"]["images"].shape == (6, 3, 32, 32)
    assert pairs["a"]["meta"]["data"] == ("random" if source.endswith("patterns") else "images")
    _differ_only_in(pairs, transformation)


@pytest.mark.parametrize("transformation", ["translate", "contrast", "none"])
def test_real_world_pairs_are_two_augmentations_of_the_same_image(transformation):
    images = data.real_world_images("scenes", SMALL)
    pairs = augment_pairs(images, [transformation])
    assert torch.equal(pairs["a"]["labels"], images["labels"])
    _differ_only_in(pairs, transformation)
    if transformation == "none":
        assert torch.equal(pairs["a"]["images"], images["images"])
    by_type = data.make_real_world_pairs(images, GridParams(types=["rotate", "hue"]), RENDER)
    assert set(by_type) == {"rotate", "hue"}
    assert not torch.equal(by_type["rotate"]["a"]["images"], by_type["hue"]["a"]["images"])


def test_kinds_of_data_are_what_the_paper_says():
    """In-distribution = the seed's own objects; mild OOD = other objects of the same draw;
    strong OOD = the other family's data; random models the other way round."""
    spec = lambda source, seed: data.source_spec(source, ["none"], SMALL, seed, BASE)  # noqa: E731
    names = lambda source, seed: set(Renderer.from_spec(spec(source, seed)).class_names)  # noqa: E731
    assert names("objects", 0) != names("objects", 1)  # objects drawn per seed
    assert not names("objects", 0) & names("other_objects", 0)  # mild OOD: other objects
    trained = Renderer.from_spec(spec("objects", 0))
    model_data = data.make_model_data(
        {"family": "images", "transformation": "none"}, SMALL, [0], BASE, RENDER
    )
    assert model_data["seed_0"]["train"]["meta"]["class_names"] == list(trained.class_names)
    assert params.SOURCE_OF_KIND["images"]["strong_ood"] == "patterns"
    assert params.SOURCE_OF_KIND["random"]["strong_ood"] == "objects"
    assert params.SOURCE_OF_KIND["random"]["mild_ood"] == "other_patterns"


def test_other_patterns_have_their_own_seed_and_never_match_a_seeds_patterns():
    def patterns(source, seed, other_pattern_seed=7):
        params = SMALL.model_copy(update={"other_pattern_seed": other_pattern_seed})
        return Renderer.from_spec(data.source_spec(source, ["none"], params, seed, BASE)).objects

    assert torch.equal(patterns("other_patterns", 0), patterns("other_patterns", 5))
    assert not torch.equal(patterns("patterns", 0), patterns("patterns", 5))
    assert not torch.equal(patterns("other_patterns", 0), patterns("other_patterns", 0, 8))
    # even when the pattern seed equals a run seed, the mild-OOD patterns are other patterns
    for own, other in zip(patterns("patterns", 7), patterns("other_patterns", 0, 7), strict=True):
        assert not torch.equal(own, other)
    shared = data.make_synthetic_pairs(
        GridParams(types=["rotate", "hue"]), SMALL, [0, 1], BASE, RENDER
    )
    assert set(shared[data.pair_key("objects", "hue")]) == {"seed_0", "seed_1"}
    assert set(shared[data.pair_key("other_patterns", "hue")]) == {"a", "b"}


def test_pattern_seed_makes_random_patterns_independent_of_the_dataset_seed():
    def objects(**kw):
        spec = DatasetParams(data="random", objects=3, **kw).spec("random")
        return Renderer.from_spec(spec).objects

    assert torch.equal(objects(seed=1, pattern_seed=4), objects(seed=2, pattern_seed=4))
    assert not torch.equal(objects(seed=1, pattern_seed=4), objects(seed=1, pattern_seed=5))
    assert torch.equal(objects(seed=3), objects(seed=3, pattern_seed=3))  # default: the seed
    assert not torch.equal(objects(seed=1), objects(seed=2))
    with pytest.raises(ValueError, match="pattern_seed"):
        DatasetParams(data="random", pattern_seed=-1)


def _sensitivity(values: dict) -> pd.DataFrame:
    """A collected sensitivity table from ``{(family, trained, kind, measured, seed): value}``."""
    return pd.DataFrame(
        [
            {
                "model": f"{f}_{m}",
                "pairs": f"{k}__{t}",
                "seed": s,
                "sensitivity_l2": v,
                "sensitivity_cosine": v / 2,
            }
            for (f, m, k, t, s), v in values.items()
        ]
    )


def _pretraining(grid: GridParams, seeds=(0, 1)) -> pd.DataFrame:
    pretrain_metrics = pd.DataFrame(
        [
            {"model": f"{f}_{m}", "seed": s, "test_acc": 0.5 + 0.1 * s}
            for f in ("images", "random")
            for m in grid.models()
            for s in seeds
        ]
    )
    return report.pretraining_accuracy(pretrain_metrics)


def test_table2_aggregates_same_other_and_none_over_types_then_seeds():
    grid = GridParams(types=["rotate", "hue", "blur"], real_world=["scenes"])
    kinds = [*params.KINDS, "scenes"]
    values = {}
    for f in ("images", "random"):
        for k in kinds:
            for s in (0, 1):
                for m in grid.models():
                    for t in grid.types:
                        # own type 0.2 (+0.1 on seed 1); others 0.6 + 0.1 * index of the model;
                        # none 0.9; each kind further out adds 0.12 to the own type only
                        base = 0.2 + 0.1 * s if m == t else 0.9 if m == "none" else 0.6
                        if m not in (t, "none"):
                            base += 0.1 * grid.types.index(m)
                        values[(f, m, k, t, s)] = base + (0.12 if m == t else 0) * kinds.index(k)
    csv, md, _, tidy = report.table2(_sensitivity(values), _pretraining(grid), grid, *RUN)
    row = lambda rel, kind: csv[  # noqa: E731
        (csv["family"] == "Image") & (csv["relation"] == rel) & (csv["kind"] == kind)
    ].iloc[0]
    same = row("Same", "In-distribution")
    assert same["sensitivity_mean"] == pytest.approx(0.25)
    assert same["sensitivity_sd"] == pytest.approx(np.std([0.2, 0.3], ddof=1))
    # Other on t: the mean of the two other types' models on t, then the mean over t
    others = {0: 0.6, 1: 0.7, 2: 0.8}
    expected = np.mean([np.mean([others[j] for j in range(3) if j != i]) for i in range(3)])
    assert row("Other", "In-distribution")["sensitivity_mean"] == pytest.approx(expected)
    assert row("None", "Strong OOD")["sensitivity_mean"] == pytest.approx(0.9)
    assert len(csv) == 2 * 3 * 4 and len(tidy) == len(values)
    verdicts = [line for line in md.splitlines() if line.startswith("- **")]
    assert len(verdicts) == 6 and all(line.endswith("**holds**.") for line in verdicts)
    assert "k = 1 sd" in md
    assert "| rotate | 55.0 ± 7.1 | 55.0 ± 7.1 |" in md  # pretraining accuracy, mean ± sd


def test_findings_report_a_lost_advantage_and_a_failed_finding():
    grid = GridParams(types=["rotate", "hue"], real_world=["scenes"])
    values = {}
    for f in ("images", "random"):
        for k in [*params.KINDS, "scenes"]:
            for s in (0, 1, 2):
                for m in grid.models():
                    for t in grid.types:
                        own = {"in_distribution": 0.2, "mild_ood": 0.4}.get(k, 0.7)
                        values[(f, m, k, t, s)] = (own if m == t else 0.7) + 0.01 * s
    values[("random", "rotate", "in_distribution", "rotate", 0)] = 0.95  # random: (a) fails
    for s in (0, 1, 2):
        values[("random", "rotate", "in_distribution", "rotate", s)] = 0.95
        values[("random", "hue", "in_distribution", "hue", s)] = 0.95
    _, md, _, _ = report.table2(_sensitivity(values), _pretraining(grid, (0, 1, 2)), grid, *RUN)
    lines = {line.split("**")[1]: line for line in md.splitlines() if line.startswith("- **")}
    assert lines["Image models, (a)"].endswith("**holds**.")
    assert lines["Image models, (b)"].endswith("**holds**.")
    lost = lines["Image models, (c)"]  # the advantage is 0 on strong OOD and scenes
    assert "**does not hold** (does not hold at above zero on Strong OOD" in lost
    assert "above zero on Scenes (CIFAR stand-in)" in lost
    assert "**does not hold** (does not hold at vs Other; vs None)" in lines["Random models, (a)"]


def test_transfer_c_is_direction_only_within_one_sd_and_not_measured_with_one_seed():
    grid = GridParams(types=["rotate", "hue"], real_world=["scenes"])
    kinds = [*params.KINDS, "scenes"]

    def values(seeds, noise):
        out = {}
        for f in ("images", "random"):
            for k in kinds:
                for s in seeds:
                    for m in grid.models():
                        for t in grid.types:
                            own = (
                                0.2
                                + 0.1 * kinds.index(k)
                                + (noise * (s - 1) if k == "scenes" else 0)
                            )
                            out[(f, m, k, t, s)] = own if m == t else 0.7
        return out

    # scenes: advantage 0.2 +- 0.2 (own type's sd over seeds): above zero, within 1 sd
    _, md, _, _ = report.table2(
        _sensitivity(values((0, 1, 2), 0.2)), _pretraining(grid, (0, 1, 2)), grid, *RUN
    )
    c = [line for line in md.splitlines() if line.startswith("- **Image models, (c)**")][0]
    assert "**direction only**" in c
    _, md, _, _ = report.table2(
        _sensitivity(values((0,), 0.0)), _pretraining(grid, (0,)), grid, *RUN
    )
    lines = [line for line in md.splitlines() if line.startswith("- **")]
    assert all("**not measured**" in line and "one seed" in line for line in lines)


def _simple_table2(seeds: tuple, real_world: list[str]) -> tuple[str, object]:
    """``table2`` where a model's own type scores 0.2 and every other 0.7 (+ 0.01 per seed)."""
    grid = GridParams(types=["rotate", "hue"], real_world=real_world)
    values = {
        (f, m, k, t, s): (0.2 if m == t else 0.7) + 0.01 * s
        for f in ("images", "random")
        for k in [*params.KINDS, *real_world]
        for s in seeds
        for m in grid.models()
        for t in grid.types
    }
    _, md, figure, _ = report.table2(_sensitivity(values), _pretraining(grid, seeds), grid, *RUN)
    return md, figure


def test_table2_shows_the_papers_values_with_cifar_10_beside_the_stand_in():
    md, figure = _simple_table2((0, 1), ["scenes"])
    assert (
        "| Same | 0.205 ± 0.007 (paper 0.12) | 0.205 ± 0.007 (paper 0.21) | "
        "0.205 ± 0.007 (paper 0.56) | 0.205 ± 0.007 (paper CIFAR-10 0.37) |"
    ) in md
    assert "| None | 0.705 ± 0.007 (paper 0.65) |" in md  # random models, in distribution
    reduced = next(line for line in md.splitlines() if line.startswith("**Reduced size**"))
    assert "2 seeds (paper 10)" in reduced and "2 types (paper 18)" in reduced
    assert "real-world data scene stand-in (paper CIFAR-10, CIFAR-100)" in reduced
    legends = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert "paper (CIFAR-10 at Scenes (CIFAR stand-in))" in legends


def test_table2_with_one_seed_and_real_cifar_columns():
    md, _ = _simple_table2((0,), ["cifar10", "cifar100"])
    assert "| Same | 0.200 (paper 0.12) |" in md and "0.200 (paper 0.35) |" in md
    reduced = next(line for line in md.splitlines() if line.startswith("**Reduced size**"))
    assert "(paper CIFAR-10 " not in md and "real-world data" not in reduced  # as in the paper
    assert "± 0.0" not in md and "± nan" not in md


def test_heatmaps_have_every_model_and_type_per_family_and_kind():
    grid = GridParams(types=["rotate", "hue"], real_world=["cifar10", "cifar100"])
    values = {
        (f, m, k, t, s): 0.5
        for f in ("images", "random")
        for m in grid.models()
        for k in [*params.KINDS, "cifar10", "cifar100"]
        for t in grid.types
        for s in (0, 1)
    }
    figures = report.heatmaps(_sensitivity(values), grid)
    assert set(figures) == {
        report.heatmap_name(f, k)
        for f in ("images", "random")
        for k in [*params.KINDS, "cifar10", "cifar100"]
    }
    ax = figures["heatmap_random_cifar100"].axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "trained on rotate",
        "trained on hue",
        "trained on none",
    ]


def _fake_cifar100(root: Path, n: int = 6) -> None:
    """A tiny archive in the CIFAR-100 python format (as tests/core/test_cifar.py builds them)."""
    rng = np.random.default_rng(0)
    parts = {
        "train": {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "fine_labels": [1] * n},
        "test": {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "fine_labels": list(range(n)),
        },
        "meta": {"fine_label_names": [f"class_{i}" for i in range(100)]},
    }
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(root / "cifar-100-python.tar.gz", "w:gz") as tf:
        for name, payload in parts.items():
            raw = pickle.dumps(payload)
            info = tarfile.TarInfo(f"cifar-100-python/{name}")
            info.size = len(raw)
            tf.addfile(info, BytesIO(raw))


def test_cifar_pairs_are_whole_image_augmentations_of_its_test_images(tmp_path):
    _fake_cifar100(tmp_path)
    params = SMALL.model_copy(update={"cifar_root": str(tmp_path), "n_pairs": 4})
    (images,) = data.load_real_world(
        GridParams(types=["rotate", "hue"], real_world=["cifar100"]), params
    ).values()
    assert images["labels"].tolist() == [0, 1, 2, 3]  # the first n_pairs test images
    pairs = data.make_real_world_pairs(images, GridParams(types=["rotate", "hue"]), RENDER)
    for t in ("rotate", "hue"):
        _differ_only_in(pairs[t], t)


@pytest.mark.parametrize(
    "grid, match",
    [
        (
            {"types": ["rotate", "wobble"]},
            r"transfer.grid(.|\n)*unknown transformation(.|\n)*wobble",
        ),
        ({"types": []}, r"transfer.grid(.|\n)*at least 2 transformation types"),
        ({"types": ["rotate"]}, r"transfer.grid(.|\n)*at least 2"),
        ({"types": ["rotate", "none"]}, r"transfer.grid(.|\n)*'none' is always trained"),
        ({"types": ["hue", "hue"]}, r"transfer.grid(.|\n)*twice"),
        (
            {"types": ["rotate", "hue"], "real_world": ["imagenet"]},
            r"transfer.grid(.|\n)*real_world",
        ),
        ({"types": ["rotate", "hue"], "real_world": []}, r"transfer.grid(.|\n)*real_world"),
    ],
)
def test_bad_type_lists_fail_when_the_pipeline_is_built(grid, match):
    from transfer_invariance.errors import ParameterError
    from transfer_invariance.experiments.transfer import create_pipeline

    with pytest.raises(ParameterError, match=match):
        create_pipeline({"transfer": {"grid": grid}})


@pytest.mark.parametrize(
    "override, match",
    [
        ({"grid": {"types": ["rotate", "wobble"]}}, r"transfer.grid(.|\n)*wobble"),
        ({"data": {"n_objects": 31}}, r"transfer.data(.|\n)*n_objects = 31(.|\n)*62 objects"),
        ({"grid": {"types": ["rotate", "hue"], "real_world": ["cifar10"]}}, "cifar-10-python"),
    ],
)
def test_bad_transfer_parameters_fail_before_any_work(kedro_project, override, match):
    params = {k: {**TINY["transfer"][k], **v} for k, v in override.items()}
    with pytest.raises(Exception, match=match):
        kedro_project("transfer", {**TINY, "transfer": {**TINY["transfer"], **params}})
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_impossible_sizes_are_rejected_by_the_parameter_block():
    with pytest.raises(ValueError, match="n_pairs"):
        TransferDataParams(n_pairs=1)
    with pytest.raises(ValueError, match="scene_classes"):
        TransferDataParams(scene_classes=99)


def test_every_model_is_a_namespace(registered):
    transfer = registered()["transfer"]
    trained = {n.namespace for n in transfer.nodes if n.name.endswith(".pretrain_models")}
    types = ("rotate", "hue", "contrast", "none")
    assert trained == {f"transfer.{f}.{t}" for f in ("images", "random") for t in types}
    measured = [n for n in transfer.nodes if n.name.endswith(".measure_sensitivity")]
    assert len(measured) == 8 and all(len(n.inputs) == 2 + 3 * 4 for n in measured)
    paper = registered("paper")["transfer"]
    assert sum(n.name.endswith(".pretrain_models") for n in paper.nodes) == 2 * 19
    assert "transfer.pairs.cifar100.elastic" in paper.all_outputs()


def test_transfer_end_to_end_tracked_and_resumed(kedro_project, resume_redoes_only):
    import mlflow

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    runs = lambda: mlflow.search_runs(search_all_experiments=True, output_format="list")  # noqa: E731
    earlier = {r.info.run_id for r in runs()}
    kedro_project("transfer", TINY)
    out = Path("data/08_reporting/transfer")
    md = (out / "table2.md").read_text()
    assert md.startswith("## Table 2") and "Findings" in md and "Scenes (CIFAR stand-in)" in md
    csv = pd.read_csv(out / "table2.csv")
    assert len(csv) == 2 * 3 * 4 and csv["sensitivity_mean"].between(0, 2).all()
    every = pd.read_csv(out / "sensitivity.csv")
    assert len(every) == 2 * 3 * 4 * 2  # family x model x kind x type
    pretraining = pd.read_csv(out / "pretraining.csv")
    assert len(pretraining) == 2 * 3 and pretraining["test_acc"].between(0, 1).all()
    for f in ("images", "random"):
        for k in (*params.KINDS, "scenes"):
            assert (out / f"heatmap_{f}_{k}.png").exists()

    new = [r for r in runs() if r.info.run_id not in earlier]
    (parent,) = [r for r in new if "mlflow.parentRunId" not in r.data.tags]
    stages = [r.data.tags.get("stage") for r in new]
    assert stages.count("pretrain") == 2 * 3
    assert stages.count("measure_invariance") == 2 * 3 * (4 * 2)
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id, "transfer")
    }
    assert {"transfer/table2.md", "transfer/heatmap_images_in_distribution.png"} <= artifacts

    # interrupt the random hue model's training: it never finished
    ck = Path("data/06_models/transfer/random/hue/checkpoints")
    resume_redoes_only("transfer", TINY, ck, "seed_0", out / "table2.md")
