"""Metric tables: mean and standard deviation over seeds, Markdown rendering."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def mean_sd(
    metrics: pd.DataFrame,
    index: str,
    columns: str,
    value: str,
    index_order: Sequence[str] | None = None,
    column_order: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pivot ``value`` to index x columns: mean and sample standard deviation over seeds."""
    missing = {index, columns, value} - set(metrics.columns)
    if missing:
        raise ValueError(
            f"metrics table lacks column(s) {sorted(missing)}; it has {list(metrics.columns)}."
        )
    grouped = metrics.groupby([index, columns])[value]
    mean = grouped.mean().unstack(columns)
    sd = grouped.std(ddof=1).unstack(columns).fillna(0.0)
    if index_order is not None:
        mean, sd = mean.reindex(index_order), sd.reindex(index_order)
    if column_order is not None:
        mean, sd = mean.reindex(columns=column_order), sd.reindex(columns=column_order)
    return mean, sd


def long_table(mean: pd.DataFrame, sd: pd.DataFrame, value: str) -> pd.DataFrame:
    """Mean and sd side by side in long form (one row per cell), for CSV export."""
    m = mean.stack().rename(f"{value}_mean")
    s = sd.stack().rename(f"{value}_sd")
    return pd.concat([m, s], axis=1).reset_index()


def markdown_table(
    mean: pd.DataFrame, sd: pd.DataFrame | None = None, fmt: str = "{:.1f}", corner: str = ""
) -> str:
    """A GitHub-flavoured Markdown table of ``mean ± sd``."""
    header = (
        "| "
        + " | ".join([corner or str(mean.index.name or "")] + [str(c) for c in mean.columns])
        + " |"
    )
    sep = "|" + "|".join(["---"] * (len(mean.columns) + 1)) + "|"
    lines = [header, sep]
    for row in mean.index:
        cells = []
        for col in mean.columns:
            m = mean.loc[row, col]
            if pd.isna(m):
                cells.append("")
                continue
            text = fmt.format(m)
            if sd is not None:
                text += " ± " + fmt.format(sd.loc[row, col])
            cells.append(text)
        lines.append("| " + " | ".join([str(row)] + cells) + " |")
    return "\n".join(lines) + "\n"
