"""Networks whose representations are measured: this project's checkpoints and torchvision
architectures with a local state-dict file, as uint8-input models.

``LayerRepresentation`` wraps a network so that ``features(x)`` is the representation at one of its
layers, flattened to [N, D]: by default the penultimate one (the input of the network's classifier,
i.e. what a linear probe would see), otherwise the output of a named module
(``network.get_submodule(layer)``), read by a forward hook. A module that runs more than once in a
forward pass (torchvision's ResNet blocks reuse one ``relu``) has no single output, so naming it is
an error. Nothing is downloaded: torchvision architectures are built without weights and filled
from a file; ``random_init_state_dict`` makes a seeded random initialisation for reference profiles.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .rng import seeded_global_rng
from .training import load_model, normalize_images

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
NAMED_NORMALISATIONS = {
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "fixed": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}


class LayerError(ValueError):
    """The measured layer cannot give one representation (absent, reused, or not a tensor)."""


def penultimate_layer(network: nn.Module) -> str:
    """The classifier whose input is the penultimate representation: a ``head`` that is an
    ``nn.Linear`` (this project's classifiers, ``forward = head(features(x))``), else the network's
    last ``nn.Linear`` (torchvision's ``fc``, ``classifier.6``, ``heads.head``, ...)."""
    if isinstance(getattr(network, "head", None), nn.Linear):
        return "head"
    names = [name for name, m in network.named_modules() if isinstance(m, nn.Linear)]
    if not names:
        raise LayerError(
            "the network has no nn.Linear layer, so it has no penultimate representation to "
            "default to: name the layer to measure (layer: <module name>)"
        )
    return names[-1]


def module_names(network: nn.Module) -> list[str]:
    """Every named submodule of ``network`` (what ``layer`` may name)."""
    return [name for name, _ in network.named_modules() if name]


def _describe_names(names: Sequence[str], limit: int = 12) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _tensor(value: Any) -> Any:
    """A hook's value: the tensor itself, or the first element of a tuple (attention modules)."""
    return value[0] if isinstance(value, tuple | list) and value else value


class LayerRepresentation(nn.Module):
    """uint8 images [N, 3, H, W] (0..255) -> the representation at ``layer`` of ``network``.

    The images are scaled to [0, 1] and normalised with ``mean``/``std`` ([0, 1] scale) before the
    network sees them. ``layer`` None: the input of the classifier (``penultimate_layer``); a module
    name: that module's output. Either way flattened to [N, D]. The network is in eval mode.
    """

    def __init__(
        self,
        network: nn.Module,
        mean: Sequence[float],
        std: Sequence[float],
        layer: str | None = None,
    ) -> None:
        super().__init__()
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f"mean and std need 3 values (std > 0), got {mean} and {std}")
        self.network = network.eval()
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1))
        self.penultimate = layer is None
        self.layer = penultimate_layer(network) if layer is None else layer
        try:
            self._module = network.get_submodule(self.layer) if self.layer else None
        except AttributeError:
            self._module = None
        if self._module is None:
            raise LayerError(
                f"the network has no layer named {layer!r}; its layers include "
                f"{_describe_names(module_names(network))}"
            )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = normalize_images(x, self.mean, self.std)
        captured: list[Any] = []
        if self.penultimate:
            hook = self._module.register_forward_pre_hook(
                lambda _m, args: captured.append(_tensor(args))
            )
        else:
            hook = self._module.register_forward_hook(
                lambda _m, _args, out: captured.append(_tensor(out))
            )
        try:
            self.network(x)
        finally:
            hook.remove()
        return self._one(captured).flatten(1)

    def _one(self, captured: list[Any]) -> torch.Tensor:
        """The single value the hook saw, or a LayerError saying why there is none."""
        where = "input" if self.penultimate else "output"
        if not captured:
            raise LayerError(f"layer {self.layer!r} is not run by the network's forward pass")
        if len(captured) > 1:
            raise LayerError(
                f"layer {self.layer!r} runs {len(captured)} times in one forward pass (a reused "
                "module), so it has no single output: name the block that contains it"
            )
        value = captured[0]
        if not isinstance(value, torch.Tensor) or value.ndim < 2:
            raise LayerError(f"the {where} of layer {self.layer!r} is not a batched tensor")
        return value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def check_input_size(model: LayerRepresentation, image_size: int) -> int:
    """Run one blank image of ``image_size`` through ``model``; return the representation's width.
    A size the architecture cannot take is a ValueError saying so; a layer that cannot give a
    representation (``LayerError``) is raised as it is."""
    device = model.mean.device
    try:
        with torch.no_grad():
            out = model.features(torch.zeros(1, 3, image_size, image_size, device=device))
    except LayerError:
        raise
    except (RuntimeError, ValueError, AssertionError) as err:
        reason = " ".join(str(err).split())[:300]
        raise ValueError(
            f"the network cannot take {image_size}x{image_size} images ({reason}); "
            "choose an image_size it accepts"
        ) from None
    return int(out.shape[1])


