"""Networks measured by the profile: a layer's representation by hook, torchvision state dicts from
files, and one clear error for each way a model can be unusable."""

import pytest
import torch
import torchvision
from torch import nn

from transfer_invariance.core import networks
from transfer_invariance.core.models import build_model
from transfer_invariance.core.training import cpu_state_dict, load_model

IMAGENET = networks.NAMED_NORMALISATIONS["imagenet"]


def _images(n: int = 4, size: int = 32, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, size, size), generator=gen, dtype=torch.uint8)


def tiny_checkpoint(arch: str = "resnet18", seed: int = 0) -> dict:
    """A checkpoint of this project: an untrained 16 px classifier (4 classes, width 0.125)."""
    torch.manual_seed(seed)
    model = build_model(arch, 4, 0.125, image_size=16)
    return {
        "arch": arch,
        "width": 0.125,
        "num_classes": 4,
        "image_size": 16,
        "state_dict": cpu_state_dict(model),
        "mean": [0.4, 0.5, 0.6],
        "std": [0.2, 0.25, 0.3],
    }


@pytest.mark.parametrize("arch", ["resnet18", "vit"])
def test_a_checkpoints_penultimate_representation_is_its_features(arch):
    checkpoint = tiny_checkpoint(arch)
    representation = networks.checkpoint_representation(checkpoint)
    with torch.no_grad():
        expected = load_model(checkpoint).features(_images(size=16))
        got = representation.features(_images(size=16))
    assert representation.layer == "head"
    torch.testing.assert_close(got, expected)


def test_a_torchvision_state_dict_is_loaded_from_a_file(tmp_path):
    state_dict = networks.random_init_state_dict("resnet18", seed=3)
    reference = torchvision.models.resnet18(weights=None)
    reference.load_state_dict(state_dict)
    reference.fc = nn.Identity()
    x = _images()
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in IMAGENET)
    for i, stored in enumerate(
        (state_dict, {"state_dict": state_dict}, {f"module.{k}": v for k, v in state_dict.items()})
    ):
        torch.save(stored, tmp_path / f"weights_{i}.pth")
        network = networks.torchvision_network(
            "resnet18", networks.read_state_dict(tmp_path / f"weights_{i}.pth")
        )
        representation = networks.LayerRepresentation(network, *IMAGENET)
        with torch.no_grad():
            got = representation.features(x)
            expected = reference.eval()((x.float() / 255 - mean) / std)
        assert representation.layer == "fc"
        torch.testing.assert_close(got, expected)


def test_the_number_of_classes_is_read_from_the_state_dict():
    state_dict = networks.random_init_state_dict("resnet18", seed=0)
    state_dict["fc.weight"] = torch.zeros(7, 512)
    state_dict["fc.bias"] = torch.zeros(7)
    assert networks.torchvision_network("resnet18", state_dict).fc.out_features == 7


def test_a_named_layer_is_read_by_a_forward_hook():
    network = networks.torchvision_network(
        "resnet18", networks.random_init_state_dict("resnet18", 0)
    )
    layer3 = networks.LayerRepresentation(network, *IMAGENET, layer="layer3")
    assert networks.check_input_size(layer3, 32) == 256 * 2 * 2
    assert networks.check_input_size(networks.LayerRepresentation(network, *IMAGENET), 32) == 512


def test_the_random_initialisation_is_seeded_and_leaves_the_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = networks.random_init_state_dict("resnet18", 0)
    after = torch.rand(1)
    b = networks.random_init_state_dict("resnet18", 0)
    c = networks.random_init_state_dict("resnet18", 1)
    assert torch.equal(before, after)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])


def test_a_wrong_layer_name_is_an_error_naming_the_layers():
    network = networks.torchvision_network(
        "resnet18", networks.random_init_state_dict("resnet18", 0)
    )
    with pytest.raises(networks.LayerError, match=r"no layer named 'layer9'(.|\n)*layer1"):
        networks.LayerRepresentation(network, *IMAGENET, layer="layer9")


def test_a_module_that_runs_twice_is_an_error():
    network = networks.torchvision_network(
        "resnet18", networks.random_init_state_dict("resnet18", 0)
    )
    reused = networks.LayerRepresentation(network, *IMAGENET, layer="layer4.1.relu")
    with pytest.raises(networks.LayerError, match="runs 2 times"):
        networks.check_input_size(reused, 32)


def test_a_missing_or_foreign_weights_file_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        networks.read_state_dict(tmp_path / "none.pth")
    (tmp_path / "text.pth").write_text("not a state dict")
    with pytest.raises(ValueError, match="weights file .* cannot be read"):
        networks.read_state_dict(tmp_path / "text.pth")


def test_a_state_dict_of_another_architecture_is_an_error():
    other = networks.random_init_state_dict("mobilenet_v3_small", 0)
    with pytest.raises(ValueError, match=r"not one of torchvision's resnet18(.|\n)*missing keys"):
        networks.torchvision_network("resnet18", other)
    with pytest.raises(ValueError, match="not a torchvision classification architecture"):
        networks.torchvision_network("resnet19", other)


def test_an_input_size_the_network_cannot_take_is_an_error():
    network = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 8), nn.ReLU(), nn.Linear(8, 2))
    representation = networks.LayerRepresentation(network, (0, 0, 0), (1, 1, 1))
    assert networks.check_input_size(representation, 16) == 8
    with pytest.raises(ValueError, match="cannot take 32x32 images"):
        networks.check_input_size(representation, 32)


def test_a_network_without_a_linear_layer_needs_a_layer_name():
    network = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1))
    with pytest.raises(networks.LayerError, match="name the layer"):
        networks.LayerRepresentation(network, (0, 0, 0), (1, 1, 1))
    named = networks.LayerRepresentation(network, (0, 0, 0), (1, 1, 1), layer="1")
    assert networks.check_input_size(named, 8) == 4
