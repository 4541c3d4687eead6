"""Thin nodes of the report stage: metric tables -> CSV, Markdown and a figure."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from transfer_invariance.core.plotting import heatmap_figure
from transfer_invariance.core.reporting import long_table, markdown_table, mean_sd
from transfer_invariance.pipelines.params import TableParams


def collect_metrics(**tables: pd.DataFrame) -> pd.DataFrame:
    """One table of every model's metrics; ``model`` is the name each table was passed under."""
    parts = [t.assign(model=name) for name, t in tables.items() if len(t)]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def tabulate(metrics: pd.DataFrame, table: TableParams) -> tuple[pd.DataFrame, str, Figure]:
    """Mean ± sd over seeds of ``table.value`` by ``table.rows`` x ``table.columns``: CSV, Markdown, heatmap."""
    for column in (table.rows, table.columns, table.value):
        if column not in metrics:
            raise ValueError(
                f"report table '{table.title or table.value}': the metrics have no column "
                f"{column!r} (columns: {sorted(metrics.columns)})."
            )
    scaled = metrics.assign(**{table.value: metrics[table.value] * table.scale})
    mean, sd = mean_sd(
        scaled, table.rows, table.columns, table.value, table.row_order, table.column_order
    )
    title = table.title or table.value
    n_seeds = metrics["seed"].nunique() if "seed" in metrics else 1
    md = f"### {title}\n\nMean ± sd over {n_seeds} seed(s); rows: {table.rows}, columns: {table.columns}.\n\n"
    md += markdown_table(mean, sd, table.format, corner=f"{table.rows} \\ {table.columns}")
    fig = heatmap_figure(
        mean.to_numpy(),
        [str(i) for i in mean.index],
        [str(c) for c in mean.columns],
        title,
        errors=sd.to_numpy(),
        xlabel=table.columns,
        ylabel=table.rows,
        fmt=table.format,
    )
    return long_table(mean, sd, table.value), md, fig
