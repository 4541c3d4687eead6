"""Typed parameter blocks of the profile experiment (``conf/base/parameters_profile.yml``).

``profile.grid`` shapes the pipeline: its ``models`` (one namespace ``profile.<name>`` each; a
project model named by its namespace reads ``<namespace>.checkpoints`` as an input), its data
``kinds`` and ``types``. Each model is one of

- ``checkpoint: <namespace>`` (e.g. ``pretrain.rotate_model``, ``transfer.images.rotate``): that
  namespace's stored checkpoints, seed ``seed``;
- ``checkpoint_file: <path>``: one checkpoint file of this project (``.../checkpoints/seed_0.pt``);
- ``arch: <torchvision architecture>`` with ``weights: <state-dict file>``, ``image_size`` and
  ``normalisation``; ``random_init: <seed>`` writes a seeded random initialisation to ``weights``
  when the file is missing (a reference with no training, labelled so in the report).

A project checkpoint carries its own image size and normalisation. ``layer`` (any model): the
module whose output is measured; unset, the penultimate representation.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import torch
from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from transfer_invariance.core import base_images, networks
from transfer_invariance.core.cifar import check_cifar_available
from transfer_invariance.core.real_world import REAL_WORLD_SOURCES
from transfer_invariance.core.scenes import scene_max_classes
from transfer_invariance.core.transforms import TRANSFORM_NAMES
from transfer_invariance.experiments.transfer.params import SYNTHETIC, TransferDataParams
from transfer_invariance.pipelines.common import seed_key
from transfer_invariance.pipelines.params import Block, Name, base_images_of

FLOOR = "none"  # identical members: every deterministic model scores 0 (the floor)
REAL_WORLD = REAL_WORLD_SOURCES
FOLDER = "folder"
KINDS = (*SYNTHETIC, *REAL_WORLD, FOLDER)
Kind = Literal[KINDS]  # type: ignore[valid-type]
RESERVED = (
    "pairs",
    "report",
    "models",
    "sizes",
    "random_weights",
    "grid",
)  # names used in ``profile``
NAMESPACE = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"
DEFAULT_IMAGE_SIZE = 224  # torchvision's classifiers are trained at 224 px
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp")


class MeanStd(Block):
    """A normalisation of its own: per-channel mean and std on the [0, 1] scale."""

    mean: Annotated[list[float], Field(min_length=3, max_length=3)]
    std: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=3, max_length=3)]


class ModelParams(Block):
    """One profiled model (see the module docstring for the three sources)."""

    checkpoint: str | None = None
    checkpoint_file: str | None = None
    seed: NonNegativeInt = 0
    arch: str | None = None
    weights: str | None = None
    random_init: NonNegativeInt | None = None
    image_size: Annotated[int, Field(ge=1)] = DEFAULT_IMAGE_SIZE
    normalisation: Literal["imagenet", "fixed"] | MeanStd = "imagenet"
    layer: Annotated[str, Field(min_length=1)] | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ModelParams:
        given = [f for f in ("checkpoint", "checkpoint_file", "arch") if getattr(self, f)]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of checkpoint (a namespace of this project), checkpoint_file "
                f"(a checkpoint file) or arch (a torchvision architecture); got {given or 'none'}"
            )
        if self.checkpoint and not re.match(NAMESPACE, self.checkpoint):
            raise ValueError(
                f"checkpoint {self.checkpoint!r} is not a namespace of this project (e.g. "
                "pretrain.rotate_model, transfer.images.rotate); a file is checkpoint_file"
            )
        set_ = self.model_fields_set
        if self.arch is None:
            extra = sorted({"weights", "random_init", "image_size", "normalisation"} & set_)
            if extra:
                raise ValueError(
                    f"{extra} are for torchvision models (arch): a checkpoint of this project "
                    "carries its own image size and normalisation"
                )
        else:
            networks.check_architecture(self.arch)
            if self.weights is None:
                raise ValueError(
                    f"arch {self.arch!r} needs weights: the path of its state-dict file "
                    "(nothing is downloaded)"
                )
        if self.checkpoint is None and "seed" in set_:
            raise ValueError(
                "seed picks one of a namespace's checkpoints (checkpoint: <namespace>)"
            )
        return self

    def describe(self) -> str:
        """Where the model comes from, in words (for the report and MLflow)."""
        if self.checkpoint:
            return f"{self.checkpoint} (seed {self.seed})"
        if self.checkpoint_file:
            return f"checkpoint {self.checkpoint_file}"
        text = f"torchvision {self.arch} from {self.weights}"
        if self.random_init is not None:
            text += f" (random initialisation, seed {self.random_init}: not trained)"
        return text

    def mean_std(self) -> tuple[list[float], list[float]]:
        """A torchvision model's input normalisation ([0, 1] scale)."""
        if isinstance(self.normalisation, MeanStd):
            return list(self.normalisation.mean), list(self.normalisation.std)
        mean, std = networks.NAMED_NORMALISATIONS[self.normalisation]
        return list(mean), list(std)

    def checkpoint_of(self, checkpoints: dict[str, Any] | None) -> dict[str, Any]:
        """The project checkpoint to measure: seed ``seed`` of a namespace's stored checkpoints,
        or the file ``checkpoint_file``."""
        if self.checkpoint_file:
            return networks.read_torch_file(self.checkpoint_file, "checkpoint file")
        if checkpoints is None:
            raise ValueError(f"the checkpoints of {self.checkpoint} were not given")
        key = seed_key(self.seed)
        if key not in checkpoints:
            raise ValueError(
                f"{self.checkpoint} has no checkpoint of seed {self.seed}; it has "
                f"{sorted(checkpoints)}: set seed to one of them"
            )
        return checkpoints[key]

    def representation(
        self, checkpoints: dict[str, Any] | None = None, state_dict: dict | None = None
    ) -> tuple[networks.LayerRepresentation, int]:
        """The model as a uint8-input representation at ``layer``, and the image size it is
        measured at. ``state_dict`` replaces the weights file (a torchvision model)."""
        if self.arch is None:
            checkpoint = self.checkpoint_of(checkpoints)
            return networks.checkpoint_representation(checkpoint, self.layer), int(
                checkpoint["image_size"]
            )
        weights = networks.read_state_dict(self.weights) if state_dict is None else state_dict
        network = networks.torchvision_network(self.arch, weights)
        return networks.LayerRepresentation(network, *self.mean_std(), self.layer), self.image_size

    def random_weights(self) -> dict[str, torch.Tensor]:
        """The state dict ``random_init`` stands for; an existing ``weights`` file must be it (so
        that the report's "random initialisation" label is true)."""
        state_dict = networks.random_init_state_dict(str(self.arch), int(self.random_init or 0))
        file = Path(str(self.weights))
        if file.exists():
            stored = networks.read_state_dict(file)
            same = stored.keys() == state_dict.keys() and all(
                torch.equal(stored[k], v) for k, v in state_dict.items()
            )
            if not same:
                raise ValueError(
                    f"weights file '{file}' is not the random initialisation of seed "
                    f"{self.random_init}: remove random_init to profile it as it is, or delete the "
                    "file to have it written again"
                )
        return state_dict

    def check(self, checkpoints: dict[str, Any] | None = None) -> tuple[int, int, str]:
        """Build the model and run one blank image through it: (image size, width of the
        representation, the layer's module name). A missing file, a state dict of another
        architecture, a wrong layer or an image size the architecture cannot take is an error
        here, before any work."""
        state_dict = self.random_weights() if self.random_init is not None else None
        model, size = self.representation(checkpoints, state_dict)
        return size, networks.check_input_size(model, size), model.layer


