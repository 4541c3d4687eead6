import pytest
import torch

from transfer_invariance.core.models import MODELS, ViT, build_model

CNN_WIDTH = 0.125


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "densenet121", "vgg11_bn"])
def test_cnn_forward_shapes(name):
    torch.manual_seed(0)
    model = build_model(name, num_classes=7, width=CNN_WIDTH).eval()
    x = torch.randn(2, 3, 32, 32)
    feats = model.features(x)
    assert feats.shape == (2, model.feature_dim)
    assert model(x).shape == (2, 7)
    assert isinstance(model.head, torch.nn.Linear)
    assert model.head.in_features == model.feature_dim
    torch.testing.assert_close(model(x), model.head(feats))


def test_width_multiplier_channels():
    r18 = build_model("resnet18", 10, width=0.25)
    assert r18.stem[0].out_channels == 16
    assert r18.feature_dim == 128
    assert build_model("resnet50", 10, width=0.25).feature_dim == 512  # 2048 * 0.25
    assert build_model("resnet18", 10).feature_dim == 512
    assert build_model("vgg11_bn", 10, width=0.5).feature_dim == 256


def test_densenet121_structure():
    model = build_model("densenet121", 3, width=0.25)
    n_dense = sum(1 for m in model.modules() if type(m).__name__ == "_DenseLayer")
    assert n_dense == 6 + 12 + 24 + 16
    assert model.stem.out_channels == 2 * 8  # growth 32 * 0.25


def test_vit_paper_config_and_image_size():
    model = build_model("vit", 10).eval()
    assert isinstance(model, ViT)
    assert model.feature_dim == 384
    assert len(model.encoder.layers) == 7
    assert model.pos_embed.shape == (1, 8 * 8 + 1, 384)
    layer = model.encoder.layers[0]
    assert layer.self_attn.num_heads == 8
    assert layer.linear1.out_features == 384
    x = torch.randn(2, 3, 32, 32)
    assert model.features(x).shape == (2, 384)
    assert model(x).shape == (2, 10)

    small = build_model("vit", 4, width=0.25, image_size=16).eval()
    assert small.pos_embed.shape[1] == 4 * 4 + 1
    assert small(torch.randn(2, 3, 16, 16)).shape == (2, 4)
    with pytest.raises(ValueError, match="image_size"):
        small(torch.randn(2, 3, 32, 32))


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError) as err:
        build_model("resnet9000", 10)
    for name in MODELS:
        assert name in str(err.value)
    assert set(MODELS) == {"resnet18", "resnet50", "densenet121", "vgg11_bn", "vit"}
