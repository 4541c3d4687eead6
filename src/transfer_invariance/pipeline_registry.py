"""Project pipelines: the six stage pipelines of the user's study, ``study``, and the experiments.

The study's stages (one namespace per dataset or model) and the experiments' grids (one namespace
per grid point) are built from the parameters of the run's environment: ``kedro run --env paper``
gets the paper's grids. ``hooks.ProjectSetupHook`` hands this module the parameters of the
run (``--env`` and ``--params`` included) before Kedro asks for the pipelines; without a run
(``kedro registry list``) they are read from ``conf/`` for ``$KEDRO_ENV`` (default: base + local).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kedro.pipeline import Pipeline

from transfer_invariance.experiments import harm, importance, mismatch, transfer
from transfer_invariance.pipelines import (
    finetune,
    generate_data,
    measure_invariance,
    pretrain,
    probe,
    report,
)
from transfer_invariance.pipelines.study import StudyPlan

STAGES = (generate_data, pretrain, probe, finetune, measure_invariance, report)

_parameters: Mapping[str, Any] | None = None


def use_parameters(parameters: Mapping[str, Any] | None) -> None:
    """The parameters the pipelines are built for (set once the run's config is loaded; None forgets them)."""
    global _parameters
    _parameters = parameters


def project_parameters() -> Mapping[str, Any]:
    """The run's parameters, or those of ``conf/`` for ``$KEDRO_ENV`` when no run set them."""
    if _parameters is not None:
        return _parameters
    from kedro.framework.project import settings

    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(Path.cwd() / settings.CONF_SOURCE),
        env=os.environ.get("KEDRO_ENV"),
        **settings.CONFIG_LOADER_ARGS,
    )
    return loader["parameters"]


def register_pipelines() -> dict[str, Pipeline]:
    params = project_parameters()
    plan = StudyPlan.from_parameters(params)
    stages = {stage.__name__.rsplit(".", 1)[-1]: stage.create_pipeline(plan) for stage in STAGES}
    pipelines = {
        **stages,
        "study": sum(stages.values(), Pipeline([])),
        "harm": harm.create_pipeline(params),
        "importance": importance.create_pipeline(params),
        "transfer": transfer.create_pipeline(params),
        "mismatch": mismatch.create_pipeline(params),
    }
    pipelines["__default__"] = pipelines["study"]
    return pipelines
