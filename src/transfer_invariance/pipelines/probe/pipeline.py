"""probe template: ``checkpoints`` + one ``<target>_data`` per target -> ``probe_metrics``, ``probes``."""

from __future__ import annotations

from collections.abc import Sequence

from kedro.pipeline import Pipeline, node

from transfer_invariance.pipelines.common import bind
from transfer_invariance.pipelines.probe import nodes


def create_pipeline(label: str, targets: Sequence[str]) -> Pipeline:
    """Probe the condition's models on every target dataset (inputs ``<target>_data``)."""
    inputs = {
        "checkpoints": "checkpoints",
        "probe_params": "params:probe",
        **{t: f"{t}_data" for t in targets},
    }
    return Pipeline(
        [
            node(
                bind(nodes.probe_models, label=label),
                inputs,
                ["probe_metrics", "probes"],
                name="probe_models",
            )
        ]
    )
