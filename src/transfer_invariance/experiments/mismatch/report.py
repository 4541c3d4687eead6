"""Nodes reporting mismatch: the nested-set accuracy table, Figure 4 and the findings in words.

Written to ``data/08_reporting/mismatch/`` and logged as MLflow artifacts of the run. Every finding
is a per-seed statistic of the table (so its spread over seeds is known), stated with its mean, its
standard deviation over seeds and the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from transfer_invariance.core.plotting import heatmap_figure
from transfer_invariance.core.reporting import (
    DOES_NOT_HOLD,
    NOT_MEASURED,
    findings_section,
    long_table,
    markdown_table,
    mean_sd,
    normalisation_note,
    own_task_accuracy,
    own_task_line,
    verdict,
)
from transfer_invariance.experiments import paper_reference as paper
from transfer_invariance.experiments.mismatch.params import MismatchDataParams
from transfer_invariance.pipelines.params import ProbeParams, TrainingParams

# (b) "almost as well": at most this many accuracy points below the exact match;
# (c) "far worse": at least this many points below it (docs/deviations.md, mismatch)
ALMOST_POINTS = 5.0
FAR_POINTS = 10.0


def t_quantile(p: float, df: int) -> float:
    """The ``p``-quantile (0.5 <= p < 1) of Student's t with ``df`` degrees of freedom: bisection
    on its CDF, the density integrated numerically (exact to about 1e-6 for the 95% intervals)."""
    if not 0.5 <= p < 1 or df < 1:
        raise ValueError(f"need 0.5 <= p < 1 and df >= 1, got p={p}, df={df}")
    scale = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf(t: float) -> float:
        x = np.linspace(0.0, t, 40001)
        return 0.5 + float(np.trapezoid(scale * (1 + x * x / df) ** (-(df + 1) / 2), x))

    low, high = 0.0, 1.0
    while cdf(high) < p:
        low, high = high, 2 * high
    for _ in range(50):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < p else (low, mid)
    return (low + high) / 2


def ci95_factor(n_seeds: int) -> float:
    """Half-width of the 95% interval of a mean over ``n_seeds`` seeds (Student's t), in sd of
    the seeds; 0 for one seed."""
    return t_quantile(0.975, n_seeds - 1) / math.sqrt(n_seeds) if n_seeds > 1 else 0.0


def _label(name: str) -> str:
    return name.upper()  # t3 -> T3


def run_size(
    n_seeds: int,
    n_types: int,
    data: MismatchDataParams,
    training: TrainingParams,
    probe: ProbeParams,
) -> dict[str, int | float | str]:
    """This run's value of every size of ``paper_reference.MISMATCH_SIZES``."""
    return {
        "seeds": n_seeds,
        "n_types": n_types,
        "n_train": data.pretraining.n_train,
        "target_n_train": data.target.n_train,
        **paper.recipe_size(training, probe),
    }


def accuracy_table(
    probe_metrics: pd.DataFrame,
    pretrain_metrics: pd.DataFrame,
    types: pd.DataFrame,
    training: TrainingParams,
    data: MismatchDataParams,
    probe: ProbeParams,
) -> tuple[pd.DataFrame, str, Figure, Figure]:
    """The table (rows: pretraining set T_k, columns: target T_j; test accuracy of the linear
    probe, mean ± sd over seeds, each cell beside the paper's Figure 4) as CSV, Markdown with the
    findings, each model's own-task accuracy (``pretrain_metrics``), the input normalisation of
    ``training`` and how far the run's size (``data``, ``training``, ``probe``) is from the
    paper's, a heatmap and Figure 4."""
    names = sorted(
        pretrain_metrics["model"].unique(), key=lambda name: int(name.removeprefix("t"))
    )  # t1 .. t<n>
    labels = [_label(n) for n in names]
    acc = probe_metrics.assign(
        model=probe_metrics["model"].map(_label),
        target=probe_metrics["target"].map(_label),
        test_acc=probe_metrics["test_acc"] * 100,
    )
    mean, sd = mean_sd(acc, "model", "target", "test_acc", labels, labels)
    for frame in (mean, sd):
        frame.index.name, frame.columns.name = "pretraining set", "target"
    n_seeds = int(acc["seed"].nunique())
    half = sd * ci95_factor(n_seeds)
    # the paper's top-left block T1..T<n> (it has 8 sets: none beyond)
    theirs = paper.FIGURE4.means(100).reindex(index=labels, columns=labels)
    hidden = paper.FIGURE4.approximate().reindex(index=labels, columns=labels, fill_value=False)
    csv = long_table(mean, sd, "test_acc").merge(
        half.stack().rename("test_acc_ci95").reset_index(), on=["pretraining set", "target"]
    )
    csv.insert(2, "n_seeds", n_seeds)
    own = own_task_accuracy(pretrain_metrics, {n: _label(n) for n in names})
    per_seed = {
        s: group.pivot(index="model", columns="target", values="test_acc").loc[labels, labels]
        for s, group in acc.groupby("seed")
    }
    md = (
        f"## Invariance mismatch (Section 5.2, Figure 4): {len(names)} nested sets\n\n"
        "Rows: the pretraining set T_k (the first k types of the seed's drawn order); columns: the "
        "target T_j. Linear-probe test accuracy (%) on the target, mean ± sd over "
        f"{n_seeds} seed(s); the diagonal is the exact match, above it the pretraining set misses "
        "some of the target's types, below it it has extra ones. "
        f"{normalisation_note(training.normalisation)}\n\n"
        "In brackets: the paper's Figure 4 (%, ResNet-18, 10 seeds, read from its plot to about "
        "±1 point; ~100: the line is hidden under others at the top"
        + (f"; its top-left {len(labels)} x {len(labels)} block" if len(labels) < 8 else "")
        + ("; it has 8 sets, none beyond T8" if len(labels) > 8 else "")
        + "; `experiments/paper_reference.py` says where its numbers come from).\n\n"
        + paper.size_line(
            paper.MISMATCH_SIZES, run_size(n_seeds, len(labels), data, training, probe)
        )
        + "\n"
        + markdown_table(
            paper.beside(mean, sd, theirs, "{:.1f}", "{:.0f}", approx=hidden),
            fmt="{}",
            corner="pretrained on \\ target",
        )
        + "\n"
        + own_task_line(own)
        + "\n\n"
        + findings(per_seed, own["mean"])
        + "\nFigure 4 (`figure4.png`) draws the columns of the table against k with 95% intervals "
        + (
            f"(Student's t over {n_seeds} seeds: ± {ci95_factor(n_seeds):.1f} sd)"
            if n_seeds > 1
            else "(none with one seed)"
        )
        + "; `table.png` is the table as a heatmap.\n"
        + "\nDrawn orders (T_k adds the k-th type): "
        + "; ".join(
            f"seed {s}: {', '.join(group.sort_values('k')['type'])}"
            for s, group in types.groupby("seed")
        )
        + ".\n"
    )
    heat = heatmap_figure(
        mean.to_numpy(),
        labels,
        labels,
        f"Linear-probe test accuracy (%), mean ± sd over {n_seeds} seed(s); "
        "(paper x): the paper's Figure 4",
        errors=sd.to_numpy(),
        xlabel="target T_j",
        ylabel="pretraining set T_k",
        vmin=0,
        vmax=100,
    )
    paper.annotate_cells(heat.axes[0], theirs, "{:.0f}", approx=hidden)
    return csv, md, heat, figure4(mean, half, n_seeds, theirs)


def figure4(mean: pd.DataFrame, half: pd.DataFrame, n_seeds: int, theirs: pd.DataFrame) -> Figure:
    """Figure 4: accuracy on each target T_j against the pretraining set T_k, one curve per target
    with its 95% intervals (error bars, shifted apart a little), the exact match k = j starred;
    the paper's curves (``theirs``, same table shape) dashed in the same colours."""
    import matplotlib.pyplot as plt

    n = len(mean.index)
    k = np.arange(1, n + 1)
    fig, ax = plt.subplots(figsize=(8.5, 5.2))
    for j, target in enumerate(mean.columns):
        x = k + 0.06 * (j - (n - 1) / 2)
        y = mean[target].to_numpy()
        low = np.minimum(half[target].to_numpy(), y)  # intervals drawn inside 0..100
        high = np.minimum(half[target].to_numpy(), 100 - y)
        line = ax.errorbar(
            x, y, yerr=[low, high], marker="o", markersize=4, capsize=2, elinewidth=0.8
        )
        ax.plot(x[j], y[j], marker="*", markersize=14, color=line.lines[0].get_color())
        line.set_label(f"target {target}")
        ax.plot(k, theirs[target], ls="--", lw=1, alpha=0.6, color=line.lines[0].get_color())
    interval = f"95% intervals over {n_seeds} seeds" if n_seeds > 1 else "one seed, no interval"
    ax.set_title(
        f"Transfer to T_j from pretraining on T_k ({interval}; star: k = j; dashed: the paper's)",
        fontsize=10,
    )
    ax.set_xlabel("pretraining set T_k (the first k types)")
    ax.set_ylabel("linear-probe test accuracy on T_j (%)")
    ax.set_xticks(k, list(mean.index))
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


# -------------------------------------------------------------------------------------- findings


def _cells(n: int, keep: Callable[[int, int], bool]) -> list[tuple[int, int]]:
    """(k, j) index pairs (0-based: pretraining set k, target j) of the table that ``keep``."""
    return [(k, j) for j in range(n) for k in range(n) if keep(k, j)]


def _statistic(per_seed: dict, stat: Callable[[np.ndarray], float]) -> tuple[float, float]:
    values = [stat(table.to_numpy()) for table in per_seed.values()]
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    return float(np.mean(values)), sd


def findings(per_seed: dict[int, pd.DataFrame], own_task: pd.Series | None = None) -> str:
    """The paper's findings (a)-(c), each checked against the per-seed tables (accuracy in %, rows
    pretraining set T_k, columns target T_j, in k order), in the one verdict vocabulary of
    ``core.reporting``.

    Each is a per-seed statistic; its mean over seeds is compared with its sd over seeds.
    (a) the mean gain of one step k -> k+1 towards the target (k + 1 <= j): > 0;
    (b) the exact match minus the pretraining sets with extra types (k > j): at most
        ``ALMOST_POINTS`` (the effect is ``ALMOST_POINTS`` minus that cost);
    (c) the exact match minus the sets missing most of the target's types (k < j / 2): at least
        ``FAR_POINTS`` (the effect is that gap minus ``FAR_POINTS``).
    A cell missing in any seed's table makes the findings that use it "not measured", naming it.
    ``own_task`` (each model's accuracy on its own pretraining task, in k order) explains a failed
    (b) when the larger sets are the ones their models learned worst.
    """
    n = next(iter(per_seed.values())).shape[0]
    n_seeds = len(per_seed)
    steps = _cells(n, lambda k, j: k + 1 <= j)
    extra = _cells(n, lambda k, j: k > j)
    missing = _cells(n, lambda k, j: 2 * (k + 1) < j + 1)
    labels = list(next(iter(per_seed.values())).index)

    def absent(pairs: list[tuple[int, int]], other: Callable[[int, int], int]) -> list[str]:
        """The cells a statistic reads (each (k, j) and its (other(k, j), j)) that some seed's
        table lacks."""
        used = sorted({c for k, j in pairs for c in ((k, j), (other(k, j), j))})
        return [
            f"{labels[k]} on {labels[j]}, seed {seed}"
            for seed, table in per_seed.items()
            for k, j in used
            if np.isnan(table.to_numpy()[k, j])
        ]

    rise, rise_sd = _statistic(
        per_seed, lambda a: np.mean([a[k + 1, j] - a[k, j] for k, j in steps])
    )
    cost, cost_sd = _statistic(per_seed, lambda a: np.mean([a[j, j] - a[k, j] for k, j in extra]))
    gap, gap_sd = (
        _statistic(per_seed, lambda a: np.mean([a[j, j] - a[k, j] for k, j in missing]))
        if missing
        else (float("nan"), float("nan"))
    )
    mean = sum(per_seed.values()) / len(per_seed)
    m = mean.to_numpy()
    rising = sum(m[k + 1, j] > m[k, j] for k, j in steps)
    exact = np.diag(m)
    lines = []
    v_a = verdict(rise, rise_sd, n_seeds, absent(steps, lambda k, j: k + 1))
    lines.append(
        "(a) For a target T_j, accuracy rises as the pretraining set grows towards T_j: one more of "
        f"the target's types (T_k -> T_(k+1), k + 1 <= j) adds {rise:+.1f} points on average "
        f"({v_a.margin()}); {rising} of the {len(steps)} steps rise in the mean table: {v_a}."
    )
    v_b = verdict(ALMOST_POINTS - cost, cost_sd, n_seeds, absent(extra, lambda k, j: j))
    lines.append(
        "(b) A pretraining set that covers the target's types (k > j) transfers almost as well as "
        f"the exact match (k = j): it loses {cost:+.1f} points against it on average (negative: "
        f"gains; 'almost' = at most {ALMOST_POINTS:.0f} points below: {v_b.margin()})"
        + (f", against {gap:.1f} points for the sets missing most types" if missing else "")
        + f": {v_b}."
    )
    if v_b.state == DOES_NOT_HOLD and own_task is not None and own_task.iloc[-1] < own_task.iloc[0]:
        lines.append(
            "    The sets with extra types are also the ones their models learned worst (accuracy "
            f"on their own pretraining task: {own_task.index[0]} {own_task.iloc[0]:.1f}%, "
            f"{own_task.index[-1]} {own_task.iloc[-1]:.1f}%): at this size a model pretrained on "
            "more types is less trained, not only invariant to more."
        )
    if not missing:
        lines.append(
            "(c) A pretraining set missing most of the target's types (k < j / 2) needs at least "
            f"3 nested sets; with {n} it is **{NOT_MEASURED}**."
        )
        return findings_section(lines)
    v_c = verdict(gap - FAR_POINTS, gap_sd, n_seeds, absent(missing, lambda k, j: j))
    lines.append(
        "(c) A pretraining set missing most of the target's types (k < j / 2) transfers far worse: "
        f"{gap:.1f} points below the exact match on average ('far' = at least {FAR_POINTS:.0f} "
        f"points: {v_c.margin()}); exact matches reach {exact.mean():.1f}% on average: {v_c}."
    )
    return findings_section(lines)
