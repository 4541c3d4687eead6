from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from transfer_invariance.core.transforms import TRANSFORM_NAMES
from transfer_invariance.experiments.mismatch.params import GridParams, MismatchDataParams
from transfer_invariance.experiments.mismatch.report import accuracy_table, findings, t_quantile
from transfer_invariance.pipelines.params import ProbeParams, TrainingParams

TINY = {
    "mismatch": {
        "seeds": [0, 1],
        "grid": {"n_types": 2, "exclude": []},
        "data": {
            "n_objects": 3,
            "target_objects": "same",
            "pretraining": {"n_train": 24, "n_val": 12, "n_test": 12},
            "target": {"n_train": 24, "n_val": 12, "n_test": 12},
            "image_size": 16,
        },
        "training": {"width": 0.125, "epochs": 1, "batch_size": 16, "progress": False},
        "probe": {"epochs": 3, "progress": False},
    },
    "render": {"progress": False},
}


def _tiny(**blocks: dict) -> dict:
    return {**TINY, "mismatch": {**TINY["mismatch"], **blocks}}


# ---------------------------------------------------------------------------------- seeded draw


def test_the_draw_is_distinct_seeded_and_avoids_excluded_types():
    design = GridParams(n_types=8, exclude=["elastic", "erasing"])
    orders = {s: design.order(s) for s in range(6)}
    for order in orders.values():
        assert len(order) == 8 and len(set(order)) == 8
        assert set(order) <= set(TRANSFORM_NAMES) - {"elastic", "erasing"}
    assert design.order(3) == orders[3]  # the same seed, the same order
    assert len({tuple(o) for o in orders.values()}) == 6  # other seeds, other orders
    assert orders[0] != list(design.pool())[:8]  # a random order, not the registry's


def test_nested_sets_are_the_first_k_types_of_the_seed_order():
    from transfer_invariance.experiments.mismatch.data import plan_sets
    from transfer_invariance.pipelines.params import BaseImagesParams

    design = GridParams(n_types=5)
    data = MismatchDataParams(n_objects=4, target_objects="disjoint")
    sets = plan_sets(design, data, [0, 7], BaseImagesParams())
    same = plan_sets(design, MismatchDataParams(n_objects=4), [0], BaseImagesParams())
    assert same["t2"]["seed_0"]["target"].object_offset == 0  # the default: the objects O
    assert list(sets) == ["t1", "t2", "t3", "t4", "t5"]
    for seed in (0, 7):
        key = f"seed_{seed}"
        order = design.order(seed)
        for k in range(1, 6):
            entry = sets[f"t{k}"][key]
            assert list(entry["pretraining"].transforms) == order[:k] == entry["transforms"]
            assert list(entry["target"].transforms) == order[:k]
            if k > 1:  # nested: T_(k-1) in T_k
                assert set(sets[f"t{k - 1}"][key]["transforms"]) < set(entry["transforms"])
        # every set of a seed: the same objects and the same sampling seed
        pretraining = [sets[f"t{k}"][key]["pretraining"] for k in range(1, 6)]
        assert len({(s.objects, s.object_offset, s.object_seed, s.seed) for s in pretraining}) == 1
        target = sets["t1"][key]["target"]
        assert target.object_offset == 4 and target.object_seed == seed  # disjoint objects
        assert target.seed != pretraining[0].seed


