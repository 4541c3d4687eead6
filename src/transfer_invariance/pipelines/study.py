"""A user's own study: which datasets, models, targets and tables the stage pipelines are built for.

The stage parameter files (``conf/<env>/parameters_<stage>.yml``) name the study's parts; the
pipeline registry reads them through ``StudyPlan.from_parameters`` to create one namespace per
dataset and per model. The values inside each block (sizes, epochs, ...) are checked later by the
blocks' types; this module checks only that the names refer to each other correctly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from transfer_invariance.errors import ParameterError

STAGE_METRICS = {
    "probe": "probe_metrics",
    "finetune": "finetune_metrics",
    "measure_invariance": "sensitivity",
}


class StudyError(ParameterError):
    """The study's parameter files name something that does not exist."""


def _block(params: Mapping[str, Any], path: str) -> Mapping[str, Any]:
    node: Any = params
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return {}
        node = node[part]
    if not isinstance(node, Mapping):
        raise StudyError(f"parameter '{path}' must be a mapping, got {node!r}.")
    return node


def _names(value: Any, path: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise StudyError(f"parameter '{path}' must list dataset names, got {value!r}.")
    return value


def _identifier(name: str, path: str) -> str:
    if not name.isidentifier():
        raise StudyError(
            f"'{path}.{name}': names of datasets and models must be Python identifiers "
            "(letters, digits, underscores), because they name namespaces and node arguments."
        )
    return name


@dataclass(frozen=True)
class StudyPlan:
    """The names of a study: datasets (with or without pairs), models and what each is used for."""

    datasets: dict[str, bool]  # dataset -> has invariance pairs
    models: dict[str, str]  # model -> the dataset it is pretrained on
    probe: dict[str, list[str]]  # model -> target datasets
    finetune: dict[str, list[str]]  # model -> target datasets
    invariance: dict[str, list[str]]  # model -> datasets whose pairs it is measured on
    tables: dict[str, str]  # report table -> the stage whose metrics it shows

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any]) -> StudyPlan:
        """Read the plan from the merged parameters; unknown references are errors."""
        datasets = {
            _identifier(name, "generate_data"): bool(
                isinstance(spec, Mapping) and spec.get("pairs") is not None
            )
            for name, spec in _block(params, "generate_data").items()
        }
        models = {}
        for name, entry in _block(params, "pretrain.models").items():
            _identifier(name, "pretrain.models")
            data = entry.get("data") if isinstance(entry, Mapping) else None
            if data not in datasets:
                raise StudyError(
                    f"parameter 'pretrain.models.{name}.data' = {data!r} is not a dataset of "
                    f"generate_data (known: {sorted(datasets)})."
                )
            models[name] = data

        def uses(stage: str, need_pairs: bool = False) -> dict[str, list[str]]:
            out = {}
            for model, targets in _block(params, f"{stage}.models").items():
                path = f"{stage}.models.{model}"
                if model not in models:
                    raise StudyError(
                        f"parameter '{path}': {model!r} is not a model of pretrain.models "
                        f"(known: {sorted(models)})."
                    )
                names = _names(targets, path)
                for t in names:
                    if t not in datasets:
                        raise StudyError(
                            f"parameter '{path}': {t!r} is not a dataset of generate_data "
                            f"(known: {sorted(datasets)})."
                        )
                    if need_pairs and not datasets[t]:
                        raise StudyError(
                            f"parameter '{path}': dataset {t!r} has no pairs; add "
                            f"'generate_data.{t}.pairs' (e.g. {{split: test, n: 1000}})."
                        )
                out[model] = names
            return out

        probe = uses("probe")
        finetune = uses("finetune")  # trains its own starting probes: needs no probe stage
        tables = {}
        for name, table in _block(params, "report.tables").items():
            stage = table.get("metrics") if isinstance(table, Mapping) else None
            if stage not in STAGE_METRICS:
                raise StudyError(
                    f"parameter 'report.tables.{name}.metrics' must be one of "
                    f"{sorted(STAGE_METRICS)}, got {stage!r}."
                )
            tables[_identifier(name, "report.tables")] = stage
        return cls(
            datasets=datasets,
            models=models,
            probe=probe,
            finetune=finetune,
            invariance=uses("measure_invariance", need_pairs=True),
            tables=tables,
        )

    def stage_models(self, stage: str) -> dict[str, list[str]]:
        """The models a metrics stage evaluates, with their datasets."""
        return {"probe": self.probe, "finetune": self.finetune}.get(stage, self.invariance)
