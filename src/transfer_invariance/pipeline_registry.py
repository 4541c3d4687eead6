"""Project pipelines: the six stage pipelines of the user's study, ``study``, and the experiments.

The study's stages (one namespace per dataset or model) and the experiments' grids (one namespace
per grid point) are built from the parameters of the run's environment: ``kedro run --env paper``
gets the paper's grids. ``hooks.ProjectSetupHook`` hands this module the parameters of the
run (``--env`` and ``--params`` included) before Kedro asks for the pipelines; without a run
(``kedro registry list``) they are read from ``conf/`` for ``$KEDRO_ENV`` (default: base + local).

Only what is asked for is built, so a run reads (and checks) only the parameters of what it runs.
Kedro names the pipelines it is about to ask for (``kedro run --pipeline=harm``,
``kedro registry describe harm``) before it first reads them; ``study`` and ``__default__`` bring
their six stages. When Kedro names none (``kedro run``, ``kedro registry list``, kedro viz, a
notebook), every pipeline is built, but an experiment whose parameters are wrong is left out
with one warning line: running it reports the error.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
from collections.abc import Collection, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from kedro.pipeline import Pipeline

from transfer_invariance.errors import UserError, install_user_error_report
from transfer_invariance.pipelines import (
    finetune,
    generate_data,
    measure_invariance,
    pretrain,
    probe,
    report,
)
from transfer_invariance.pipelines.study import StudyPlan

logger = logging.getLogger(__name__)

STAGES = (generate_data, pretrain, probe, finetune, measure_invariance, report)
STAGE_NAMES = tuple(stage.__name__.rsplit(".", 1)[-1] for stage in STAGES)
STUDY = ("study", "__default__")  # the sum of the six stages

_parameters: Mapping[str, Any] | None = None  # None: read conf/
_follow_request = True  # build only what Kedro asks for; False: build every pipeline


def use_parameters(parameters: Mapping[str, Any] | None, *, follow_request: bool = False) -> None:
    """The parameters the pipelines are built for (None: forget them, as before any run).

    ``follow_request``: Kedro is about to ask for pipelines (the project's hook), so only those
    it names are built. A direct caller (a test) gets every pipeline, whatever an earlier run in
    the same process asked Kedro for.
    """
    global _parameters, _follow_request
    _parameters = parameters
    _follow_request = follow_request or parameters is None


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


def find_experiments() -> dict[str, ModuleType]:
    """Every experiment by name: each package under ``transfer_invariance.experiments`` that
    has a ``create_pipeline`` (adding an experiment is adding its folder; see
    ``docs/adding_an_experiment.md``)."""
    import transfer_invariance.experiments as package

    found = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.ispkg:
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            if hasattr(module, "create_pipeline"):
                found[info.name] = module
    return found


def requested_pipelines() -> list[str] | None:
    """The pipelines Kedro is about to ask for (``set_requested``), or None for all of them."""
    from kedro.framework.project import pipelines

    return pipelines._requested_pipelines  # what Kedro's own find_pipelines reads


def register_pipelines() -> dict[str, Pipeline]:
    """Kedro's entry point: the pipelines Kedro asks for, or every pipeline. A user error ends
    the command with its message only, also without a run (``kedro registry describe``)."""
    install_user_error_report()
    return build_pipelines(requested_pipelines() if _follow_request else None)


def build_pipelines(requested: Collection[str] | None = None) -> dict[str, Pipeline]:
    """The ``requested`` pipelines (unknown names ignored); None: every pipeline, less the
    experiments whose parameters are wrong (one warning line each). A wrong parameter of a
    requested pipeline, or of the study, raises its ``UserError``."""
    params = project_parameters()
    experiments = find_experiments()
    everything = {*STAGE_NAMES, *STUDY, *experiments}
    wanted = everything if requested is None else set(requested)
    if wanted & set(STUDY):
        wanted |= set(STAGE_NAMES + STUDY)

    pipelines: dict[str, Pipeline] = {}
    if wanted & set(STAGE_NAMES):
        plan = StudyPlan.from_parameters(params)
        for name, stage in zip(STAGE_NAMES, STAGES, strict=True):
            if name in wanted:
                pipelines[name] = stage.create_pipeline(plan)
    if wanted & set(STUDY):
        study = sum((pipelines[name] for name in STAGE_NAMES), Pipeline([]))
        pipelines.update(dict.fromkeys(STUDY, study))
    for name, experiment in experiments.items():
        if name not in wanted:
            continue
        try:
            pipelines[name] = experiment.create_pipeline(params)
        except UserError as err:
            if requested is not None:
                raise
            logger.warning("Pipeline '%s' left out: %s", name, " ".join(str(err).split()))
    return pipelines
