"""Tests of the annotated heatmap: what every cell says, in its own figure or on given axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from transfer_invariance.core.plotting import heatmap_figure

VALUES = np.array([[10.0, 90.0], [np.nan, 55.0]])
ERRORS = np.array([[1.25, np.nan], [np.nan, 0.0]])


def _cells(ax) -> list[tuple[str, str]]:
    """(text, colour) of every cell annotation, row by row."""
    return [(t.get_text(), t.get_color()) for t in ax.texts]


def test_cells_show_mean_and_sd_and_the_mean_alone_without_a_spread() -> None:
    fig = heatmap_figure(VALUES, ["a", "b"], ["x", "y"], "title", errors=ERRORS, vmin=0, vmax=100)
    ax = fig.axes[0]
    texts = [text for text, _ in _cells(ax)]
    assert texts == ["10.0\n±1.2", "90.0", "", "55.0\n±0.0"]  # NaN sd: one seed, no "± 0.0"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["x", "y"]
    assert ax.get_title() == "title"
    plt.close(fig)


def test_text_is_white_on_the_dark_half_of_the_colour_scale() -> None:
    fig, ax = plt.subplots()
    assert heatmap_figure(VALUES, ["a", "b"], ["x", "y"], "t", vmin=0, vmax=200, ax=ax) is fig
    colours = [colour for _, colour in _cells(ax)]
    assert colours[0] == colours[1] == colours[3] == "white"  # all below 100, the scale's middle
    plt.close(fig)
    fig = heatmap_figure(VALUES, ["a", "b"], ["x", "y"], "t")  # scale: the values' range
    assert [c for _, c in _cells(fig.axes[0])][:2] == ["white", "black"]
    plt.close(fig)