@functools.cache
def torchvision_architectures() -> tuple[str, ...]:
    """The names of torchvision's classification architectures (``torchvision.models``); read
    once per process (it imports torchvision, which parameter validation calls repeatedly)."""
    import torchvision

    return tuple(sorted(torchvision.models.list_models(module=torchvision.models)))


def check_architecture(arch: str) -> None:
    """A ValueError unless ``arch`` is one of torchvision's classification architectures."""
    known = torchvision_architectures()
    if arch not in known:
        raise ValueError(
            f"{arch!r} is not a torchvision classification architecture; known: "
            f"{_describe_names(known, 20)}"
        )


def random_init_state_dict(arch: str, seed: int) -> dict[str, torch.Tensor]:
    """The state dict of torchvision's ``arch`` freshly initialised from ``seed`` (the global RNG
    is restored afterwards): a reference with no training at all."""
    import torchvision

    check_architecture(arch)
    with seeded_global_rng(seed):
        network = torchvision.models.get_model(arch, weights=None)
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


def read_torch_file(path: str | Path, what: str) -> Any:
    """The content of a ``torch.save`` file, on the CPU, loaded with weights_only=True; a missing
    or unreadable file is an error naming it as ``what`` (``"checkpoint file"``)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"{what} '{file}' does not exist")
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds for truncated or foreign files
        raise ValueError(f"{what} '{file}' cannot be read ({type(err).__name__})") from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """A state dict from a ``torch.save`` file (a bare state dict, or one under ``state_dict`` or
    ``model``; a ``module.`` prefix of DataParallel is removed). Loaded with weights_only=True."""
    file = Path(path)
    raw = read_torch_file(file, "weights file")
    for key in ("state_dict", "model"):
        if isinstance(raw, Mapping) and isinstance(raw.get(key), Mapping):
            raw = raw[key]
    if not isinstance(raw, Mapping) or not all(isinstance(v, torch.Tensor) for v in raw.values()):
        raise ValueError(f"weights file '{file}' does not hold a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in raw.items()}


def torchvision_network(arch: str, state_dict: Mapping[str, torch.Tensor]) -> nn.Module:
    """torchvision's ``arch`` (eval mode) filled with ``state_dict``; the number of classes is read
    from the state dict's classifier. A state dict of another architecture is a ValueError listing
    what does not fit."""
    import torchvision

    check_architecture(arch)
    with torch.device("meta"):  # only the classifier's name is wanted: no memory, no init
        shape = torchvision.models.get_model(arch, weights=None, num_classes=2)
    weight = state_dict.get(f"{penultimate_layer(shape)}.weight")
    num_classes = int(weight.shape[0]) if isinstance(weight, torch.Tensor) else 1000
    network = torchvision.models.get_model(arch, weights=None, num_classes=num_classes)
    expected = {k: v.shape for k, v in network.state_dict().items()}
    problems = {
        "missing keys": [k for k in expected if k not in state_dict],
        "unexpected keys": [k for k in state_dict if k not in expected],
        "keys of another shape": [
            k for k, v in state_dict.items() if k in expected and v.shape != expected[k]
        ],
    }
    if any(problems.values()):
        raise ValueError(
            f"the state dict is not one of torchvision's {arch}: "
            + "; ".join(
                f"{what} {_describe_names(keys, 4)}" for what, keys in problems.items() if keys
            )
        )
    network.load_state_dict(dict(state_dict))
    return network.eval()


def checkpoint_representation(checkpoint: dict, layer: str | None = None) -> LayerRepresentation:
    """A checkpoint of this project (see ``training.pretrain``) with its own normalisation, measured
    at ``layer`` (default: its penultimate representation, what ``features`` returns)."""
    model = load_model(checkpoint)
    return LayerRepresentation(
        model.model, model.mean.flatten().tolist(), model.std.flatten().tolist(), layer
    )