class GridParams(Block):
    """What is profiled (read when the pipelines are registered: it shapes the DAG).

    ``models``: one namespace ``profile.<name>`` per entry. ``kinds``: the kinds of data, one
    panel each: ``objects`` (Transforms-2D objects on backgrounds), ``other_objects`` (other
    objects of the same draw), ``patterns`` / ``other_patterns`` (random patterns), ``scenes`` (the
    embedded CIFAR stand-in), ``cifar10`` / ``cifar100`` (their test images, where the archives
    are) and ``folder`` (the images under ``profile.data.folder``). ``types``: the transformations
    (default: all 18); ``none``, the floor, is always measured.
    """

    models: Annotated[dict[Name, ModelParams], Field(min_length=1)]
    kinds: Annotated[list[Kind], Field(min_length=1)] = ["objects", "patterns", "scenes"]
    types: Annotated[list[str], Field(min_length=1)] = list(TRANSFORM_NAMES)

    @model_validator(mode="after")
    def _names_and_lists(self) -> GridParams:
        taken = [m for m in self.models if m in RESERVED or "__" in m]
        if taken:
            raise ValueError(
                f"model name(s) {taken} are taken (or hold '__'); the names {list(RESERVED)} "
                "are used by the profile itself"
            )
        twice = {f: v for f in ("kinds", "types") if len(set(v := getattr(self, f))) != len(v)}
        if twice:
            raise ValueError(f"{twice} lists an entry twice")
        if FLOOR in self.types:
            raise ValueError(f"'{FLOOR}' (the floor) is always measured: leave it out of types")
        unknown = sorted(set(self.types) - set(TRANSFORM_NAMES))
        if unknown:
            raise ValueError(f"unknown transformation(s) {unknown}; choose from {TRANSFORM_NAMES}")
        return self

    def all_types(self) -> tuple[str, ...]:
        """The measured types: the floor ``none``, then ``types``."""
        return (FLOOR, *self.types)

    def namespaced(self) -> dict[str, str]:
        """``{model name: namespace}`` of the models that read a namespace's checkpoints."""
        return {name: m.checkpoint for name, m in self.models.items() if m.checkpoint}

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """Every model whose files are here is built and run once (namespaces' checkpoints are
        checked by the run's first node, once Kedro has them)."""
        for name, model in self.models.items():
            if model.checkpoint:
                continue
            try:
                model.check()
            except FileNotFoundError as err:
                raise FileNotFoundError(f"model '{name}': {err}") from None
            except ValueError as err:
                raise ValueError(f"model '{name}': {err}") from None


