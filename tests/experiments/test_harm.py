from pathlib import Path

import pandas as pd
import pytest

from transfer_invariance.experiments.harm.params import CONDITIONS, HarmDataParams
from transfer_invariance.experiments.harm.report import findings, table1
from transfer_invariance.pipelines.params import InvarianceParams, ProbeParams, TrainingParams

TINY = {
    "harm": {
        "seeds": [0, 1],
        "data": {"n_train": 60, "n_val": 20, "n_test": 30, "n_pairs": 20},
        "training": {"width": 0.125, "epochs": 1, "batch_size": 32},
        "probe": {"epochs": 3},
        "invariance": {"n_random_pairs": 50},
        "grid": {"rhos": [0.0, 1.0], "betas": [0.5], "seeds": [0]},
    }
}


def test_harm_end_to_end_and_resume_redoes_no_finished_training(kedro_project, resume_redoes_only):
    kedro_project("harm", TINY)
    table = Path("data/08_reporting/harm/table1.md").read_text()
    assert "Table 1" in table and "Findings" in table and "sensitivity to O" in table
    csv = pd.read_csv("data/08_reporting/harm/table1.csv")
    assert len(csv) == 4 * 6  # 4 models x (4 accuracies + 2 sensitivities)
    assert Path("data/08_reporting/harm/table1.png").exists()
    assert Path("data/08_reporting/harm/relevance.png").exists()
    for point in ("rho_0_00_c", "rho_1_00_c", "beta_0_50_c"):
        sweep = pd.read_csv(f"data/07_model_output/harm/relevance/{point}/probe_metrics.csv")
        assert set(sweep["target"]) == {"c", "o"}
    relevance = Path("data/08_reporting/harm/relevance.md").read_text()
    assert relevance.startswith("### Appendix C.3") and "beta" in relevance

    # Simulate an interruption during the C+O/C pretraining: seed 1 never finished.
    ck = Path("data/06_models/harm/co_c/checkpoints")
    resume_redoes_only("harm", TINY, ck, "seed_1", Path("data/08_reporting/harm/table1.md"))


