"""Metric tables (mean and standard deviation over seeds, Markdown) and the verdicts of findings.

Every finding of every report is stated in one vocabulary (``verdict``, ``combine``):

- **holds**: the paper's sign, by at least ``K_SD`` standard deviations of the seed spread;
- **direction only**: the paper's sign, within ``K_SD`` sd;
- **does not hold**: the opposite sign (or no effect);
- **not measured**: a value is missing (the cell is named) or there is one seed, so no spread.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

K_SD = 1.0  # a finding holds when its effect is at least K_SD sd of its spread over seeds
HOLDS, DIRECTION_ONLY, DOES_NOT_HOLD, NOT_MEASURED = (
    "holds",
    "direction only",
    "does not hold",
    "not measured",
)
VERDICT_RULE = (
    f"Verdicts: **holds** = the paper's sign by at least k = {K_SD:g} sd of the spread over "
    f"seeds; **direction only** = the paper's sign, within {K_SD:g} sd; **does not hold** = the "
    "opposite sign; **not measured** = a value is missing or there is one seed (no spread)."
)


FINDINGS_HEADING = "### Findings (checked against the numbers above)"


def findings_section(lines: Sequence[str]) -> str:
    """The findings block of a report: the heading, the verdict rule, then one entry per line."""
    return "\n".join([FINDINGS_HEADING + "\n", VERDICT_RULE + "\n", *lines]) + "\n"


@dataclass(frozen=True)
class Verdict:
    """The state of one finding (or one part of it) and the effect it rests on.

    ``effect`` is signed so that > 0 is the paper's direction; ``spread`` is its sd over seeds
    (NaN with one seed); ``reason`` names what is missing, or what failed in a combined verdict.
    """

    state: str
    effect: float = math.nan
    spread: float = math.nan
    reason: str = ""

    @property
    def holds(self) -> bool:
        return self.state == HOLDS

    def margin(self, fmt: str = "{:.1f}") -> str:
        """``"margin 18.6, 1.9 sd"`` (or why there is no margin in sd)."""
        if math.isnan(self.effect):
            return "no margin: a value is missing"
        text = f"margin {fmt.format(self.effect)}"
        if math.isnan(self.spread):
            return text + ", one seed: no spread"
        if self.spread == 0:
            return text + ", no spread over seeds"
        return text + f", {self.effect / self.spread:.1f} sd"

    def __str__(self) -> str:
        return f"**{self.state}**" + (f" ({self.reason})" if self.reason else "")


def verdict(
    effect: float, spread: float, n_seeds: int, missing: Sequence[str] = (), k: float = K_SD
) -> Verdict:
    """The verdict of an effect measured in the paper's direction (> 0: the paper's sign).

    ``missing`` names cells that have no value (e.g. ``"C/C on O/O, seed 3"``): then, or when
    ``effect`` is NaN, the finding is not measured. With fewer than two seeds it is not measured
    either (no spread to compare with), whatever the sign.
    """
    if missing:
        return Verdict(NOT_MEASURED, effect, spread, "missing: " + ", ".join(missing))
    if effect is None or math.isnan(effect):
        return Verdict(NOT_MEASURED, math.nan, spread, "missing value")
    if n_seeds < 2 or spread is None or math.isnan(spread):
        sign = "in the paper's direction" if effect > 0 else "against the paper's direction"
        return Verdict(NOT_MEASURED, effect, math.nan, f"one seed: no spread; {sign}")
    if effect <= 0:
        return Verdict(DOES_NOT_HOLD, effect, spread)
    return Verdict(HOLDS if effect >= k * spread else DIRECTION_ONLY, effect, spread)


def compare(
    smaller: float,
    larger: float,
    sd_smaller: float,
    sd_larger: float,
    n_seeds: int,
    cells: tuple[str, str] = ("", ""),
) -> Verdict:
    """The verdict of "``smaller`` < ``larger``" (means over seeds, independent spreads): effect
    ``larger - smaller``, spread ``hypot(sd_smaller, sd_larger)``. ``cells`` names the two
    values, for "not measured"."""
    missing = [
        name or "a value" for name, v in zip(cells, (smaller, larger), strict=True) if _nan(v)
    ]
    return verdict(larger - smaller, math.hypot(sd_smaller, sd_larger), n_seeds, missing)


def paired_verdict(differences: pd.Series, name: str = "") -> Verdict:
    """The verdict of paired per-seed differences (> 0: the paper's direction): their mean
    against their sd over seeds. A NaN difference (one side lacks that seed) is missing."""
    missing = [f"{name} seed {s}".strip() for s, v in differences.items() if _nan(v)]
    values = differences.dropna()
    if values.empty:
        return verdict(math.nan, math.nan, 0, missing or [name or "every seed"])
    spread = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    return verdict(float(values.mean()), spread, len(values), missing)


def combine(parts: Mapping[str, Verdict]) -> Verdict:
    """One verdict for a finding made of several parts (values, data kinds, comparisons): it
    holds only where every part holds. Does not hold if any part does not; else not measured if
    any part is; else direction only if any part is. The reason names those parts; the effect
    and spread are those of the first of them (of a verdict that holds: of the part with the
    smallest margin)."""
    if not parts:
        return Verdict(NOT_MEASURED, reason="nothing to check")
    for state in (DOES_NOT_HOLD, NOT_MEASURED, DIRECTION_ONLY):
        names = [name for name, v in parts.items() if v.state == state]
        if names:
            worst = next(v for v in parts.values() if v.state == state)
            reasons = [f"{n}: {parts[n].reason}" if parts[n].reason else n for n in names]
            return Verdict(state, worst.effect, worst.spread, f"{state} at " + "; ".join(reasons))
    weakest = min(parts.values(), key=lambda v: v.effect / v.spread if v.spread else math.inf)
    return Verdict(HOLDS, weakest.effect, weakest.spread)


def normalisation_note(normalisation: str) -> str:
    """One sentence saying how the pretrained models normalised their inputs."""
    how = {
        "dataset": "with each pretraining set's own per-channel mean and sd",
        "fixed": "with mean 0.5 and sd 0.5 per channel, as the original code",
    }[normalisation]
    return f"Inputs normalised {how} (`training.normalisation: {normalisation}`)."


def _nan(value: object) -> bool:
    try:
        return value is None or math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def mean_sd(
    metrics: pd.DataFrame,
    index: str,
    columns: str,
    value: str,
    index_order: Sequence[str] | None = None,
    column_order: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pivot ``value`` to index x columns: mean and sample standard deviation over seeds (NaN
    where a cell has one seed: no spread was measured)."""
    missing = {index, columns, value} - set(metrics.columns)
    if missing:
        raise ValueError(
            f"metrics table lacks column(s) {sorted(missing)}; it has {list(metrics.columns)}."
        )
    grouped = metrics.groupby([index, columns])[value]
    mean = grouped.mean().unstack(columns)
    sd = grouped.std(ddof=1).unstack(columns)
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
    """A GitHub-flavoured Markdown table of ``mean ± sd`` (the value alone where sd is NaN: one
    seed, no spread; never "± 0.0" for a spread that was not measured)."""
    header = (
        "| "
        + " | ".join([corner or str(mean.index.name or "")] + [str(c) for c in mean.columns])
        + " |"
    )
    sep = "|" + "|".join(["---"] * (len(mean.columns) + 1)) + "|"
    lines = [header, sep]
    for row in mean.index:
        cells = [
            mean_sd_text(mean.loc[row, col], None if sd is None else sd.loc[row, col], fmt)
            for col in mean.columns
        ]
        lines.append("| " + " | ".join([str(row)] + cells) + " |")
    return "\n".join(lines) + "\n"


def mean_sd_text(mean: float, sd: float | None, fmt: str = "{:.1f}", sep: str = " ± ") -> str:
    """One cell of a table or heatmap: ``mean ± sd``, the mean alone where ``sd`` is None or NaN
    (one seed: no spread was measured, so never "± 0.0"), and nothing where the mean is NaN."""
    if pd.isna(mean):
        return ""
    if sd is None or pd.isna(sd):
        return fmt.format(mean)
    return fmt.format(mean) + sep + fmt.format(sd)


def own_task_accuracy(
    pretrain_metrics: pd.DataFrame, names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Each model's test accuracy (%) on its own pretraining task, mean and sd over seeds (columns
    ``mean``, ``sd``; sd NaN with one seed), from the pretrain stage's metrics collected with a
    ``model`` column; ``names`` relabels the models and orders the rows."""
    acc = pretrain_metrics.assign(acc=100 * pretrain_metrics["test_acc"])
    table = acc.groupby("model")["acc"].agg(["mean", "std"]).rename(columns={"std": "sd"})
    if names is not None:
        table = table.reindex(list(names)).rename(index=dict(names))
    return table


def own_task_line(table: pd.DataFrame) -> str:
    """One sentence of each model's own-task accuracy (``own_task_accuracy``): a finding on a
    model that did not learn its task is not the paper's finding."""
    cells = ", ".join(f"{m} {mean_sd_text(r['mean'], r['sd'])}" for m, r in table.iterrows())
    return f"Each model's test accuracy on its own pretraining task (%): {cells}."


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
