"""report template: metric tables -> ``metrics`` (all rows) and one table + figure per ``params:tables`` entry."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.report import nodes


def create_pipeline(
    tables: Sequence[str], inputs: Sequence[str], name: str = "metrics"
) -> Pipeline:
    """Concatenate ``inputs`` into ``<name>`` and render each table named in ``tables``.

    Each table ``t`` reads ``params:tables.<t>`` and writes ``<t>_csv``, ``<t>_md``, ``<t>_figure``.
    """
    steps = [node(nodes.collect_metrics, list(inputs), name, name=f"collect_{name}")]
    for t in tables:
        steps.append(
            node(
                nodes.tabulate,
                [name, f"params:tables.{t}"],
                [f"{t}_csv", f"{t}_md", f"{t}_figure"],
                name=f"tabulate_{t}",
            )
        )
    return Pipeline(steps)
