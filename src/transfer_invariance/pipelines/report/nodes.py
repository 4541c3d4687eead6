"""Thin nodes of the report stage: metric tables -> CSV, Markdown and a figure."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from transfer_invariance.core.plotting import heatmap_figure
from transfer_invariance.core.reporting import long_table, markdown_table, mean_sd


def collect_metrics(*tables: pd.DataFrame) -> pd.DataFrame:
    """Concatenate the metric tables of an experiment's conditions."""
    return pd.concat([t for t in tables if len(t)], ignore_index=True)


def tabulate(metrics: pd.DataFrame, table: dict[str, Any]) -> tuple[pd.DataFrame, str, Figure]:
    """Mean ± sd over seeds of ``table.value`` by ``table.rows`` x ``table.columns``: CSV, Markdown, heatmap."""
    scale = float(table.get("scale", 1.0))
    scaled = metrics.assign(**{table["value"]: metrics[table["value"]] * scale})
    mean, sd = mean_sd(
        scaled,
        table["rows"],
        table["columns"],
        table["value"],
        table.get("row_order"),
        table.get("column_order"),
    )
    fmt = table.get("format", "{:.1f}")
    title = table.get("title", table["value"])
    n_seeds = metrics["seed"].nunique() if "seed" in metrics else 1
    md = f"### {title}\n\nMean ± sd over {n_seeds} seed(s); rows: {table['rows']}, columns: {table['columns']}.\n\n"
    md += markdown_table(mean, sd, fmt, corner=f"{table['rows']} \\ {table['columns']}")
    fig = heatmap_figure(
        mean.to_numpy(),
        [str(i) for i in mean.index],
        [str(c) for c in mean.columns],
        title,
        errors=sd.to_numpy(),
        xlabel=table["columns"],
        ylabel=table["rows"],
        fmt=fmt,
    )
    return long_table(mean, sd, table["value"]), md, fig
