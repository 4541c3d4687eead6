"""Nodes reporting importance: Figure 2, Figure 3, the fine-tuning figure (C.2), tables, findings.

Everything is written to ``data/08_reporting/importance/`` and logged as MLflow artifacts of the run.
Accuracies are in percent; mean ± sd over seeds; a "margin" is a difference divided by the spread
of the difference, sqrt(sd_a^2 + sd_b^2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from transfer_invariance.core.plotting import curves_figure
from transfer_invariance.core.reporting import (
    VERDICT_RULE,
    combine,
    markdown_table,
    mean_sd,
    normalisation_note,
    paired_verdict,
)
from transfer_invariance.experiments.importance.params import (
    FACTOR_NAMES,
    INVARIANCES,
    parse_importance,
)
from transfer_invariance.pipelines.common import seed_of

LABELS = {"same": "same transformations", "different": "different transformations"}


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


def pretraining_results(**checkpoints: dict) -> pd.DataFrame:
    """Every pretraining's own test and best validation accuracy (one row per model and seed)."""
    rows = []
    for key, by_seed in checkpoints.items():
        invariance, point = _split_name(key)
        for seed, checkpoint in by_seed.items():
            rows.append(
                {
                    "invariance": invariance,
                    "point": point,
                    "seed": seed_of(seed),
                    "pretrain_test_acc": float(checkpoint["test_acc"]),
                    "pretrain_val_acc": float(checkpoint["best_val_acc"]),
                }
            )
    return pd.DataFrame(rows)


def factor_metrics(
    importance: Mapping[str, Any],
    probes: pd.DataFrame,
    pretraining: pd.DataFrame,
    prefix: str = "",
) -> pd.DataFrame:
    """One row per factor value, invariance condition and seed: transfer (linear-probe test) and
    pretraining (test) accuracy in percent, for the grid of ``prefix`` (``""``: Transforms-2D,
    ``"<dataset>."``: a real-world dataset). The reference models appear under every factor."""
    grid = parse_importance(importance).grids()[prefix]
    rows = []
    for cell in grid.grid():
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


def paired_differences(metrics: pd.DataFrame, value: str, by: list[str]) -> dict[tuple, pd.Series]:
    """Same minus different, paired by seed (a seed's two models share objects, target and
    samples), per group of ``by``: one value per seed of the table, NaN where a side lacks it."""
    seeds = sorted(metrics["seed"].unique())
    out = {}
    for key, part in metrics.groupby(by, sort=False):
        wide = part.pivot_table(index="seed", columns="invariance", values=value)
        wide = wide.reindex(index=seeds, columns=list(INVARIANCES))
        out[key if isinstance(key, tuple) else (key,)] = wide["same"] - wide["different"]
    return out


def _shown(diffs: pd.Series) -> str:
    """``12.3 ± 4.5 points`` (mean ± sd over seeds, paired), or the value alone with one seed."""
    values = diffs.dropna()
    if values.empty:
        return "missing"
    sd = f" ± {values.std(ddof=1):.1f}" if len(values) > 1 else ""
    return f"{values.mean():.1f}{sd} points"


def findings(metrics: pd.DataFrame, spread: pd.DataFrame) -> str:
    """Findings (a) and (b), each checked against the numbers in the one verdict vocabulary of
    ``core.reporting`` (differences paired by seed).

    (a) same minus different transfer accuracy > 0 at every factor value;
    (b) per factor, the same-vs-different gap minus the larger of the spreads within same and
        within different (Figure 3's quantities, per seed) > 0.
    """
    lines = ["### Findings (checked against the numbers above)\n", VERDICT_RULE + "\n"]
    gaps = {
        f"{FACTOR_NAMES[f]} = {v}": d
        for (f, v), d in paired_differences(metrics, "transfer_acc", ["factor", "value"]).items()
    }
    parts = {name: paired_verdict(d, f"{name},") for name, d in gaps.items()}
    holding = sum(v.holds for v in parts.values())
    weakest = min(parts, key=lambda k: -np.inf if np.isnan(parts[k].effect) else parts[k].effect)
    lines.append(
        "(a) Same-invariance pretraining transfers better than different-invariance pretraining at "
        f"every factor value: it holds at {holding} of {len(parts)} values. Smallest gap: "
        f"{_shown(gaps[weakest])} at {weakest} ({parts[weakest].margin()}): {combine(parts)}."
    )
    wide = spread.pivot_table(index=["factor", "seed"], columns="quantity", values="value")
    seeds = sorted(spread["seed"].unique())
    b_parts, texts = {}, []
    for factor in dict.fromkeys(spread["factor"]):
        name = FACTOR_NAMES[factor]
        table = wide.loc[factor].reindex(seeds)
        other = table[["spread within same", "spread within different"]].max(axis=1, skipna=False)
        b_parts[name] = paired_verdict(table["same - different gap"] - other, f"{name},")
        texts.append(
            f"{name} (gap {table['same - different gap'].mean():.1f} vs spread "
            f"{other.mean():.1f}: {b_parts[name].state})"
        )
    lines.append(
        "\n(b) The same-vs-different gap is larger than the spread caused by each other factor: "
        f"{'; '.join(texts)}: {combine(b_parts)}."
    )
    return "\n".join(lines) + "\n"


