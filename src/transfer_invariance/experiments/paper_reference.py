"""The paper's numbers, shown beside ours in every report, and the paper's size of each experiment.

Source: the evaluation notebooks of the authors' published code
(github.com/tillspeicher/representation-invariance-transfer, committed with their outputs, the
day after the paper's first arXiv version); the notebooks print the LaTeX rows of the tables and
save the paper's figures. Figure values were read from the notebooks' plots (about +-0.01). All
are at the paper's size (ResNet-18 unless stated, 10 seeds, 50,000 samples, CIFAR-10 as C in
Table 1), so numbers at the project's reduced default size are not expected to match.

Values are as the paper gives them: accuracies as fractions (the reports show them in %), L2
sensitivities as scores. Rows and columns are named as our reports name them. The paper's sizes
(``*_SIZES``) are those of ``conf/paper/parameters_<experiment>.yml``, copied here: nothing
outside the package is read at run time.

The second half holds the small helpers the reports use to show these numbers: cells
"ours (paper x)", marks on figures, and the one line that says how far a run's size is from the
paper's.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from transfer_invariance.core.reporting import mean_sd_text
from transfer_invariance.pipelines.params import ProbeParams, TrainingParams

SOURCE: Final = (
    "Source: the evaluation notebooks of the authors' published code "
    "(github.com/tillspeicher/representation-invariance-transfer, committed with their outputs, "
    "the day after the paper's first arXiv version); the notebooks print the LaTeX rows of the "
    "tables and save the paper's figures. Figure values were read from the notebooks' plots "
    "(about +-0.01). All are at the paper's size (ResNet-18 unless stated, 10 seeds, 50,000 "
    "samples, CIFAR-10 as C in Table 1), so numbers at the project's reduced default size are "
    "not expected to match."
)
PAPER_SEEDS: Final = 10


_CELL = re.compile(r"^(?P<open>\(~)?(?P<mean>[0-9.]+)\)?(?: ± (?P<sd>[0-9.]+))?$")


@dataclass(frozen=True)
class PaperTable:
    """A table of the paper, its ``cells`` copied as the source prints them: one string per row,
    cells separated by ``|``, each ``mean``, ``mean ± sd`` (sd over the paper's seeds) or
    ``(~1.0)`` (read as about 1.0 from a line hidden under others in a plot). ``rows`` and
    ``columns`` are named as our reports name them."""

    title: str
    rows: tuple[Hashable, ...]
    columns: tuple[str, ...]
    cells: tuple[str, ...]

    def __post_init__(self) -> None:
        cells, shape = self._split(), (len(self.rows), len(self.columns))
        if len(cells) != shape[0] or any(len(row) != shape[1] for row in cells):
            raise ValueError(f"{self.title}: the cells are not {shape[0]} x {shape[1]}")
        bad = [c for row in cells for c in row if not _CELL.match(c)]
        if bad:
            raise ValueError(f"{self.title}: cells {bad} are not 'mean', 'mean ± sd' or '(~1.0)'")

    def _split(self) -> list[list[str]]:
        return [[cell.strip() for cell in row.split("|")] for row in self.cells]

    def texts(self) -> pd.DataFrame:
        """The cells as the source prints them (a row of two labels named ``"images, Same"``)."""
        index = [", ".join(r) if isinstance(r, tuple) else r for r in self.rows]
        return pd.DataFrame(self._split(), index=index, columns=list(self.columns))

    @cached_property
    def _parts(self) -> dict[str, pd.DataFrame]:
        """Every group of ``_CELL`` (``mean``, ``sd``, ``open``) of every cell, None where
        absent: the cells parsed once per table."""
        index = (
            pd.MultiIndex.from_tuples(self.rows)
            if isinstance(self.rows[0], tuple)
            else pd.Index(self.rows)
        )
        cells = self._split()
        return {
            name: pd.DataFrame(
                [[_group(c, name) for c in row] for row in cells],
                index=index,
                columns=list(self.columns),
            )
            for name in ("mean", "sd", "open")
        }

    def _part(self, name: str) -> pd.DataFrame:
        """One group of every cell (a copy: callers may change it)."""
        return self._parts[name].copy()

    def means(self, scale: float = 1.0) -> pd.DataFrame:
        """The means (times ``scale``: 100 for accuracies in %)."""
        return self._part("mean").astype(float) * scale

    def sds(self, scale: float = 1.0) -> pd.DataFrame:
        """The sds over the paper's seeds (NaN where the paper prints none)."""
        return self._part("sd").astype(float) * scale  # None -> NaN

    def approximate(self) -> pd.DataFrame:
        """True where a cell was read as about its value (a hidden line)."""
        return self._part("open").notna()


def _group(cell: str, name: str) -> str | None:
    match = _CELL.match(cell)
    return match.group(name) if match else None


# ------------------------------------------------------------------------------------- Table 1

TABLE1: Final = PaperTable(
    title="Table 1 (Section 4.2): linear-probe accuracy and L2 sensitivity on C+O, objects "
    "pasted at a random position, mean ± sd over 10 seeds",
    rows=("C/C", "C+O/C", "C+O/O", "O/O"),
    columns=("C/C", "C+O/C", "C+O/O", "O/O", "sensitivity to C", "sensitivity to O"),
    cells=(
        "0.98 ± 0.00 | 0.89 ± 0.01 | 0.56 ± 0.06 | 1.00 ± 0.00 | 0.99 ± 0.00 | 0.21 ± 0.02",
        "0.98 ± 0.00 | 0.97 ± 0.00 | 0.15 ± 0.01 | 1.00 ± 0.00 | 1.00 ± 0.00 | 0.08 ± 0.01",
        "0.26 ± 0.02 | 0.13 ± 0.02 | 1.00 ± 0.00 | 0.98 ± 0.02 | 0.13 ± 0.02 | 0.99 ± 0.01",
        "0.29 ± 0.03 | 0.28 ± 0.03 | 0.25 ± 0.04 | 1.00 ± 0.00 | 1.00 ± 0.01 | 0.11 ± 0.04",
    ),
)

# ------------------------------------------------------------------------------------- Table 2

TABLE2: Final = PaperTable(
    title="Table 2 (Section 5.1): L2 sensitivity, ResNet-18, mean ± sd over 10 seeds (lower = "
    "more invariant)",
    rows=tuple((f, r) for f in ("images", "random") for r in ("Same", "Other", "None")),
    columns=("in_distribution", "mild_ood", "strong_ood", "cifar10", "cifar100"),
    cells=(
        "0.12 ± 0.07 | 0.21 ± 0.10 | 0.56 ± 0.16 | 0.37 ± 0.19 | 0.35 ± 0.17",
        "0.40 ± 0.15 | 0.41 ± 0.14 | 0.69 ± 0.15 | 0.51 ± 0.20 | 0.50 ± 0.18",
        "0.39 ± 0.15 | 0.42 ± 0.15 | 0.69 ± 0.16 | 0.48 ± 0.22 | 0.48 ± 0.20",
        "0.12 ± 0.08 | 0.44 ± 0.15 | 0.24 ± 0.10 | 0.40 ± 0.22 | 0.37 ± 0.20",
        "0.64 ± 0.16 | 0.69 ± 0.16 | 0.33 ± 0.11 | 0.46 ± 0.21 | 0.45 ± 0.20",
        "0.65 ± 0.18 | 0.70 ± 0.17 | 0.35 ± 0.13 | 0.49 ± 0.20 | 0.47 ± 0.19",
    ),
)
# our stand-in for a real-world column of Table 2 -> the paper's column shown beside it
TABLE2_STAND_IN: Final = {"scenes": "cifar10"}

# ------------------------------------------------------------------------------------ Figure 3

FIGURE3: Final = PaperTable(
    title="Figure 3 (Section 4.1), Transforms-2D panel: spreads and gap of transfer accuracy, and "
    "the mean accuracies of the plotted dots (read from the plot, about +-0.01)",
    rows=("classes", "arch", "pretrain_samples"),  # Class Rel., Architecture, PT Samples
    columns=(
        "spread within different",
        "same - different gap",
        "spread within same",
        "mean different",
        "mean same",
    ),
    cells=(
        "0.15 | 0.12 | 0.05 | 0.867 | 0.985",
        "0.07 | 0.12 | 0.02 | 0.855 | 0.979",
        "0.03 | 0.15 | 0.04 | 0.828 | 0.975",
    ),
)

# ------------------------------------------------------------------------------------ Figure 4

FIGURE4: Final = PaperTable(
    title="Figure 4 (Section 5.2): ResNet-18 transfer accuracy by pretraining set T_k (rows) and "
    "target T_j (columns); nested sets of 1..8 transformations drawn from the 18; 30 classes, 50k "
    "training samples, 100 pretraining epochs (as the figure is described; Appendix B's text "
    "says 50, which conf/paper runs), 200 linear-probe epochs, 10 seeds (read from the "
    "plot, about +-0.01; (~1.0): the line is hidden under others at the top)",
    rows=tuple(f"T{k}" for k in range(1, 9)),
    columns=tuple(f"T{k}" for k in range(1, 9)),
    cells=(
        "(~1.0) | 0.99 | 0.91 | 0.77 | 0.61 | 0.45 | 0.40 | 0.28",
        "(~1.0) | (~1.0) | 0.96 | 0.83 | 0.67 | 0.49 | 0.42 | 0.29",
        "(~1.0) | (~1.0) | (~1.0) | 0.91 | 0.78 | 0.59 | 0.52 | 0.37",
        "(~1.0) | (~1.0) | (~1.0) | (~1.0) | 0.95 | 0.78 | 0.68 | 0.53",
        "(~1.0) | (~1.0) | (~1.0) | (~1.0) | (~1.0) | 0.88 | 0.80 | 0.62",
        "(~1.0) | (~1.0) | (~1.0) | (~1.0) | (~1.0) | 1.00 | 0.93 | 0.80",
        "1.00 | (~1.0) | (~1.0) | (~1.0) | (~1.0) | 1.00 | 0.99 | 0.88",
        "1.00 | 1.00 | 1.00 | 1.00 | 1.00 | 0.99 | 0.98 | 0.98",
    ),
)
TABLES: Final = {"harm": TABLE1, "transfer": TABLE2, "importance": FIGURE3, "mismatch": FIGURE4}

# -------------------------------------------------------------------------------- paper's sizes


@dataclass(frozen=True)
class Size:
    """One size of an experiment: how it reads (``"{} seeds"``) and the paper's value."""

    text: str
    paper: int | float | str


HARM_SIZES: Final = {  # conf/paper/parameters_harm.yml
    "seeds": Size("{} seeds", PAPER_SEEDS),
    "c_source": Size("C = {}", "CIFAR-10"),
    "n_train": Size("{} training samples", 45_000),
    "n_test": Size("{} test samples", 10_000),
    "object_size": Size("objects of {} px", 12),
    "n_pairs": Size("{} pairs", 10_000),
    "epochs": Size("{} epochs", 50),
    "width": Size("width {}", 1.0),
    "batch_size": Size("batch {}", 512),
    "probe_epochs": Size("{} probe epochs", 200),
    "n_random_pairs": Size("{} random pairs", 10_000),
}
IMPORTANCE_SIZES: Final = {  # conf/paper/parameters_importance.yml
    "seeds": Size("{} seeds", PAPER_SEEDS),
    "pretrain_samples": Size("{} pretraining samples", 50_000),
    "probe_samples": Size("{} target samples", 5_000),
    "n_pretrain_samples": Size("{} pretraining-sample sizes", 5),
    "n_arch": Size("{} architectures", 5),
    "n_classes": Size("{} class relationships", 4),
    "n_probe_samples": Size("{} target-sample sizes", 5),
    "n_test": Size("{} test samples", 10_000),
    "epochs": Size("{} epochs", 50),
    "width": Size("width {}", 1.0),
    "batch_size": Size("batch {}", 512),
    "probe_epochs": Size("{} probe epochs", 200),
}
_REAL_WORLD = {  # the Transforms-2D sizes that real-world grids share
    k: v
    for k, v in IMPORTANCE_SIZES.items()
    if k not in ("pretrain_samples", "probe_samples", "n_test")
}
IMPORTANCE_REAL_WORLD_SIZES: Final = {  # conf/paper/parameters_importance.yml, grid.real_world
    "cifar10": {
        **_REAL_WORLD,
        "pretrain_samples": Size("{} pretraining images per class", 4_500),
        "probe_samples": Size("{} target samples", 22_500),
    },
    "cifar100": {
        **_REAL_WORLD,
        "pretrain_samples": Size("{} pretraining images per class", 450),
        "probe_samples": Size("{} target samples", 22_500),
    },
}
TRANSFER_SIZES: Final = {  # conf/paper/parameters_transfer.yml
    "seeds": Size("{} seeds", PAPER_SEEDS),
    "types": Size("{} types", 18),
    "real_world": Size("real-world data {}", "CIFAR-10, CIFAR-100"),
    "n_train": Size("{} training samples", 50_000),
    "n_pairs": Size("{} pairs", 10_000),
    "epochs": Size("{} epochs", 50),
    "width": Size("width {}", 1.0),
    "batch_size": Size("batch {}", 512),
    "n_random_pairs": Size("{} random pairs", 10_000),
}
MISMATCH_SIZES: Final = {  # conf/paper/parameters_mismatch.yml
    "seeds": Size("{} seeds", PAPER_SEEDS),
    "n_types": Size("{} nested sets", 8),
    "n_train": Size("{} pretraining samples", 50_000),
    "target_n_train": Size("{} target training samples", 50_000),
    "epochs": Size("{} epochs", 50),
    "width": Size("width {}", 1.0),
    "batch_size": Size("batch {}", 512),
    "probe_epochs": Size("{} probe epochs", 200),
}
SIZES: Final = {
    "harm": HARM_SIZES,
    "importance": IMPORTANCE_SIZES,
    "transfer": TRANSFER_SIZES,
    "mismatch": MISMATCH_SIZES,
}


# -------------------------------------------------------------------------- shown in the reports


def _number(value: int | float | str) -> str:
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return str(float(value))


def _size_text(size: Size, value: int | float | str) -> str:
    """``size.text`` of ``value``: "2 seeds", "1 seed"."""
    text = size.text.format(_number(value))
    return text[:-1] if value == 1 and size.text.endswith("s") else text


def recipe_size(training: TrainingParams, probe: ProbeParams | None = None) -> dict[str, float]:
    """The sizes of a run's recipe that ``*_SIZES`` name alike: pretraining epochs, width and
    batch size (the recipe's defaults where a field is unset), and the probe's epochs."""
    config = training.config(0)
    out = {"epochs": config.epochs, "width": training.width, "batch_size": config.batch_size}
    return out if probe is None else {**out, "probe_epochs": probe.config(0).epochs}


def size_line(sizes: Mapping[str, Size], ours: Mapping[str, int | float | str]) -> str:
    """One line: the sizes of this run that differ from the paper's, each with the paper's, or
    that the run is at the paper's size. ``ours`` holds this run's value of every key of
    ``sizes``."""
    differ = [k for k, s in sizes.items() if ours[k] != s.paper]
    if not differ:
        listed = ", ".join(_size_text(s, s.paper) for s in sizes.values())
        return f"**The paper's size**: {listed}.\n"
    smaller = any(
        not isinstance(ours[k], str) and ours[k] < sizes[k].paper  # type: ignore[operator]
        for k in differ
    )
    head = "Reduced size" if smaller else "Not the paper's size"
    listed = ", ".join(
        f"{_size_text(sizes[k], ours[k])} (paper {_number(sizes[k].paper)})" for k in differ
    )
    return f"**{head}** (the paper's in brackets): {listed}. `--env paper` runs the paper's size.\n"


def paper_text(value: float, approx: bool, fmt: str) -> str:
    """One paper value as shown: ``fmt`` of it, ``~`` before it when read as approximate."""
    return ("~" if approx else "") + fmt.format(value)


def beside(
    mean: pd.DataFrame,
    sd: pd.DataFrame | None,
    paper: pd.DataFrame,
    fmt: str,
    paper_fmt: str,
    approx: pd.DataFrame | None = None,
    labels: Mapping[Hashable, str] | None = None,
) -> pd.DataFrame:
    """Cells ``ours ± sd (paper x)`` for ``markdown_table(cells, fmt="{}")``: ours as
    ``mean_sd_text`` writes it (the value alone with one seed), then the paper's value of the
    same row and column of ``paper`` (nothing where it has none), marked ``paper`` or, for a
    column of ``labels``, its label (``paper CIFAR-10`` beside a stand-in)."""
    out = pd.DataFrame(index=mean.index, columns=mean.columns, dtype=object)
    for r in mean.index:
        for c in mean.columns:
            ours = mean_sd_text(mean.loc[r, c], None if sd is None else sd.loc[r, c], fmt)
            has = r in paper.index and c in paper.columns and not pd.isna(paper.loc[r, c])
            near = bool(approx.loc[r, c]) if has and approx is not None else False
            label = (labels or {}).get(c, "paper")
            theirs = f" ({label} {paper_text(paper.loc[r, c], near, paper_fmt)})" if has else ""
            out.loc[r, c] = (ours + theirs).strip()
    out.index.name = mean.index.name
    return out


def annotate_cells(
    ax: Axes, paper: pd.DataFrame, fmt: str, approx: pd.DataFrame | None = None
) -> None:
    """Write ``(paper x)`` at the bottom of each cell of a heatmap drawn on ``ax`` (rows and
    columns in ``paper``'s order), on a light box so it reads on any colour."""
    for i, r in enumerate(paper.index):
        for j, c in enumerate(paper.columns):
            if pd.isna(paper.loc[r, c]):
                continue
            near = bool(approx.loc[r, c]) if approx is not None else False
            ax.text(
                j,
                i + 0.36,
                f"(paper {paper_text(paper.loc[r, c], near, fmt)})",
                ha="center",
                va="center",
                fontsize=6,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7},
            )


def mark_paper(ax: Axes, x: np.ndarray, values: np.ndarray, label: str = "paper") -> None:
    """The paper's values as black bars across ``x`` (a bar chart's positions); NaN: none."""
    values = np.asarray(values, dtype=float)
    keep = ~np.isnan(values)
    if keep.any():
        ax.scatter(
            np.asarray(x)[keep], values[keep], marker="_", s=260, linewidths=2,
            color="black", zorder=4, label=label,
        )  # fmt: skip