class ProfileDataParams(Block):
    """The pair sets every model is measured on: ``n_pairs`` per kind and type, at each model's
    image size, all drawn from ``seed`` (the same pairs for every model and every run).

    ``objects``: the first ``n_objects`` of the object draw of ``seed`` (with the defaults, the
    study's pretraining objects); ``other_objects``: the next ``n_objects``; ``patterns``: random
    patterns of ``seed``; ``other_patterns``: patterns of ``other_pattern_seed``. ``folder``: an
    ImageFolder-style tree (``<folder>/<class>/<image>``), ``n_pairs`` images drawn from it.
    """

    n_pairs: Annotated[int, Field(ge=2)] = 128
    n_objects: PositiveInt = 10
    seed: NonNegativeInt = 0
    other_pattern_seed: NonNegativeInt = 1_000_000
    scene_classes: Annotated[int, Field(ge=2)] = 10
    scene_seed: NonNegativeInt = 0
    cifar_root: str = "data/01_raw"
    download: bool = False
    folder: str | None = None

    def transfer_data(self, image_size: int) -> TransferDataParams:
        """The same sources as the transfer experiment's, at ``image_size``."""
        shared = set(TransferDataParams.model_fields) & set(type(self).model_fields)
        return TransferDataParams(image_size=image_size, **self.model_dump(include=shared))

    def folder_files(self) -> list[Path]:
        """The images of ``folder``, sorted (class folder, then name)."""
        root = Path(str(self.folder))
        if not root.is_dir():
            raise FileNotFoundError(f"image folder '{root}' does not exist")
        files = sorted(
            p
            for p in root.glob("*/*")
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
        )
        if len(files) < 2:
            raise ValueError(
                f"image folder '{root}' holds {len(files)} image(s) in class folders "
                "(<folder>/<class>/<image>); the pairs need at least 2"
            )
        return files

    def check_resources(self, parameters: dict[str, Any]) -> None:
        """The objects, the CIFAR archives and the image folder the grid's kinds need exist."""
        kinds = GridParams.model_validate(parameters["profile"]["grid"]).kinds
        base = base_images_of(parameters)
        available = len(base_images.list_object_files(base.source, base.base_dir))
        needed = self.n_objects * (2 if "other_objects" in kinds else 1)
        if needed > available:
            raise ValueError(
                f"n_objects = {self.n_objects} needs {needed} objects but the base images "
                f"(base_images.source = {base.source!r}) have {available}; lower n_objects"
            )
        if self.scene_classes > scene_max_classes():
            raise ValueError(
                f"scene_classes = {self.scene_classes} but the scene stand-in has "
                f"{scene_max_classes()} classes"
            )
        for kind in kinds:
            if kind in ("cifar10", "cifar100"):
                check_cifar_available(self.cifar_root, kind, self.download)
        if FOLDER in kinds:
            if self.folder is None:
                raise ValueError(
                    "kinds lists 'folder' but profile.data.folder is not set: name the folder "
                    "of your images (<folder>/<class>/<image>)"
                )
            self.folder_files()
