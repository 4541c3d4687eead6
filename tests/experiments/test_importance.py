from pathlib import Path

import pandas as pd
import pytest
from fake_cifar import write_fake_cifar

from transfer_invariance.core import base_images as bi
from transfer_invariance.core.transforms import TRANSFORMS
from transfer_invariance.errors import ParameterError
from transfer_invariance.experiments import importance
from transfer_invariance.experiments.importance import data, findings, report, report_finetune
from transfer_invariance.experiments.importance.params import (
    CATEGORIES,
    GridParams,
    ImportanceDataParams,
    RealWorldDataParams,
)
from transfer_invariance.pipelines.params import (
    BaseImagesParams,
    ProbeParams,
    RenderParams,
    TrainingParams,
)

RECIPE = {"width": 0.125, "epochs": 1, "batch_size": 32}
RENDER = RenderParams(progress=False)
TINY = {
    "importance": {
        "grid": {
            "reference": {
                "pretrain_samples": 48,
                "arch": "resnet18",
                "classes": "disjoint",
                "probe_samples": 40,
            },
            "factors": {
                "pretrain_samples": [24],
                "arch": ["resnet18", "vgg11_bn"],
                "classes": ["same", "disjoint", "superset"],
                "probe_samples": [20, 40],
            },
            "finetune": True,
        },
        "seeds": [0, 1],
        "data": {
            "n_target_objects": 4,
            "n_other_objects": 4,
            "subset_size": 2,
            "n_val": 16,
            "n_test": 24,
            "target_n_train": 40,
        },
        "training": {
            "resnet18": {"arch": "resnet18", **RECIPE},
            "vgg11_bn": {"arch": "vgg11_bn", **RECIPE},
        },
        "probe": {"epochs": 2},
        "finetune": {"n_samples": [20], "epochs": 1, "probe_epochs": 2, "batch_size": 16},
    },
    "render": {"progress": False},
}


def merged(base: dict, override: dict) -> dict:
    """``base`` with ``override`` merged in, key by key (as Kedro merges runtime parameters)."""
    out = dict(base)
    for key, value in override.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        out[key] = merged(base[key], value) if both else value
    return out


def test_transform_draws_are_one_per_category_disjoint_and_seeded():
    for seed in range(20):
        sets = data.transform_sets(seed)
        assert [TRANSFORMS[t].category for t in sets["same"]] == list(CATEGORIES)
        assert [TRANSFORMS[t].category for t in sets["different"]] == list(CATEGORIES)
        assert not set(sets["same"]) & set(sets["different"])
        assert data.transform_sets(seed) == sets
    assert len({tuple(data.transform_sets(s)["same"]) for s in range(20)}) > 5
    excluded = data.transform_sets(3, exclude=["rotate", "translate", "scale", "shear"])
    assert {"v_flip", "h_flip"} == {excluded["same"][0], excluded["different"][0]}


def test_class_relationships_are_the_sets_the_paper_compares():
    params = ImportanceDataParams(n_target_objects=30, n_other_objects=30, subset_size=10)
    names = len(bi.list_object_files())

    def objects(relationship: str, seed: int) -> set[int]:
        offset, count = data.object_range(params, relationship)
        return set(bi.draw_classes(names, count, offset, seed))

    for seed in (0, 1):
        target = objects("target", seed)
        assert len(target) == 30
        assert objects("subset", seed) < target and len(objects("subset", seed)) == 10
        assert objects("same", seed) == target
        assert not objects("disjoint", seed) & target and len(objects("disjoint", seed)) == 30
        assert objects("superset", seed) == target | objects("disjoint", seed)
    assert objects("target", 0) != objects("target", 1)  # objects re-drawn per seed


def test_same_and_different_pretraining_differ_only_in_their_transformations():
    points = data.plan_points(GridParams.model_validate(TINY["importance"]["grid"]))
    params = ImportanceDataParams.model_validate(TINY["importance"]["data"])
    base = BaseImagesParams()
    same = data.make_pretraining_data(params, base, points["same.reference"], [0], RENDER)
    different = data.make_pretraining_data(params, base, points["different.reference"], [0], RENDER)
    a, b = same["seed_0"]["train"], different["seed_0"]["train"]
    assert a["meta"]["class_names"] == b["meta"]["class_names"]
    assert (a["labels"] == b["labels"]).all() and (
        a["latents"]["background"] == b["latents"]["background"]
    ).all()
    sets = data.transform_sets(0)
    assert a["meta"]["transforms"] == sets["same"] and b["meta"]["transforms"] == sets["different"]
    target = data.make_target_data(params, base, [0], RENDER)["seed_0"]["train"]
    assert target["meta"]["transforms"] == sets["same"]
    assert not set(target["meta"]["class_names"]) & set(a["meta"]["class_names"])  # disjoint