def test_a_larger_set_renders_the_same_samples_with_one_more_transformation():
    from transfer_invariance.experiments.mismatch.data import make_pretraining_data, plan_sets
    from transfer_invariance.experiments.mismatch.params import SplitSizes
    from transfer_invariance.pipelines.params import BaseImagesParams, RenderParams

    sizes = SplitSizes(n_train=12, n_val=4, n_test=4)
    data = MismatchDataParams(n_objects=5, pretraining=sizes, target=sizes, image_size=16)
    sets = plan_sets(GridParams(n_types=3), data, [2], BaseImagesParams())
    render = RenderParams(progress=False)
    t1, t2 = (make_pretraining_data(sets[n], render)["seed_2"]["train"] for n in ("t1", "t2"))
    first = sets["t1"]["seed_2"]["transforms"][0]
    assert t1["meta"]["class_names"] == t2["meta"]["class_names"]
    assert t1["labels"].equal(t2["labels"])  # the same objects, the same draws
    assert t1["latents"]["background"].equal(t2["latents"]["background"])
    shared = [k for k in t1["latents"] if k.startswith(f"{first}.")]
    assert shared and all(t1["latents"][k].equal(t2["latents"][k]) for k in shared)
    assert not t1["images"].equal(t2["images"])  # the second type changes the images


@pytest.mark.parametrize(
    "design, match",
    [
        ({"n_types": 8, "exclude": list(TRANSFORM_NAMES[:11])}, r"only 7 (.|\n)*exclude"),
        ({"n_types": 19, "exclude": []}, r"n_types = 19 but only 18"),
        ({"n_types": 4, "exclude": ["swirl"]}, r"unknown transformation type\(s\) \['swirl'\]"),
    ],
)
def test_too_few_or_unknown_types_are_refused(design, match):
    with pytest.raises(ValidationError, match=match):
        GridParams(**design)


# -------------------------------------------------------------------------------- whole pipeline


def test_mismatch_end_to_end_and_resume_redoes_no_finished_training(
    kedro_project, resume_redoes_only
):
    import mlflow

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    search = lambda: mlflow.search_runs(search_all_experiments=True, output_format="list")  # noqa: E731
    earlier = {r.info.run_id for r in search()}
    kedro_project("mismatch", TINY)
    runs = [r for r in search() if r.info.run_id not in earlier]
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    trainings = [r for r in runs if r.data.tags.get("stage") == "pretrain"]
    probes = [r for r in runs if r.data.tags.get("stage") == "probe"]
    assert len(trainings) == 2 * 2 and len(probes) == 2 * 2 * 2  # sets x seeds (x targets)
    assert {r.data.tags["mlflow.parentRunId"] for r in trainings + probes} == {parent.info.run_id}
    artifacts = {
        a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id, "mismatch")
    }
    assert {"mismatch/table.md", "mismatch/figure4.png", "mismatch/table.csv"} <= artifacts

    out = Path("data/08_reporting/mismatch")
    table = pd.read_csv(out / "table.csv")
    assert len(table) == 2 * 2 and table["n_seeds"].eq(2).all()
    assert table["test_acc_mean"].between(0, 100).all() and (table["test_acc_ci95"] >= 0).all()
    md = (out / "table.md").read_text()
    assert "| T1 |" in md and "| T2 |" in md and "### Findings" in md
    assert all(f"({x})" in md for x in "abc") and "seed 1:" in md
    assert (out / "figure4.png").exists() and (out / "table.png").exists()
    types = pd.read_csv(out / "types.csv")
    assert types.groupby("seed")["type"].apply(list).to_dict() == {
        s: GridParams(n_types=2, exclude=[]).order(s) for s in (0, 1)
    }
    metrics = pd.read_csv("data/07_model_output/mismatch/t2/probe_metrics.csv")
    assert set(metrics["target"]) == {"t1", "t2"} and set(metrics["seed"]) == {0, 1}

    # Simulate an interruption during the T2 pretraining: seed 1 never finished.
    ck = Path("data/06_models/mismatch/t2/checkpoints")
    resume_redoes_only("mismatch", TINY, ck, "seed_1", out / "table.md")


