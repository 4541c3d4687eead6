"""Nodes reporting importance (Section 4.1, Appendix C.1): Figure 2, Figure 3, the tables and the
report with its findings (``findings``), per grid (Transforms-2D, each real-world dataset); the
fine-tuning report (Appendix C.2) is ``report_finetune``.

Everything is written to ``data/08_reporting/importance/`` and logged as MLflow artifacts of the run.
Accuracies are in percent; mean ± sd over seeds; a "margin" is a difference divided by the spread
of the difference, sqrt(sd_a^2 + sd_b^2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from transfer_invariance.core.plotting import curves_figure
from transfer_invariance.core.reporting import markdown_table, mean_sd, normalisation_note
from transfer_invariance.experiments import paper_reference as paper
from transfer_invariance.experiments.importance.findings import LABELS, findings
from transfer_invariance.experiments.importance.params import (
    FACTOR_NAMES,
    INVARIANCES,
    FactorGridParams,
    GridParams,
    ImportanceDataParams,
    RealWorldDataParams,
)
from transfer_invariance.pipelines.params import ProbeParams, TrainingParams

QUANTITIES = ["spread within same", "spread within different", "same - different gap"]
MEANS = ["mean same", "mean different"]  # transfer accuracy over a factor's values


def _split_name(key: str) -> tuple[str, str]:
    invariance, _, point = key.partition("__")
    return invariance, point


def probe_results(**tables: pd.DataFrame) -> pd.DataFrame:
    """Every probe's metrics with its invariance condition and namespace (``<inv>__<point>``)."""
    parts = []
    for key, table in tables.items():
        invariance, point = _split_name(key)
        parts.append(table.assign(invariance=invariance, point=point))
    return pd.concat(parts, ignore_index=True)