def test_grid_has_one_namespace_per_factor_value_and_condition(registered, monkeypatch):
    grid = GridParams.model_validate(TINY["importance"]["grid"])
    assert list(grid.points()) == [
        "reference",
        "samples_24",
        "arch_vgg11_bn",
        "classes_same",
        "classes_superset",
    ]
    assert grid.probe_points() == [20]
    pipelines = registered()
    namespaces = {n.namespace for n in pipelines["importance"].nodes}
    for inv in ("same", "different"):
        for point in (
            "reference",
            "samples_1000",
            "arch_vgg11_bn",
            "classes_subset",
            "classes_same",
        ):
            assert f"importance.{inv}.{point}" in namespaces
        assert f"importance.{inv}.probe_200" in namespaces
        assert f"importance.{inv}.finetune" in namespaces
    assert "importance.same.samples_3000" not in namespaces  # the reference is trained once
    paper = registered("paper")["importance"]
    trainings = [n for n in paper.nodes if n.name.endswith("pretrain_models")]
    # Transforms-2D, CIFAR-10, CIFAR-100 x (same, different) x (reference + 4 values of 3 factors)
    assert len(trainings) == 3 * 2 * (1 + 4 + 4 + 3)
    assert "importance.cifar100.different.arch_vit" in {n.namespace for n in paper.nodes}


def test_importance_end_to_end_and_resume(kedro_project, resume_redoes_only):
    kedro_project("importance", TINY)
    out = Path("data/08_reporting/importance")
    for name in ("figure2.png", "figure3.png", "finetune.png", "tables.md", "factors.csv"):
        assert (out / name).exists(), name
    factors = pd.read_csv(out / "factors.csv")
    assert set(factors["factor"]) == {"pretrain_samples", "arch", "classes", "probe_samples"}
    assert len(factors) == 2 * 2 * (2 + 2 + 3 + 2)  # invariances x seeds x factor values
    report = (out / "tables.md").read_text()
    assert "(a) Same-invariance pretraining" in report and "(b) The same-vs-different" in report
    assert "finding (c)" in (out / "finetune.md").read_text().lower()
    design = pd.read_csv(out / "design.csv")
    assert list(design["seed"]) == [0, 1]

    ck = Path("data/06_models/importance/different/arch_vgg11_bn/checkpoints")
    resume_redoes_only("importance", TINY, ck, "seed_1")


CIFAR10 = {
    "dataset": "cifar10",
    "cifar_root": "data/01_raw",
    "n_target_objects": 2,
    "n_other_objects": 2,
    "subset_size": 1,
    "val_per_class": 2,
}


@pytest.mark.parametrize(
    "override, match",
    [
        ({"data": {"n_target_objects": 60}}, r"n_target_objects \+ n_other_objects = 64"),
        (
            {"grid": {"factors": {"arch": ["resnet1000"]}}},
            r"importance\.grid(.|\n)*arch(.|\n)*resnet1000",
        ),
        ({"grid": {"factors": {"arch": ["vit"]}}}, r"no recipe for architecture 'vit'"),
        (
            {"grid": {"factors": {"probe_samples": [500]}}},
            r"importance\.grid(.|\n)*500 target samples(.|\n)*target_n_train = 40",
        ),
        ({"finetune": {"n_samples": [50]}}, r"finetune\.n_samples asks 50(.|\n)*= 40"),
        (
            {"grid": {"factors": {"classes": ["overlap"]}}},
            r"importance\.grid(.|\n)*classes(.|\n)*overlap",
        ),
        ({"data": {"exclude": ["blur", "noise", "pixelate", "elastic", "erasing"]}}, "corruption"),
        ({"data": {"exclude": ["spin"]}}, r"unknown transformation\(s\) \['spin'\]"),
        ({"factors": {"arch": ["vgg11_bn"]}}, r"'importance'(.|\n)*factors: now under"),
        (
            {"grid": {"real_world": {"cifar10": {}}}},
            r"'importance\.real_world\.cifar10' is missing",
        ),
        (
            {
                "grid": {"real_world": {"cifar10": {}}},
                "real_world": {"cifar10": {"data": {**CIFAR10, "dataset": "cifar100"}}},
            },
            r"the key must be its dataset \('cifar10'\)",
        ),
    ],
)
def test_bad_importance_parameters_fail_before_any_work(kedro_project, override, match):
    with pytest.raises(Exception, match=match):
        kedro_project("importance", merged(TINY, {"importance": override}))
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_the_grid_is_the_one_key_that_shapes_the_pipeline():
    def nodes(params: dict) -> set[str]:
        return {n.name for n in importance.create_pipeline(params).nodes}

    block = TINY["importance"]
    default = nodes(TINY)
    other_values = merged(block, {"data": {"n_val": 8}, "probe": {"epochs": 1}})
    assert nodes({"importance": other_values}) == default
    unfinetuned = nodes({"importance": merged(block, {"grid": {"finetune": False}})})
    assert {n for n in default - unfinetuned} == {
        "importance.same.finetune.finetune_models",
        "importance.different.finetune.finetune_models",
        "importance.report.finetune_report",
    }
    with pytest.raises(ParameterError, match=r"'importance\.grid' is missing"):
        importance.create_pipeline({"importance": {k: v for k, v in block.items() if k != "grid"}})


