"""Figures: sample galleries, heatmaps and bar charts (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from transfer_invariance.core.reporting import mean_sd_text  # noqa: E402


def gallery_figure(
    tensor_set: dict[str, Any],
    samples_per_class: int = 6,
    max_classes: int = 10,
    title: str | None = None,
) -> Figure:
    """A grid with one row per class (up to ``max_classes``) and several samples each, labelled."""
    images, labels = tensor_set["images"], tensor_set["labels"]
    names = tensor_set["meta"].get("class_names") or [str(i) for i in range(int(labels.max()) + 1)]
    classes = [c for c in range(len(names)) if bool((labels == c).any())][:max_classes]
    fig, axes = plt.subplots(
        len(classes),
        samples_per_class,
        figsize=(1.1 * samples_per_class + 1.2, 1.1 * len(classes) + 0.6),
        squeeze=False,
    )
    for row, c in enumerate(classes):
        idx = torch.nonzero(labels == c).flatten()[:samples_per_class]
        for col in range(samples_per_class):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if col < len(idx):
                ax.imshow(images[idx[col]].permute(1, 2, 0).numpy(), interpolation="nearest")
        axes[row, 0].set_ylabel(names[c], rotation=0, ha="right", va="center", fontsize=8)
    meta = tensor_set["meta"]
    fig.suptitle(
        title
        or f"{meta.get('name', '')} ({meta.get('split', '')}): {', '.join(meta.get('transforms', []))}",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def heatmap_figure(
    values: np.ndarray,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    title: str,
    errors: np.ndarray | None = None,
    xlabel: str = "",
    ylabel: str = "",
    fmt: str = "{:.1f}",
    vmin: float | None = None,
    vmax: float | None = None,
    ax: Axes | None = None,
) -> Figure:
    """An annotated heatmap with a colour bar: every cell shows its value and, below it, ``± sd``
    where ``errors`` has one (NaN: one seed, no spread, so the value alone).

    Drawn on ``ax`` when given (a panel of a larger figure), else in a figure of its own sized to
    the table. The text is white on the dark half of the colour scale (``vmin``..``vmax``, the
    values' range where not given) and black on the light half, so every cell stays readable.
    """
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.2 * len(col_labels) + 2.5, 0.8 * len(row_labels) + 1.8))
    values = np.asarray(values, dtype=float)
    im = ax.imshow(values, cmap="viridis", vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(col_labels)), col_labels, rotation=30, ha="right")
    ax.set_yticks(range(len(row_labels)), row_labels)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    lo = np.nanmin(values) if vmin is None else vmin
    hi = np.nanmax(values) if vmax is None else vmax
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            sd = None if errors is None else errors[i, j]
            ax.text(
                j,
                i,
                mean_sd_text(values[i, j], sd, fmt, sep="\n±"),
                ha="center",
                va="center",
                fontsize=8,
                color="white" if values[i, j] < (lo + hi) / 2 else "black",
            )
    ax.figure.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=10)
    if fig is not None:
        fig.tight_layout()
    return ax.figure


def curves_figure(
    x: Sequence[float],
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    title: str,
    xlabel: str,
    ylabel: str,
    ax: Any | None = None,
) -> Figure:
    """Lines of mean with a ± sd band, one per series."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.5, 3.5))
    for name, (mean, sd) in series.items():
        ax.plot(x, mean, marker="o", label=name)
        ax.fill_between(x, mean - sd, mean + sd, alpha=0.2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure
