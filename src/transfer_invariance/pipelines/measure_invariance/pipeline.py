"""measure_invariance template: ``checkpoints`` + one ``<name>_pairs`` per pair set -> ``sensitivity``.

Pair sets are generated once (generate_data) and shared by every model evaluated on them.
"""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import bind
from transfer_invariance.pipelines.measure_invariance import nodes


def create_pipeline(label: str, pair_sets: Sequence[str]) -> Pipeline:
    """Measure the condition's models on every pair set (inputs ``<name>_pairs``)."""
    inputs = {
        "checkpoints": "checkpoints",
        "invariance": "params:invariance",
        **{p: f"{p}_pairs" for p in pair_sets},
    }
    return Pipeline(
        [
            node(
                bind(nodes.measure_sensitivity, label=label),
                inputs,
                "sensitivity",
                name="measure_sensitivity",
            )
        ]
    )