def test_real_world_grid_runs_on_a_fake_cifar_archive_with_augmentations(kedro_project):
    write_fake_cifar(Path("data/01_raw"), "cifar10", 60)
    no_values = {"pretrain_samples": [], "arch": [], "classes": [], "probe_samples": []}
    override = {
        "seeds": [0],
        "grid": {
            "factors": no_values,
            "finetune": False,
            "real_world": {
                "cifar10": {
                    "reference": {
                        "pretrain_samples": 10,
                        "classes": "disjoint",
                        "probe_samples": 30,
                    },
                    "factors": {"classes": ["subset", "superset"], "probe_samples": [10]},
                }
            },
        },
        "real_world": {"cifar10": {"data": CIFAR10}},
    }
    kedro_project("importance", merged(TINY, {"importance": override}))
    out = Path("data/08_reporting/importance")
    report = (out / "cifar10_tables.md").read_text()
    assert report.startswith("## Appendix C.1 on cifar10") and "(a) Same-invariance" in report
    assert "cifar10_tables.md" in (out / "tables.md").read_text()
    factors = pd.read_csv(out / "cifar10_factors.csv")
    assert set(factors["value"].astype(str)) >= {"subset", "disjoint", "superset", "10", "30"}
    design = pd.read_csv(out / "cifar10_design.csv")
    assert len(design.loc[0, "target_classes"].split()) == 2
    for point in ("reference", "classes_subset", "classes_superset", "probe_10"):
        for inv in ("same", "different"):
            path = Path(f"data/07_model_output/importance/cifar10/{inv}/{point}/probe_metrics.csv")
            assert path.exists(), path
    assert not (out / "finetune.md").exists() and not (out / "cifar10_finetune.md").exists()


def test_missing_cifar_archive_fails_before_any_work(kedro_project):
    rw = {"data": {"dataset": "cifar100", "cifar_root": "nowhere", "val_per_class": 2}}
    override = {"grid": {"real_world": {"cifar100": {}}}, "real_world": {"cifar100": rw}}
    with pytest.raises(Exception, match="cifar-100-python.tar.gz"):
        kedro_project("importance", merged(TINY, {"importance": override}))
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_real_world_pretraining_sets_are_stratified_and_augmented_per_epoch(tmp_path):
    from transfer_invariance.experiments.importance.params import (
        PointParams,
        RealWorldDataParams,
    )

    write_fake_cifar(tmp_path, "cifar10", 60)
    rw = RealWorldDataParams(
        dataset="cifar10", cifar_root=str(tmp_path), n_target_objects=3, n_other_objects=3,
        val_per_class=2,
    )  # fmt: skip
    source = data.load_real_world(rw)
    assert (source["val"]["labels"].bincount() == 2).all()
    assert not set(source["val"]["latents"]["index"].tolist()) & set(
        source["train"]["latents"]["index"].tolist()
    )
    point = PointParams(invariance="different", pretrain_samples=5, arch="resnet18", classes="same")
    sets = data.make_real_world_pretraining(source, rw, point, [0], RENDER)["seed_0"]
    assert (sets["train"]["labels"].bincount() == 5).all() and len(sets["train"]["labels"]) == 15
    assert sets["train"]["meta"]["augment"]["transforms"] == data.transform_sets(0)["different"]
    target = data.make_real_world_target(source, rw, [0], RENDER)["seed_0"]
    assert target["train"]["meta"]["class_names"] == sets["train"]["meta"]["class_names"]  # same
    assert target["train"]["meta"]["transforms"] == data.transform_sets(0)["same"]


