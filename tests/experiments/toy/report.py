"""The toy experiment's report: sensitivity of each model to each type, and the finding."""

from __future__ import annotations

import pandas as pd

from transfer_invariance.core.reporting import (
    VERDICT_RULE,
    combine,
    compare,
    markdown_table,
    mean_sd,
)

from .params import REFERENCE, GridParams


def sensitivity_table(
    sensitivity: pd.DataFrame, pretrain_metrics: pd.DataFrame, grid: GridParams
) -> tuple[pd.DataFrame, str]:
    """Mean ± sd over seeds of the L2 sensitivity (rows: model, columns: pair type), each model's
    own-task accuracy, and the finding: a model pretrained with a type is less sensitive to it
    than the reference model."""
    models = grid.models()
    mean, sd = mean_sd(sensitivity, "model", "pairs", "sensitivity_l2", models, grid.types)
    n_seeds = int(sensitivity["seed"].nunique())
    parts = {
        t: compare(
            mean.loc[t, t], mean.loc[REFERENCE, t], sd.loc[t, t], sd.loc[REFERENCE, t], n_seeds
        )
        for t in grid.types
    }
    finding = combine(parts)
    own = pretrain_metrics.groupby("model")["test_acc"].mean().reindex(models) * 100
    md = (
        f"## Toy: sensitivity to each type (L2), mean ± sd over {n_seeds} seed(s)\n\n"
        + markdown_table(mean, sd, "{:.2f}", corner="pretrained with \\ pairs")
        + "\nOwn-task test accuracy (%): "
        + ", ".join(f"{m} {own[m]:.1f}" for m in models)
        + f".\n\nFinding: a model pretrained with a type is less sensitive to it than `{REFERENCE}`: "
        + f"{finding} ({finding.margin('{:.2f}')}).\n\n{VERDICT_RULE}\n"
    )
    table = mean.stack().rename("sensitivity_l2").reset_index()
    return table, md