@pytest.mark.parametrize(
    "override, match",
    [
        ({"grid": {"rhos": [0.0, 1.5]}}, r"harm.grid(.|\n)*rhos.1(.|\n)*1.5"),
        ({"grid": {"betas": [-0.1]}}, r"harm.grid(.|\n)*betas.0(.|\n)*-0.1"),
        ({"data": {"n_objects": 80}}, r"harm.data(.|\n)*n_objects = 80"),
        ({"data": {"c_source": "cifar10", "cifar_root": "nowhere"}}, "cifar-10-python.tar.gz"),
        ({"training": {"arch": "resnet1000"}}, r"harm.training(.|\n)*arch(.|\n)*resnet1000"),
        ({"training": {"epochs": 0}}, r"harm.training(.|\n)*epochs"),
        ({"training": {"lr": "abc"}}, r"harm.training(.|\n)*lr(.|\n)*abc"),
        ({"invariance": {"batch_size": 0}}, r"harm.invariance(.|\n)*batch_size"),
        ({"invariance": {"device": "gpu"}}, r"harm.invariance(.|\n)*device(.|\n)*gpu"),
        ({"co_c": {"condition": {"label": "x"}}}, r"harm.co_c.condition(.|\n)*label"),
    ],
)
def test_bad_harm_parameters_fail_before_any_work(kedro_project, override, match):
    params = {"harm": {k: {**TINY["harm"].get(k, {}), **v} for k, v in override.items()}}
    with pytest.raises(Exception, match=match):
        kedro_project("harm", {"harm": {**TINY["harm"], **params["harm"]}})
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_truncated_cifar_archive_is_reported_before_training(kedro_project):
    Path("data/01_raw").mkdir(parents=True)
    Path("data/01_raw/cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"0" * 100)
    params = {"harm": {**TINY["harm"], "data": {**TINY["harm"]["data"], "c_source": "cifar10"}}}
    with pytest.raises(ValueError, match="cifar-10-python.tar.gz"):
        kedro_project("harm", params)
    assert [p for p in Path("data").rglob("*") if p.is_file() and p.parent.name != "01_raw"] == []


def test_bad_seed_list_fails_before_any_work(kedro_project):
    with pytest.raises(ValueError, match=r"parameter 'harm.seeds' = \[-1\]"):
        kedro_project("harm", {"harm": {**TINY["harm"], "seeds": [-1]}})
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_every_condition_and_grid_point_is_a_namespace(registered):
    harm = registered()["harm"]
    namespaces = {n.namespace for n in harm.nodes}
    assert {"harm", "harm.c_c", "harm.co_c", "harm.co_o", "harm.o_o", "harm.report"} <= namespaces
    points = {ns.rsplit(".", 1)[-1] for ns in namespaces if ns.startswith("harm.relevance.")}
    assert points == {
        "rho_0_00_c",
        "rho_0_50_c",
        "rho_0_90_c",
        "rho_1_00_c",
        "beta_0_00_c",
        "beta_0_20_c",
    }
    names = {n.name for n in harm.nodes}
    assert {
        "harm.co_c.compose_data",
        "harm.co_c.pretrain_models",
        "harm.co_c.probe_models",
        "harm.co_c.measure_sensitivity",
        "harm.relevance.plan_relevance",
        "harm.relevance.rho_0_90_c.pretrain_models",
        "harm.relevance.rho_0_90_c.probe_models",
        "harm.report.table1",
        "harm.report.plot_relevance",
    } <= names
    # every training runs in the namespace of its own grid point: no node trains two of them
    assert sum(n.name.endswith("pretrain_models") for n in harm.nodes) == 4 + len(points)


def test_the_paper_environment_selects_the_paper_grid(registered):
    harm = registered("paper")["harm"]
    points = {n.namespace for n in harm.nodes if n.name.endswith(".pretrain_models")}
    assert len(points) == 4 + 9 + 5  # the paper's rho and beta grids, pretrained to predict C
    assert "harm.relevance.rho_0_85_c" in points


def _tables(sd: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Table 1 numbers that show all three findings (those of the default-size run), with an sd
    of ``sd`` points for accuracies and ``sd / 100`` for sensitivities."""
    names = ["C/C", "C+O/C", "C+O/O", "O/O"]
    acc = pd.DataFrame(50.0, index=names, columns=names)
    acc.loc["C+O/C", "C+O/O"], acc.loc["C/C", "C+O/O"] = 12.0, 18.0
    acc.loc["C+O/O", "C+O/C"], acc.loc["O/O", "C+O/C"] = 23.0, 47.0
    sens = pd.DataFrame(
        {"sensitivity to C": [0.98, 1.0, 0.2, 1.0], "sensitivity to O": [0.18, 0.1, 1.0, 0.3]},
        index=names,
    )
    return acc, sens, acc * 0 + sd, sens * 0 + sd / 100


def _lines(text: str) -> dict[str, str]:
    return {line[:2]: line for line in text.splitlines() if line[:2] in ("1.", "2.", "3.")}


def test_findings_hold_on_numbers_that_show_them():
    text = findings(*_tables(), n_seeds=2)
    assert all("**holds**" in line for line in _lines(text).values())
    assert "k = 1 sd" in text


def test_a_flipped_finding_does_not_hold():
    acc, sens, acc_sd, sens_sd = _tables()
    acc.loc["C+O/C", "C+O/O"] = 30.0  # C+O/C now better at O than C/C: finding 1 flips
    lines = _lines(findings(acc, sens, acc_sd, sens_sd, 2))
    assert "**does not hold**" in lines["1."] and "**holds**" in lines["2."]
    sens.loc["C+O/O", "sensitivity to C"] = 1.5  # more sensitive to C than O/O: finding 2 flips
    assert "**does not hold**" in _lines(findings(acc, sens, acc_sd, sens_sd, 2))["2."]


def test_finding_3_is_about_the_two_c_plus_o_models():
    """The paper's finding 3 concerns the C+O models; O/O more sensitive to C (as in the
    paper's own Table 1) is context, while C+O/C more sensitive to O than to C flips it."""
    acc, sens, acc_sd, sens_sd = _tables()
    text = findings(acc, sens, acc_sd, sens_sd, 2)
    assert "**holds**" in _lines(text)["3."] and "as in the paper" in text
    sens.loc["C+O/C", "sensitivity to O"] = 1.2
    assert "**does not hold**" in _lines(findings(acc, sens, acc_sd, sens_sd, 2))["3."]


def test_an_effect_within_one_sd_is_direction_only():
    acc, sens, acc_sd, sens_sd = _tables(sd=5.0)  # finding 1's 6 points < hypot(5, 5)
    lines = _lines(findings(acc, sens, acc_sd, sens_sd, 2))
    assert "**direction only**" in lines["1."] and "0.8 sd" in lines["1."]
    assert "**holds**" in lines["2."]  # 24 points > 7.1


def test_a_missing_cell_or_one_seed_is_not_measured():
    acc, sens, acc_sd, sens_sd = _tables()
    acc.loc["C/C", "C+O/O"] = float("nan")
    line = _lines(findings(acc, sens, acc_sd, sens_sd, 2))["1."]
    assert "**not measured**" in line and "C/C on C+O/O" in line
    one_seed = _lines(findings(*_tables(sd=float("nan")), n_seeds=1))
    assert all("**not measured**" in line and "one seed" in line for line in one_seed.values())


def test_harm_takes_its_objects_from_the_one_base_images_setting(kedro_project, tmp_path):
    params = {**TINY, "base_images": {"source": "si_score", "base_dir": str(tmp_path / "nowhere")}}
    with pytest.raises(
        FileNotFoundError, match=r"parameter 'base_images'(.|\n)*base_images.base_dir"
    ):
        kedro_project("harm", params)
    assert [p for p in Path("data").rglob("*") if p.is_file()] == []


def test_the_thread_runner_runs_every_training_and_tracks_it_under_the_run(kedro_project):
    """Trainings in threads: every condition, seed and grid point trained and stored, each one a
    nested run of the run, the report logged as its artifacts. (Numbers may differ from a
    sequential run in float rounding: CPU kernels round by the threads they get.)"""
    import mlflow
    from kedro.runner import ThreadRunner

    mlflow.set_tracking_uri("sqlite:///mlflow.db")
    runs = lambda: mlflow.search_runs(search_all_experiments=True, output_format="list")  # noqa: E731
    earlier = {r.info.run_id for r in runs()}
    kedro_project("harm", TINY, runner=ThreadRunner(max_workers=2))
    assert len(list(Path("data/06_models").rglob("seed_*.pt"))) == 4 * 2 + 3
    assert Path("data/08_reporting/harm/table1.md").read_text().startswith("## Table 1")
    new = [r for r in runs() if r.info.run_id not in earlier]
    (parent,) = [r for r in new if "mlflow.parentRunId" not in r.data.tags]
    trainings = [r for r in new if r.data.tags.get("stage") == "pretrain"]
    assert len(trainings) == 4 * 2 + 3  # every condition and seed, every grid point
    assert {r.data.tags["mlflow.parentRunId"] for r in trainings} == {parent.info.run_id}
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(parent.info.run_id, "harm")}
    assert "harm/table1.md" in artifacts
    table1 = pd.read_csv("data/08_reporting/harm/table1.csv")  # every cell a metric of the run
    metrics = mlflow.MlflowClient().get_run(parent.info.run_id).data.metrics
    co_c = table1[(table1["model"] == "C+O/C") & (table1["column"] == "O/O")]["value_mean"]
    assert metrics["harm/table1/CO-C/O-O"] == pytest.approx(float(co_c.iloc[0]))
    assert len([m for m in metrics if m.startswith("harm/table1/")]) == len(table1)
    params = mlflow.MlflowClient().get_run(parent.info.run_id).data.params
    assert params["harm.training.epochs"] == "1"  # a typed block's fields, one by one


def test_each_seed_draws_its_own_objects_from_all_base_objects():
    from transfer_invariance.experiments.harm.data import load_objects, objects_table
    from transfer_invariance.experiments.harm.params import HarmDataParams
    from transfer_invariance.pipelines.params import BaseImagesParams

    objects = load_objects(BaseImagesParams())
    table = objects_table(objects, HarmDataParams(n_objects=10), [0, 1, 0])
    by_seed = {s: list(g["object"]) for s, g in table.groupby("seed")}
    assert len(objects["names"]) == 61 and len(by_seed[0]) == 20  # seed 0 listed twice
    assert by_seed[0][:10] == by_seed[0][10:]  # same seed, same objects
    assert by_seed[0][:10] != by_seed[1]  # another seed, other objects
    assert by_seed[0][:10] != objects["names"][:10]  # not the first ten in the asset order


def _table1(seeds: range, training: TrainingParams, data: HarmDataParams, probe: ProbeParams):
    """``table1`` on hand-made metrics: every accuracy 0.5 and every sensitivity 0.5, plus
    0.01 (resp. 0.02) per seed."""
    probe_metrics = pd.DataFrame(
        [
            {"model": m, "target": t, "seed": s, "test_acc": 0.5 + 0.01 * s}
            for m in CONDITIONS
            for t in CONDITIONS
            for s in seeds
        ]
    )
    sensitivity = pd.DataFrame(
        [
            {"model": m, "pairs": p, "seed": s, "sensitivity_l2": 0.5 + 0.02 * s}
            for m in CONDITIONS
            for p in ("vary_c", "vary_o")
            for s in seeds
        ]
    )
    pretrain_metrics = pd.DataFrame(
        [{"model": m, "seed": s, "test_acc": 0.9 - 0.1 * s} for m in CONDITIONS for s in seeds]
    )
    objects = pd.DataFrame([{"seed": s, "object": "cat"} for s in seeds])
    return table1(
        probe_metrics,
        sensitivity,
        pretrain_metrics,
        objects,
        training,
        data,
        probe,
        InvarianceParams(),
    )


def test_table1_shows_the_papers_values_and_the_reduced_size():
    _, md, fig = _table1(
        range(2), TrainingParams(width=0.25, epochs=4), HarmDataParams(), ProbeParams(epochs=100)
    )
    assert "| C+O/C | 50.5 ± 0.7 (paper 98) | 50.5 ± 0.7 (paper 97) | 50.5 ± 0.7 (paper 15) |" in md
    assert "| C/C | 0.51 ± 0.01 (paper 0.99) | 0.51 ± 0.01 (paper 0.21) |" in md
    reduced = next(line for line in md.splitlines() if line.startswith("**Reduced size**"))
    assert "2 seeds (paper 10)" in reduced and "C = scene stand-in (paper CIFAR-10)" in reduced
    assert "4 epochs (paper 50)" in reduced and "width 0.25 (paper 1.0)" in reduced
    own_task = "Each model's test accuracy on its own pretraining task (%): C/C 85.0 ± 7.1, C+O/C"
    assert own_task in md
    cells = [t.get_text() for t in fig.axes[0].texts]
    assert "(paper 15)" in cells and len(cells) == 2 * 16  # ours and the paper's per cell


def test_table1_with_one_seed_shows_values_alone_and_at_the_papers_size_says_so():
    paper_size = (
        TrainingParams(width=1.0, epochs=50, batch_size=512),
        HarmDataParams(c_source="cifar10", n_train=45000, n_test=10000, object_size=12,
                       n_pairs=10000),
        ProbeParams(epochs=200),
    )  # fmt: skip
    _, md, _ = _table1(range(10), *paper_size)
    assert "**The paper's size**: 10 seeds, C = CIFAR-10, 45,000 training samples" in md
    assert "Reduced size" not in md
    _, md, _ = _table1(range(1), *paper_size)
    assert "| C+O/C | 50.0 (paper 98) |" in md and "1 seed (paper 10)" in md
    assert "own pretraining task (%): C/C 90.0, C+O/C 90.0" in md
    assert "± 0.0" not in md and "± nan" not in md