# -------------------------------------------------------------------------------------- findings


def _metrics(seeds=(0, 1), gap: float = 20.0, noise: float = 1.0) -> pd.DataFrame:
    """Figure 2's shape: same beats different by ``gap`` points at every value; each factor moves
    accuracy less than the gap; ``noise`` (per seed, opposite signs) makes the spread."""
    rows = []
    for factor, values in (("pretrain_samples", ["200", "1000"]), ("arch", ["resnet18", "vit"])):
        for i, value in enumerate(values):
            for seed in seeds:
                for inv, base in (("same", 60.0 + gap), ("different", 60.0)):
                    sign = 1 if seed % 2 else -1
                    acc = base + 3 * i + (sign * noise if inv == "same" else 0)
                    rows.append(
                        {
                            "factor": factor,
                            "value": value,
                            "invariance": inv,
                            "seed": seed,
                            "transfer_acc": acc,
                            "pretrain_acc": 95.0,
                        }  # fmt: skip
                    )
    return pd.DataFrame(rows)


def _finding(text: str, letter: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"({letter})"))


def test_importance_findings_hold_on_numbers_that_show_them():
    metrics = _metrics()
    text = findings.findings(metrics, report.spreads(metrics))
    assert _finding(text, "a").endswith("**holds**.") and _finding(text, "b").endswith("**holds**.")
    assert "k = 1 sd" in text


def test_importance_a_flipped_value_or_a_gap_within_the_spread():
    metrics = _metrics()
    flip = (metrics["factor"] == "arch") & (metrics["value"] == "vit")
    metrics.loc[flip & (metrics["invariance"] == "same"), "transfer_acc"] -= 40
    a = _finding(findings.findings(metrics, report.spreads(metrics)), "a")
    assert "**does not hold** (does not hold at architecture = vit)" in a
    weak = _metrics(gap=2.0, noise=5.0)  # a 2-point gap with a 7-point sd over seeds
    text = findings.findings(weak, report.spreads(weak))
    assert _finding(text, "a").endswith(
        "**direction only** (direction only at "
        + (
            "pretraining samples = 200; pretraining samples = 1000; architecture = resnet18; "
            "architecture = vit)."
        )
    )


def test_importance_a_missing_seed_or_one_seed_is_not_measured():
    metrics = _metrics(seeds=(0, 1, 2))
    lacks = (metrics["value"] == "1000") & (metrics["invariance"] == "different")
    metrics = metrics[~(lacks & (metrics["seed"] == 2))]
    a = _finding(findings.findings(metrics, report.spreads(metrics)), "a")
    assert "**not measured**" in a and "pretraining samples = 1000, seed 2" in a
    one = _metrics(seeds=(0,))
    text = findings.findings(one, report.spreads(one))
    assert "**not measured**" in _finding(text, "a") and "one seed" in _finding(text, "b")


def test_finetune_c_holds_only_when_the_small_data_gap_stays_open_and_shrinks_with_data():
    def tables(small: float, large: float) -> dict[str, pd.DataFrame]:
        """Fine-tuned gaps of ``small`` (n = 20) and ``large`` (n = 100), accuracy fractions."""
        out = {}
        for inv, offset in (("same", 1.0), ("different", 0.0)):
            out[inv] = pd.DataFrame(
                [
                    {
                        "n_samples": n,
                        "seed": s,
                        "probe_test_acc": 0.5 + 0.2 * offset + 0.01 * s,
                        "test_acc": 0.7 + gap * offset + 0.002 * s,
                    }  # fmt: skip
                    for n, gap in ((20, small), (100, large))
                    for s in (0, 1, 2)
                ]
            )
        return out

    def verdict(small: float, large: float) -> str:
        return report_finetune.finetune_report(**tables(small, large))[2].splitlines()[-1]

    assert verdict(0.1, 0.02).endswith("**holds**.")  # 10 points, then 2
    assert "**does not hold**" in verdict(0.0, 0.0)  # closed already with little data
    assert "**does not hold**" in verdict(0.1, 0.2)  # more data widens the gap
    one_size = {inv: t[t["n_samples"] == 20] for inv, t in tables(0.1, 0.02).items()}
    last = report_finetune.finetune_report(**one_size)[2].splitlines()[-1]
    assert "needs two fine-tuning sizes" in last and "**not measured**" in last