@pytest.mark.parametrize(
    "blocks, match",
    [
        (
            {"data": {**TINY["mismatch"]["data"], "n_objects": 40, "target_objects": "disjoint"}},
            r"mismatch.data(.|\n)*n_objects = 40(.|\n)*needs 80 objects",
        ),
        (
            {"data": {**TINY["mismatch"]["data"], "transform_params": {"rotate": {"spin": 1.0}}}},
            "spin",
        ),
        ({"training": {"epochs": 0}}, r"mismatch.training(.|\n)*epochs"),
        ({"seeds": []}, r"mismatch.seeds"),
    ],
)
def test_bad_mismatch_parameters_fail_before_any_work(kedro_project, blocks, match):
    with pytest.raises(Exception, match=match):
        kedro_project("mismatch", _tiny(**blocks))
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_too_few_types_fail_when_the_pipeline_is_built(kedro_project):
    from transfer_invariance.errors import ParameterError

    design = {"n_types": 8, "exclude": list(TRANSFORM_NAMES[:12])}
    with pytest.raises(ParameterError, match=r"mismatch.grid(.|\n)*only 6"):
        kedro_project("mismatch", _tiny(grid=design))
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_every_nested_set_is_a_namespace_and_n_types_shapes_the_pipeline(registered):
    mismatch = registered()["mismatch"]
    namespaces = {n.namespace for n in mismatch.nodes}
    assert namespaces == {"mismatch", "mismatch.report"} | {f"mismatch.t{k}" for k in range(1, 9)}
    trainings = [n for n in mismatch.nodes if n.name.endswith(".pretrain_models")]
    assert len(trainings) == 8  # one per nested set: no node trains two of them
    probe = next(n for n in mismatch.nodes if n.name == "mismatch.t3.probe_models")
    assert {f"mismatch.target_t{j}" for j in range(1, 9)} <= set(probe.inputs)
    paper = registered("paper")["mismatch"]
    assert sum(n.name.endswith(".pretrain_models") for n in paper.nodes) == 8


# -------------------------------------------------------------------------------------- findings


def _per_seed(slopes=(8.0, 8.0), extra_cost: float = 0.0) -> dict[int, pd.DataFrame]:
    """Tables with Figure 4's shape: accuracy rises with k up to j (by ``slope`` points a type,
    one slope per seed), then stays ``extra_cost`` below the exact match."""
    labels = [f"T{k}" for k in range(1, 9)]
    out = {}
    for seed, (slope, noise) in enumerate(zip(slopes, (-1.0, 1.0), strict=True)):
        a = np.zeros((8, 8))
        for j in range(8):
            for k in range(8):
                a[k, j] = 90 - slope * (j - k) if k <= j else 90 - extra_cost
        out[seed] = pd.DataFrame(a + noise, index=labels, columns=labels)
    return out


def _line(text: str, finding: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"({finding})"))


def test_findings_hold_on_numbers_that_show_them():
    text = findings(_per_seed())
    assert [_line(text, x).endswith("**holds**.") for x in "abc"] == [True] * 3


def test_findings_that_the_numbers_contradict_are_reported_as_not_holding():
    flat = findings(_per_seed(slopes=(0.0, 0.0)))  # invariance makes no difference
    assert _line(flat, "a").endswith("**does not hold**.")
    assert _line(flat, "b").endswith("**holds**.")  # extra types cost nothing here
    assert _line(flat, "c").endswith("**does not hold**.")
    costly = findings(_per_seed(extra_cost=20.0))  # supersets transfer 20 points worse
    assert _line(costly, "b").endswith("**does not hold**.")


def test_an_effect_within_the_seed_spread_is_direction_only():
    text = findings(_per_seed(slopes=(8.0, -6.0)))  # the seeds disagree on the direction
    assert _line(text, "a").endswith("**direction only**.")
    assert not _line(text, "c").endswith("**holds**.")


def test_a_missing_cell_or_one_seed_is_not_measured():
    tables = _per_seed()
    tables[1].iloc[1, 5] = float("nan")  # T2 probed on T6, seed 1: a step of (a) and a cell of (c)
    text = findings(tables)
    assert "**not measured** (missing: T2 on T6, seed 1)" in _line(text, "a")
    assert "T2 on T6, seed 1" in _line(text, "c") and _line(text, "b").endswith("**holds**.")
    one = findings({0: _per_seed()[0]})
    assert all("**not measured** (one seed" in _line(one, x) for x in "abc")