def pretraining_results(**tables: pd.DataFrame) -> pd.DataFrame:
    """Every pretraining's own test and best validation accuracy (one row per model and seed),
    from the pretrain stage's ``pretrain_metrics`` of each namespace (``<inv>__<point>``)."""
    parts = []
    for key, table in tables.items():
        invariance, point = _split_name(key)
        parts.append(
            pd.DataFrame(
                {
                    "invariance": invariance,
                    "point": point,
                    "seed": table["seed"].astype(int),
                    "pretrain_test_acc": table["test_acc"].astype(float),
                    "pretrain_val_acc": table["best_val_acc"].astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _factor_metrics(
    grid: FactorGridParams, probes: pd.DataFrame, pretraining: pd.DataFrame, prefix: str
) -> pd.DataFrame:
    rows = []
    for cell in grid.cells():
        pretrained = "reference" if cell["factor"] == "probe_samples" else cell["point"]
        for inv in INVARIANCES:
            probe = probes[(probes["invariance"] == inv) & (probes["point"] == cell["point"])]
            pre = pretraining[
                (pretraining["invariance"] == inv) & (pretraining["point"] == pretrained)
            ].set_index("seed")
            for _, r in probe.iterrows():
                rows.append(
                    {
                        "factor": cell["factor"],
                        "value": cell["value"],
                        "invariance": inv,
                        "seed": int(r["seed"]),
                        "transfer_acc": 100 * float(r["test_acc"]),
                        "pretrain_acc": 100 * float(pre.loc[int(r["seed"]), "pretrain_test_acc"]),
                        "probe_samples": cell["probe"],
                        "namespace": f"importance.{prefix}{inv}.{cell['point']}",
                    }
                )
    return pd.DataFrame(rows)


def factor_metrics(
    grid: GridParams, probes: pd.DataFrame, pretraining: pd.DataFrame
) -> pd.DataFrame:
    """One row per factor value, invariance condition and seed of the Transforms-2D grid: transfer
    (linear-probe test) and pretraining (test) accuracy in percent. The reference models appear
    under every factor."""
    return _factor_metrics(grid, probes, pretraining, "")


def real_world_factor_metrics(
    grid: GridParams,
    data: RealWorldDataParams,
    probes: pd.DataFrame,
    pretraining: pd.DataFrame,
) -> pd.DataFrame:
    """``factor_metrics`` for the grid of the real-world dataset of ``data``."""
    return _factor_metrics(grid.of(data.dataset), probes, pretraining, f"{data.dataset}.")


def _values(metrics: pd.DataFrame, factor: str) -> list[str]:
    return list(dict.fromkeys(metrics.loc[metrics["factor"] == factor, "value"]))


def spreads(metrics: pd.DataFrame) -> pd.DataFrame:
    """Figure 3's quantities per factor and seed: the spread (max - min over the factor's values)
    of transfer accuracy within ``same`` and within ``different``, and the same-vs-different gap
    (mean over the factor's values of same - different)."""
    rows = []
    for factor in dict.fromkeys(metrics["factor"]):
        part = metrics[metrics["factor"] == factor]
        acc = part.pivot_table(index=["seed", "value"], columns="invariance", values="transfer_acc")
        for seed, table in acc.groupby(level="seed"):
            rows += [
                {"factor": factor, "seed": seed, "quantity": "spread within same",
                 "value": float(table["same"].max() - table["same"].min())},
                {"factor": factor, "seed": seed, "quantity": "spread within different",
                 "value": float(table["different"].max() - table["different"].min())},
                {"factor": factor, "seed": seed, "quantity": "same - different gap",
                 "value": float((table["same"] - table["different"]).mean())},
            ]  # fmt: skip
    return pd.DataFrame(rows)


def figure2(metrics: pd.DataFrame) -> Figure:
    """Figure 2: per factor, transfer accuracy (top) and pretraining accuracy (bottom) of the
    same- and different-invariance models against the factor's values (mean ± sd over seeds)."""
    import matplotlib.pyplot as plt

    factors = list(dict.fromkeys(metrics["factor"]))
    fig, axes = plt.subplots(2, len(factors), figsize=(3.6 * len(factors), 6.4), squeeze=False)
    for j, factor in enumerate(factors):
        values = _values(metrics, factor)
        part = metrics[metrics["factor"] == factor]
        for i, (column, what) in enumerate(
            (
                ("transfer_acc", "transfer accuracy (%)"),
                ("pretrain_acc", "pretraining accuracy (%)"),
            )
        ):
            mean, sd = mean_sd(part, "value", "invariance", column, values, list(INVARIANCES))
            series = {LABELS[c]: (mean[c].to_numpy(), sd[c].to_numpy()) for c in INVARIANCES}
            ax = axes[i, j]
            curves_figure(
                np.arange(len(values)), series, FACTOR_NAMES[factor] if i == 0 else "", "", what, ax
            )
            ax.set_xticks(np.arange(len(values)), values, rotation=20)
            ax.set_ylim(0, 100)
    n = metrics["seed"].nunique()
    fig.suptitle(f"Figure 2: same vs different invariances per factor (mean ± sd, {n} seeds)")
    fig.tight_layout()
    return fig


def figure3(spread: pd.DataFrame, theirs: pd.DataFrame) -> Figure:
    """Figure 3: per factor, the spread within same, within different and the same-vs-different
    gap; the paper's values (``theirs``: factor x quantity, in points; empty: none) as black
    marks."""
    import matplotlib.pyplot as plt

    factors = list(dict.fromkeys(spread["factor"]))
    mean, sd = mean_sd(spread, "factor", "quantity", "value", factors, QUANTITIES)
    theirs = theirs.reindex(index=factors, columns=QUANTITIES)
    fig, ax = plt.subplots(figsize=(2.2 * len(factors) + 2, 3.8))
    x = np.arange(len(factors))
    for k, q in enumerate(QUANTITIES):
        ax.bar(x + (k - 1) * 0.27, mean[q], 0.27, yerr=sd[q], capsize=3, label=q)
        paper.mark_paper(
            ax, x + (k - 1) * 0.27, theirs[q].to_numpy(), "paper" if k == 0 else "_nolegend_"
        )
    ax.set_xticks(x, [FACTOR_NAMES[f] for f in factors])
    ax.set_ylabel("transfer accuracy difference (points)")
    ax.legend(fontsize=8)
    n = spread["seed"].nunique()
    ax.set_title(
        f"Figure 3: effect of invariance vs other factors (mean ± sd, {n} seeds)", fontsize=10
    )
    fig.tight_layout()
    return fig


def factor_means(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per factor, invariance and seed: the transfer accuracy averaged over the factor's values
    (``quantity`` ``mean same`` / ``mean different``, as the paper's means of Figure 3's dots)."""
    means = metrics.groupby(["factor", "invariance", "seed"], sort=False)["transfer_acc"].mean()
    out = means.rename("value").reset_index()
    return out.assign(quantity="mean " + out["invariance"])


def run_size(
    n_seeds: int,
    grid: FactorGridParams,
    probe: ProbeParams,
    recipes: tuple[TrainingParams, ...],
    data: ImportanceDataParams | None,
) -> dict[str, int | float | str]:
    """This run's value of every size of ``paper_reference.IMPORTANCE_SIZES`` (of the
    real-world sizes where ``data`` is None); the recipe is the reference architecture's."""
    recipe = next(r for r in recipes if r.arch == grid.reference.arch)
    out: dict[str, int | float | str] = {
        "seeds": n_seeds,
        "pretrain_samples": grid.reference.pretrain_samples,
        "probe_samples": grid.reference.probe_samples,
        **{f"n_{f}": len(grid.values(f)) for f in FACTOR_NAMES},
        **paper.recipe_size(recipe, probe),
    }
    if data is not None:
        out["n_test"] = data.n_test
    return out


def _tables(
    metrics: pd.DataFrame,
    design: pd.DataFrame,
    grid: FactorGridParams,
    probe: ProbeParams,
    recipes: tuple[TrainingParams, ...],
    dataset: str | None,
    data: ImportanceDataParams | None,
    real_world: list[str],
) -> tuple[Figure, Figure, pd.DataFrame, str]:
    spread = spreads(metrics)
    n = metrics["seed"].nunique()
    ref = grid.reference
    sizes = (
        paper.IMPORTANCE_SIZES
        if dataset is None
        else paper.IMPORTANCE_REAL_WORLD_SIZES.get(dataset)
    )
    theirs = (  # Figure 3 of the paper is on Transforms-2D only
        paper.FIGURE3.means(100) if dataset is None else pd.DataFrame(columns=QUANTITIES + MEANS)
    )
    title = (
        f"## Appendix C.1 on {dataset}: invariance vs other factors on real images\n\n"
        if dataset
        else "## Importance of invariance vs other factors (Section 4.1)\n\n"
    )
    md = title + (
        "Linear-probe test accuracy (%) on the target task (transfer) and each model's test accuracy "
        f"on its own pretraining task, mean ± sd over {n} seed(s). Reference configuration: "
        f"{ref.pretrain_samples} pretraining samples, {ref.arch}, class relationship "
        f"{ref.classes}, {ref.probe_samples} target samples; each factor changes one of them. "
        + " ".join(f"{r.arch}: {normalisation_note(r.normalisation)}" for r in recipes)
        + "\n\n"
        + (paper.size_line(sizes, run_size(n, grid, probe, recipes, data)) + "\n" if sizes else "")
    )
    for factor in dict.fromkeys(metrics["factor"]):
        part = metrics[metrics["factor"] == factor]
        values = _values(metrics, factor)
        t_mean, t_sd = mean_sd(
            part, "value", "invariance", "transfer_acc", values, list(INVARIANCES)
        )
        p_mean, p_sd = mean_sd(
            part, "value", "invariance", "pretrain_acc", values, list(INVARIANCES)
        )
        mean = pd.concat(
            [t_mean.add_prefix("transfer, "), p_mean.add_prefix("pretraining, ")], axis=1
        )
        sd = pd.concat([t_sd.add_prefix("transfer, "), p_sd.add_prefix("pretraining, ")], axis=1)
        md += f"**{FACTOR_NAMES[factor]}**\n\n" + markdown_table(mean, sd, corner=factor) + "\n"
    s_mean, s_sd = mean_sd(
        pd.concat([spread, factor_means(metrics)], ignore_index=True),
        "factor",
        "quantity",
        "value",
        list(dict.fromkeys(spread["factor"])),
        QUANTITIES + MEANS,
    )
    md += (
        "**Figure 3: spread within each condition and the gap between them (points), and the "
        "transfer accuracy (%) averaged over each factor's values**\n\n"
    )
    if dataset is None:
        md += (
            "In brackets: the paper's Figure 3, Transforms-2D panel (10 seeds; read from its plot "
            "to about ±1 point; it has no target-samples factor; "
            "`experiments/paper_reference.py` says where its numbers come from).\n\n"
        )
    cells = paper.beside(s_mean, s_sd, theirs, "{:.1f}", "{:.0f}")
    cells.index = [FACTOR_NAMES[f] for f in cells.index]
    md += markdown_table(cells, fmt="{}", corner="factor") + "\n"
    md += findings(metrics, spread, explain=dataset is None)
    if dataset is None:
        md += (
            "\nReal-world data (the transformations as augmentations of real images, Appendix C.1): "
            + (
                f"see {', '.join(f'`{d}_tables.md`' for d in real_world)}."
                if real_world
                else "not run in this environment (the default runs offline on Transforms-2D only; "
                "`--env paper` adds CIFAR-10 and CIFAR-100, see docs/deviations.md)."
            )
        )
    md += (
        "\n\nWhat each seed drew:\n\n"
        + "\n".join(
            "- seed {}: {}".format(
                r["seed"],
                "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in r.items() if k != "seed"),
            )
            for r in design.to_dict("records")
        )
        + "\n"
    )
    spread_csv = spread.groupby(["factor", "quantity"])["value"].agg(["mean", "std"]).reset_index()
    return figure2(metrics), figure3(spread, theirs), spread_csv, md


def importance_tables(
    metrics: pd.DataFrame,
    design: pd.DataFrame,
    grid: GridParams,
    data: ImportanceDataParams,
    probe: ProbeParams,
    *recipes: TrainingParams,
) -> tuple[Figure, Figure, pd.DataFrame, str]:
    """Figures 2 and 3, the table of Figure 3's quantities beside the paper's, and the Markdown
    report with findings of the Transforms-2D grid (``recipes``: the training recipe of each of
    its architectures), with how far the run's size (``data``, ``probe``, ``recipes``) is from
    the paper's."""
    return _tables(metrics, design, grid, probe, recipes, None, data, list(grid.real_world))


def real_world_tables(
    metrics: pd.DataFrame,
    design: pd.DataFrame,
    grid: GridParams,
    data: RealWorldDataParams,
    probe: ProbeParams,
    *recipes: TrainingParams,
) -> tuple[Figure, Figure, pd.DataFrame, str]:
    """``importance_tables`` for the grid of the real-world dataset of ``data`` (Appendix C.1)."""
    return _tables(metrics, design, grid.of(data.dataset), probe, recipes, data.dataset, None, [])