def _tables(seeds: tuple, dataset: str | None = None) -> tuple:
    """``importance_tables`` (or ``real_world_tables`` of ``dataset``) on ``_metrics`` with its
    architecture factor renamed the class relationship (the paper's Figure 3 has both)."""
    metrics = _metrics(seeds=seeds)
    metrics.loc[metrics["factor"] == "arch", "factor"] = "classes"
    factors = {"pretrain_samples": [200, 1000], "classes": ["same", "disjoint"]}
    grid = GridParams(factors=factors, real_world={"cifar10": {"factors": factors}})
    design = pd.DataFrame([{"seed": s, "objects": "a, b"} for s in seeds])
    recipe = TrainingParams(width=0.25, epochs=6)
    if dataset:
        data = RealWorldDataParams(dataset=dataset)
        return report.real_world_tables(metrics, design, grid, data, ProbeParams(), recipe)
    data = ImportanceDataParams()
    return report.importance_tables(metrics, design, grid, data, ProbeParams(), recipe)


def _row(md: str, factor: str) -> str:
    return next(line for line in md.splitlines() if line.startswith(f"| {factor} | "))


def test_figure_3_of_the_paper_is_beside_ours_with_the_reduced_size():
    _, figure3, _, md = _tables((0, 1))
    # spreads within same / different, gap, mean same / different (the paper's in points and %)
    assert _row(md, "class relationship") == (
        "| class relationship | 3.0 ± 0.0 (paper 5) | 3.0 ± 0.0 (paper 15) | 20.0 ± 1.4 (paper 12) "
        "| 81.5 ± 1.4 (paper 98) | 61.5 ± 0.0 (paper 87) |"
    )
    assert "(paper 3) | 20.0 ± 1.4 (paper 15)" in _row(md, "pretraining samples")
    reduced = next(line for line in md.splitlines() if line.startswith("**Reduced size**"))
    assert (
        "3,000 pretraining samples (paper 50,000)" in reduced and "6 epochs (paper 50)" in reduced
    )
    assert "2 seeds (paper 10)" in reduced
    marks = [c for c in figure3.axes[0].collections if c.get_label() == "paper"]
    assert len(marks) == 1 and len(marks[0].get_offsets()) == 2  # one per factor


def test_one_seed_shows_values_alone_and_real_world_grids_have_no_paper_figure_3():
    _, _, _, md = _tables((0,))
    assert _row(md, "pretraining samples").startswith("| pretraining samples | 3.0 (paper 4) |")
    assert "± 0.0" not in md and "± nan" not in md and "1 seed (paper 10)" in md
    _, _, _, md = _tables((0, 1), dataset="cifar10")
    assert "(paper" not in _row(md, "class relationship") and "Figure 3, Transforms-2D" not in md
    assert "3,000 pretraining images per class (paper 4,500)" in md


def test_importance_b_excepts_the_different_models_spread_over_class_relationships():
    """Section 4.1 calls the different model's class-relationship spread comparable to the gap:
    a large spread there leaves (b) holding; the same spread within same makes it fail."""
    metrics = _metrics()
    metrics.loc[metrics["factor"] == "arch", "factor"] = "classes"
    wide = (metrics["factor"] == "classes") & (metrics["value"] == "vit")
    big = metrics.copy()
    big.loc[wide & (big["invariance"] == "different"), "transfer_acc"] += 30
    assert _finding(findings.findings(big, report.spreads(big)), "b").endswith("**holds**.")
    big = metrics.copy()  # same's spread 33 points, the gap still 20
    same = big["invariance"] == "same"
    big.loc[wide & same, "transfer_acc"] += 15
    big.loc[(big["factor"] == "classes") & ~wide & same, "transfer_acc"] -= 15
    b = _finding(findings.findings(big, report.spreads(big)), "b")
    assert "**does not hold** (does not hold at class relationship" in b
    assert "the paper's 5)" in findings.findings(big, report.spreads(big))