def importance_tables(
    metrics: pd.DataFrame, design: pd.DataFrame, importance: Mapping[str, Any], prefix: str = ""
) -> tuple[Figure, Figure, pd.DataFrame, str]:
    """Figures 2 and 3, the table of Figure 3's quantities, and the Markdown report with findings."""
    importance = parse_importance(importance)
    grid = importance.grids()[prefix]
    spread = spreads(metrics)
    n = metrics["seed"].nunique()
    ref = grid.reference
    title = (
        f"## Appendix C.1 on {prefix[:-1]}: invariance vs other factors on real images\n\n"
        if prefix
        else "## Importance of invariance vs other factors (Section 4.1)\n\n"
    )
    md = title + (
        "Linear-probe test accuracy (%) on the target task (transfer) and each model's test accuracy "
        f"on its own pretraining task, mean ± sd over {n} seed(s). Reference configuration: "
        f"{ref.pretrain_samples} pretraining samples, {ref.arch}, class relationship "
        f"{ref.classes}, {ref.probe_samples} target samples; each factor changes one of them. "
        + " ".join(
            f"{arch}: {normalisation_note(recipe.normalisation)}"
            for arch, recipe in importance.training.items()
            if arch in {ref.arch, *grid.factors.arch}
        )
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
    if not prefix:
        datasets = list(importance.real_world)
        md += (
            "\nReal-world data (the transformations as augmentations of real images, Appendix C.1): "
            + (
                f"see {', '.join(f'`{d}_tables.md`' for d in datasets)}."
                if datasets
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


def finetune_report(**by_invariance: pd.DataFrame) -> tuple[pd.DataFrame, Figure, str]:
    """Appendix C.2: accuracy after the starting probe and after full fine-tuning on small target
    sets, same vs different invariances, and finding (c)."""
    import matplotlib.pyplot as plt

    rows = []
    for inv, table in by_invariance.items():
        for stage, column in (("linear probe", "probe_test_acc"), ("fine-tuned", "test_acc")):
            rows.append(
                table.assign(invariance=inv, stage=stage, acc=100 * table[column])[
                    ["invariance", "stage", "n_samples", "seed", "acc"]
                ]
            )
    metrics = pd.concat(rows, ignore_index=True)
    metrics["row"] = metrics["stage"] + ", n=" + metrics["n_samples"].astype(str)
    sizes = sorted(metrics["n_samples"].unique())
    order = [f"{st}, n={n}" for n in sizes for st in ("linear probe", "fine-tuned")]
    mean, sd = mean_sd(metrics, "row", "invariance", "acc", order, list(INVARIANCES))
    n_seeds = metrics["seed"].nunique()

    fig, axes = plt.subplots(1, len(sizes), figsize=(4.2 * len(sizes), 3.6), squeeze=False)
    for j, n in enumerate(sizes):
        ax = axes[0, j]
        x = np.arange(2)
        for k, inv in enumerate(INVARIANCES):
            rows_n = [f"linear probe, n={n}", f"fine-tuned, n={n}"]
            ax.bar(x + (k - 0.5) * 0.38, mean.loc[rows_n, inv], 0.38,
                   yerr=sd.loc[rows_n, inv], capsize=3, label=LABELS[inv])  # fmt: skip
        ax.set_xticks(x, ["linear probe", "fine-tuned"])
        ax.set_ylim(0, 100)
        ax.set_ylabel("target test accuracy (%)")
        ax.set_title(f"{n} target samples", fontsize=10)
        ax.legend(fontsize=8)
    fig.suptitle(f"Appendix C.2: fine-tuning from the probe (mean ± sd, {n_seeds} seeds)")
    fig.tight_layout()

    probe_gaps = paired_differences(
        metrics[metrics["stage"] == "linear probe"], "acc", ["n_samples"]
    )
    tuned_gaps = paired_differences(metrics[metrics["stage"] == "fine-tuned"], "acc", ["n_samples"])
    lines, sizes_verdicts = [], {}
    for n in sizes:
        gap_p, gap_f = probe_gaps[(n,)], tuned_gaps[(n,)]
        parts = {
            "narrowed": paired_verdict(gap_p - gap_f, f"n = {n}, narrowing,"),
            "not closed": paired_verdict(gap_f, f"n = {n}, remaining gap,"),
        }
        sizes_verdicts[f"n = {n}"] = v = combine(parts)
        lines.append(
            f"n = {n}: gap {_shown(gap_p)} after the probe, {_shown(gap_f)} after fine-tuning "
            f"(paired by seed; narrowed: {parts['narrowed'].margin()}; remaining gap: "
            f"{parts['not closed'].margin()}): {v}"
        )
    md = (
        "## Appendix C.2: full fine-tuning from the linear probe\n\n"
        f"Target test accuracy (%), mean ± sd over {n_seeds} seed(s); each size's probe and "
        "fine-tuning see only that many target samples.\n\n"
        + markdown_table(mean, sd, corner="stage \\ pretraining")
        + "\n### Finding (c): fine-tuning narrows but does not close the gap on small target sets\n\n"
        + VERDICT_RULE
        + "\n\n"
        + "\n".join(f"- {line}" for line in lines)
        + f"\n\n(c) at every size: {combine(sizes_verdicts)}.\n"
    )
    csv = (
        metrics.groupby(["stage", "n_samples", "invariance"])["acc"]
        .agg(["mean", "std"])
        .reset_index()
    )
    return csv, fig, md
