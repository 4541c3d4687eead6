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
from transfer_invariance.experiments.importance.findings import LABELS, findings
from transfer_invariance.experiments.importance.params import (
    FACTOR_NAMES,
    INVARIANCES,
    FactorGridParams,
    GridParams,
    RealWorldDataParams,
)
from transfer_invariance.pipelines.params import TrainingParams


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


def figure3(spread: pd.DataFrame) -> Figure:
    """Figure 3: per factor, the spread within same, within different and the same-vs-different gap."""
    import matplotlib.pyplot as plt

    factors = list(dict.fromkeys(spread["factor"]))
    quantities = ["spread within same", "spread within different", "same - different gap"]
    mean, sd = mean_sd(spread, "factor", "quantity", "value", factors, quantities)
    fig, ax = plt.subplots(figsize=(2.2 * len(factors) + 2, 3.8))
    x = np.arange(len(factors))
    for k, q in enumerate(quantities):
        ax.bar(x + (k - 1) * 0.27, mean[q], 0.27, yerr=sd[q], capsize=3, label=q)
    ax.set_xticks(x, [FACTOR_NAMES[f] for f in factors])
    ax.set_ylabel("transfer accuracy difference (points)")
    ax.legend(fontsize=8)
    n = spread["seed"].nunique()
    ax.set_title(
        f"Figure 3: effect of invariance vs other factors (mean ± sd, {n} seeds)", fontsize=10
    )
    fig.tight_layout()
    return fig


def _tables(
    metrics: pd.DataFrame,
    design: pd.DataFrame,
    grid: FactorGridParams,
    recipes: tuple[TrainingParams, ...],
    dataset: str | None,
    real_world: list[str],
) -> tuple[Figure, Figure, pd.DataFrame, str]:
    spread = spreads(metrics)
    n = metrics["seed"].nunique()
    ref = grid.reference
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
        spread,
        "factor",
        "quantity",
        "value",
        list(dict.fromkeys(spread["factor"])),
        ["spread within same", "spread within different", "same - different gap"],
    )
    s_mean.index = [FACTOR_NAMES[f] for f in s_mean.index]
    s_sd.index = s_mean.index
    md += "**Figure 3: spread within each condition and the gap between them (points)**\n\n"
    md += markdown_table(s_mean, s_sd, corner="factor") + "\n"
    md += findings(metrics, spread)
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
    return figure2(metrics), figure3(spread), spread_csv, md


def importance_tables(
    metrics: pd.DataFrame,
    design: pd.DataFrame,
    grid: GridParams,
    *recipes: TrainingParams,
) -> tuple[Figure, Figure, pd.DataFrame, str]:
    """Figures 2 and 3, the table of Figure 3's quantities, and the Markdown report with findings
    of the Transforms-2D grid (``recipes``: the training recipe of each of its architectures)."""
    return _tables(metrics, design, grid, recipes, None, list(grid.real_world))


def real_world_tables(
    metrics: pd.DataFrame,
    design: pd.DataFrame,
    grid: GridParams,
    data: RealWorldDataParams,
    *recipes: TrainingParams,
) -> tuple[Figure, Figure, pd.DataFrame, str]:
    """``importance_tables`` for the grid of the real-world dataset of ``data`` (Appendix C.1)."""
    return _tables(metrics, design, grid.of(data.dataset), recipes, data.dataset, [])
