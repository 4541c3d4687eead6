from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transfer_invariance.experiments import paper_reference as paper


def test_the_papers_tables_load_with_their_shapes():
    assert paper.TABLE1.means().shape == (4, 6) and paper.TABLE1.sds().shape == (4, 6)
    assert paper.TABLE2.means().shape == (6, 5) and paper.TABLE2.sds().shape == (6, 5)
    assert list(paper.FIGURE3.means().index) == ["classes", "arch", "pretrain_samples"]
    assert paper.FIGURE4.means().shape == (8, 8) and paper.FIGURE4.approximate().shape == (8, 8)
    assert set(paper.TABLES) == set(paper.SIZES) == {"harm", "importance", "transfer", "mismatch"}
    assert "github.com/tillspeicher/representation-invariance-transfer" in paper.SOURCE
    assert "github.com/tillspeicher/representation-invariance-transfer" in paper.__doc__


def test_known_values_of_the_paper():
    assert paper.TABLE1.means().loc["C+O/C", "C+O/O"] == 0.15
    assert paper.TABLE1.sds().loc["C+O/O", "C+O/C"] == 0.02
    assert paper.TABLE1.means(100).loc["O/O", "sensitivity to O"] == pytest.approx(11)
    assert paper.TABLE2.means().loc[("random", "None"), "strong_ood"] == 0.35
    assert paper.TABLE2.sds().loc[("images", "Same"), "cifar10"] == 0.19
    assert paper.FIGURE3.means().loc["classes", "spread within different"] == 0.15
    assert paper.FIGURE3.means().loc["pretrain_samples", "mean same"] == 0.975
    fig4 = paper.FIGURE4.means()
    assert fig4.loc["T1", "T8"] == 0.28 and fig4.loc["T8", "T6"] == 0.99


def test_hidden_lines_of_figure_4_are_about_one_and_marked():
    hidden = paper.FIGURE4.approximate()
    assert hidden.to_numpy().sum() == 1 + 2 + 3 + 4 + 5 + 5 + 4
    assert hidden.loc["T1", "T1"] and hidden.loc["T7", "T2"]
    assert not hidden.loc["T7", "T1"] and not hidden.loc["T6", "T6"] and not hidden.loc["T8"].any()
    assert (paper.FIGURE4.means().to_numpy()[hidden.to_numpy()] == 1.0).all()
    assert paper.FIGURE4.texts().loc["T2", "T1"] == "(~1.0)"
    assert paper.FIGURE4.sds().isna().all().all()  # a figure: no sd printed


def test_a_table_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="cells are not 2 x 1"):
        paper.PaperTable("t", ("a", "b"), ("x",), cells=("1.0",))
    with pytest.raises(ValueError, match=r"cells \['0.1 \+- 0.2'\] are not"):
        paper.PaperTable("t", ("a",), ("x", "y"), cells=("0.1 ± 0.2 | 0.1 +- 0.2",))


def test_the_size_line_lists_what_differs_or_says_it_is_the_papers():
    sizes = {"seeds": paper.Size("{} seeds", 10), "width": paper.Size("width {}", 1.0)}
    reduced = paper.size_line(sizes, {"seeds": 1, "width": 1.0})
    assert reduced.startswith("**Reduced size**") and "1 seed (paper 10)" in reduced
    assert "width" not in reduced  # as in the paper: not listed
    assert paper.size_line(sizes, {"seeds": 10, "width": 1.0}).startswith(
        "**The paper's size**: 10 seeds, width 1.0."
    )
    assert paper.size_line(sizes, {"seeds": 12, "width": 1.0}).startswith("**Not the paper's size")


def test_cells_beside_the_paper_show_one_seed_without_a_spread():
    mean = pd.DataFrame({"a": [50.0, np.nan]}, index=["x", "y"])
    theirs = pd.DataFrame({"a": [100.0, 15.0]}, index=["x", "y"])
    one = paper.beside(mean, mean * np.nan, theirs, "{:.1f}", "{:.0f}", approx=theirs > 99)
    assert one.loc["x", "a"] == "50.0 (paper ~100)" and one.loc["y", "a"] == "(paper 15)"
    two = paper.beside(mean, mean * 0, theirs, "{:.1f}", "{:.0f}", labels={"a": "paper C"})
    assert two.loc["x", "a"] == "50.0 ± 0.0 (paper C 100)"  # a measured spread of 0


def _paper_parameters() -> dict:
    from kedro.config import OmegaConfigLoader

    from transfer_invariance import settings

    conf = Path(__file__).resolve().parents[2] / "conf"
    loader = OmegaConfigLoader(conf_source=str(conf), env="paper", **settings.CONFIG_LOADER_ARGS)
    return loader["parameters"]


def _paper_run_sizes() -> dict[str, tuple[dict, dict]]:
    """Each experiment's sizes as its report computes them from ``--env paper``'s parameters."""
    from transfer_invariance.experiments.harm import params as harm_params
    from transfer_invariance.experiments.harm import report as harm
    from transfer_invariance.experiments.importance import params as importance_params
    from transfer_invariance.experiments.importance import report as importance
    from transfer_invariance.experiments.mismatch import params as mismatch_params
    from transfer_invariance.experiments.mismatch import report as mismatch
    from transfer_invariance.experiments.transfer import params as transfer_params
    from transfer_invariance.experiments.transfer import report as transfer
    from transfer_invariance.pipelines.params import InvarianceParams, ProbeParams, TrainingParams

    p = _paper_parameters()
    h, i, m, t = p["harm"], p["importance"], p["mismatch"], p["transfer"]
    grid = importance_params.GridParams(**i["grid"])
    mismatch_grid = mismatch_params.GridParams(**m["grid"])
    return {
        "harm": (
            paper.HARM_SIZES,
            harm.run_size(
                len(h["seeds"]),
                harm_params.HarmDataParams(**h["data"]),
                TrainingParams(**h["training"]),
                ProbeParams(**h["probe"]),
                InvarianceParams(**h["invariance"]),
            ),
        ),
        "importance": (
            paper.IMPORTANCE_SIZES,
            importance.run_size(
                len(i["seeds"]),
                grid,
                ProbeParams(**i["probe"]),
                tuple(TrainingParams(**i["training"][a]) for a in grid.values("arch")),
                importance_params.ImportanceDataParams(**i["data"]),
            ),
        ),
        "mismatch": (
            paper.MISMATCH_SIZES,
            mismatch.run_size(
                len(m["seeds"]),
                mismatch_grid.n_types,
                mismatch_params.MismatchDataParams(**m["data"]),
                TrainingParams(**m["training"]),
                ProbeParams(**m["probe"]),
            ),
        ),
        "transfer": (
            paper.TRANSFER_SIZES,
            transfer.run_size(
                len(t["seeds"]),
                transfer_params.GridParams(**t["grid"]),
                transfer_params.TransferDataParams(**t["data"]),
                TrainingParams(**t["training"]),
                InvarianceParams(**t["invariance"]),
            ),
        ),
    }


@pytest.mark.parametrize("experiment", ["harm", "importance", "mismatch", "transfer"])
def test_the_paper_environment_is_reported_at_the_papers_size(experiment):
    """The paper's sizes written in ``paper_reference`` are those ``--env paper`` runs: its
    report says "The paper's size", not a reduced one."""
    sizes, ours = _paper_run_sizes()[experiment]
    differ = {k: (ours[k], s.paper) for k, s in sizes.items() if ours[k] != s.paper}
    assert differ == {}, f"{experiment}: conf/paper vs paper_reference (ours, paper): {differ}"
    assert paper.size_line(sizes, ours).startswith("**The paper's size**")