def test_two_nested_sets_leave_finding_c_unchecked():
    two = {s: t.iloc[:2, :2] for s, t in _per_seed().items()}
    assert _line(findings(two), "c").endswith("**not measured**.")


def test_t_quantiles_match_the_tables():
    assert t_quantile(0.975, 1) == pytest.approx(12.706, abs=2e-3)
    assert t_quantile(0.975, 9) == pytest.approx(2.262, abs=2e-3)
    assert t_quantile(0.975, 1000) == pytest.approx(1.962, abs=2e-3)


def test_a_failed_b_names_undertrained_larger_sets_only_when_they_are():
    tables = _per_seed(extra_cost=20.0)
    labels = list(tables[0].index)
    worse = pd.Series(np.linspace(99, 12, 8), index=labels)  # T8 learned its own task worst
    assert "learned worst" in findings(tables, worse)
    assert "learned worst" not in findings(tables, pd.Series(99.0, index=labels))
    assert "learned worst" not in findings(_per_seed(), worse)  # (b) holds: nothing to explain


def _accuracy_table(n: int, seeds: range, model_seeds: dict | None = None):
    """``accuracy_table`` on hand-made metrics of ``n`` nested sets: 90% at and below the
    diagonal, 5 points less per missing type, plus 1 point per seed. ``model_seeds`` limits the
    seeds of some models' own-task accuracy."""
    names = [f"t{k}" for k in range(1, n + 1)]
    probe = pd.DataFrame(
        [
            {"model": m, "target": t, "seed": s, "test_acc": 0.9 - 0.05 * max(0, j - i) + 0.01 * s}
            for i, m in enumerate(names)
            for j, t in enumerate(names)
            for s in seeds
        ]
    )
    own = pd.DataFrame(
        [
            {"model": m, "seed": s, "test_acc": 0.95}
            for m in names
            for s in (model_seeds or {}).get(m, seeds)
        ]
    )
    types = pd.DataFrame([{"seed": s, "k": k, "type": f"type{k}"} for s in seeds for k in range(n)])
    return accuracy_table(
        probe, own, types, TrainingParams(epochs=8), MismatchDataParams(), ProbeParams(epochs=100)
    )


def test_the_table_shows_figure_4_of_the_paper_beside_ours():
    _, md, heat, figure = _accuracy_table(8, range(2))
    assert "| T1 | 90.5 ± 0.7 (paper ~100) | 85.5 ± 0.7 (paper 99) |" in md
    assert "55.5 ± 0.7 (paper 28) |" in md  # T1 on T8
    reduced = next(line for line in md.splitlines() if line.startswith("**Reduced size**"))
    assert "2 seeds (paper 10)" in reduced and "8 epochs (paper 50)" in reduced
    assert "nested sets" not in reduced  # 8, as in the paper
    assert "(paper 28)" in [t.get_text() for t in heat.axes[0].texts]
    assert len(figure.axes[0].get_lines()) > 8 * 2  # our curves and stars, the paper's dashed


def test_fewer_sets_show_the_papers_top_left_block_and_one_seed_no_spread():
    _, md, _, _ = _accuracy_table(3, range(1))
    assert "| T1 | 90.0 (paper ~100) | 85.0 (paper 99) | 80.0 (paper 91) |" in md
    assert "(paper 77)" not in md and "top-left 3 x 3 block" in md
    assert "3 nested sets (paper 8)" in md and "1 seed (paper 10)" in md
    assert "± 0.0" not in md and "± nan" not in md


def test_a_model_with_one_seed_of_its_own_task_shows_its_value_alone():
    _, md, _, _ = _accuracy_table(2, range(2), model_seeds={"t2": [0]})
    assert "T1 95.0 ± 0.0, T2 95.0." in md and "± nan" not in md
