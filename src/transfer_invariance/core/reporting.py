"""Metric tables: mean and standard deviation over seeds, Markdown rendering."""

from __future__ import annotations

import re
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


def _metric_part(value: object) -> str:
    """One level of an MLflow metric name: MLflow allows letters, digits and ``_-. :/``."""
    text = str(value).replace("+", "").replace("/", "-")
    return re.sub(r"[^A-Za-z0-9_\-. :]", "_", text).strip() or "_"


def headline_metrics(table: pd.DataFrame, prefix: str) -> dict[str, float]:
    """Every number of a report table as ``{"<prefix>/<row keys>/<value>": number}``.

    The row keys are the table's text columns; the values are its ``*_mean`` columns (the
    ``*_sd`` ones are left out) or, without any, its numeric columns. A table with a ``seed``
    column is averaged over seeds first. A value column's name is left out of the metric name
    when there is only one. Empty cells are skipped. These are the numbers logged on a run, so
    that two runs can be compared side by side in the MLflow UI.
    """
    keys = [c for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])]
    values = [c for c in table.columns if str(c).endswith("_mean")] or [
        c for c in table.columns if c not in keys and c != "seed" and not str(c).endswith("_sd")
    ]
    if "seed" in table.columns and keys:
        table = table.groupby(keys, sort=False)[values].mean().reset_index()
    out: dict[str, float] = {}
    for _, row in table.iterrows():
        for value in values:
            if pd.isna(row[value]):
                continue
            parts = [prefix, *(_metric_part(row[k]) for k in keys)]
            if len(values) > 1:
                parts.append(_metric_part(str(value).removesuffix("_mean")))
            out["/".join(parts)] = round(float(row[value]), 6)  # float32 noise off
    return out
