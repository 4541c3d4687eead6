import pytest
import torch

from transfer_invariance.core.rng import SampleRandom
from transfer_invariance.core.transforms import (
    TRANSFORM_NAMES,
    apply_transforms,
    augment_images,
    check_transform_sets,
    draw_latents,
    premultiply,
    resolve_params,
)

N, S = 64, 32


def make_layer(n: int = N, size: int = S) -> torch.Tensor:
    """A centred, textured, opaque 16x16 object on a transparent canvas (premultiplied)."""
    g = torch.Generator().manual_seed(0)
    straight = torch.zeros(n, 4, size, size)
    o = (size - 16) // 2
    straight[:, :3, o : o + 16, o : o + 16] = torch.rand(n, 3, 16, 16, generator=g) * 0.8 + 0.1
    straight[:, 3, o : o + 16, o : o + 16] = 1.0
    return premultiply(straight)


def run(name: str, layer: torch.Tensor, overrides=None, mode: str = "object"):
    params = resolve_params([name], overrides, layer.shape[-1])
    rnd = SampleRandom(1, "train", torch.arange(layer.shape[0]))
    lat = draw_latents([name], params, rnd, mode)
    return apply_transforms(layer, [name], params, lat, rnd, mode), lat


def test_none_is_identity():
    layer = make_layer()
    out, lat = run("none", layer)
    assert torch.equal(out, layer) and lat == {}


@pytest.mark.parametrize(
    "name",
    ["hue", "brightness", "grayscale", "posterize", "invert", "sharpen", "noise", "contrast"],
)
def test_colour_ops_never_change_the_alpha_mask(name):
    layer = make_layer()
    out, _ = run(name, layer)
    assert torch.equal(out[:, 3], layer[:, 3])
    transparent = (layer[:, 3:4] == 0).expand(-1, 3, -1, -1)
    assert (out[:, :3][transparent] == 0).all()


def test_flips_are_exact_flips_where_applied():
    layer = make_layer()
    for name, dim in (("h_flip", 3), ("v_flip", 2)):
        out, lat = run(name, layer)
        applied = lat[f"{name}.applied"]
        assert 0 < applied.sum() < N
        assert torch.equal(out[applied], layer[applied].flip(dim))
        assert torch.equal(out[~applied], layer[~applied])


def test_translate_moves_the_object_by_whole_pixels_and_keeps_it_inside():
    layer = make_layer()
    out, _ = run("translate", layer)
    assert torch.allclose(out[:, 3].sum((1, 2)), layer[:, 3].sum((1, 2)))
    # Same content, shifted: the sorted pixel values agree.
    assert torch.equal(out.flatten(1).sort(1).values, layer.flatten(1).sort(1).values)
    moved = (out != layer).flatten(1).any(1)
    assert moved.float().mean() > 0.8


def test_rotate_angle_range_and_mass():
    layer = make_layer()
    out, lat = run("rotate", layer)
    a = lat["rotate.angle"]
    assert 0 <= a.min() and a.max() < 360 and a.max() - a.min() > 300
    ratio = out[:, 3].sum((1, 2)) / layer[:, 3].sum((1, 2))
    assert ((ratio - 1).abs() < 0.08).all()


def test_scale_factor_range_and_area():
    layer = make_layer()
    out, lat = run("scale", layer)
    f = lat["scale.factor"]
    assert 0.4 <= f.min() and f.max() <= 1.0
    area = out[:, 3].sum((1, 2)) / layer[:, 3].sum((1, 2))
    assert torch.allclose(area, f**2, atol=0.08)


def test_shear_range():
    _, lat = run("shear", make_layer())
    for k in ("shear.x_deg", "shear.y_deg"):
        assert lat[k].abs().max() <= 50 and lat[k].abs().max() > 40


def test_photometric_effects():
    layer = make_layer()
    mask = layer[:, 3] > 0
    out, lat = run("grayscale", layer)
    g = lat["grayscale.applied"]
    assert torch.allclose(out[g][:, 0], out[g][:, 1], atol=1e-6)
    out, lat = run("posterize", layer)
    p = lat["posterize.applied"]
    vals = torch.unique(torch.round(out[p][:, :3] * 255))
    assert set(vals.tolist()) <= {0.0, 128.0}
    out, lat = run("invert", layer)
    i = lat["invert.applied"]
    assert torch.allclose(
        out[i][:, :3][mask[i].unsqueeze(1).expand(-1, 3, -1, -1)],
        1 - layer[i][:, :3][mask[i].unsqueeze(1).expand(-1, 3, -1, -1)],
        atol=1e-6,
    )
    out, lat = run("brightness", layer)
    f = lat["brightness.factor"]
    assert 0 <= f.min() and f.max() <= 2
    expect = (layer[:, :3] * f.view(-1, 1, 1, 1)).clamp(0, 1)
    assert torch.allclose(out[:, :3], expect, atol=1e-5)
    out, _ = run("contrast", layer, {"contrast": {"min_factor": 1.0, "max_factor": 1.0}})
    assert torch.allclose(out, layer, atol=1e-5)
    out, lat = run("hue", layer)
    assert lat["hue.shift"].abs().max() <= 0.5


def test_corruptions():
    layer = make_layer()
    out, lat = run("blur", layer)
    s = lat["blur.sigma"]
    assert 0.1 <= s.min() and s.max() <= 1.5
    assert torch.allclose(
        out.sum((2, 3)), layer.sum((2, 3)), rtol=1e-3
    )  # zero padding, object inside
    out, lat = run("pixelate", layer)
    p = lat["pixelate.applied"]
    blocks = out[p].unfold(2, 2, 2).unfold(3, 2, 2)
    assert torch.allclose(blocks.amax((-1, -2)), blocks.amin((-1, -2)))
    out, lat = run("erasing", layer)
    e = lat["erasing.applied"]
    removed = layer[e][:, 3] - out[e][:, 3]
    assert ((removed == 0) | (removed == layer[e][:, 3])).all()
    assert (out[~e] == layer[~e]).all()
    out, lat = run("elastic", layer)
    el = lat["elastic.applied"]
    assert (out[el] != layer[el]).any() and torch.equal(out[~el], layer[~el])


def test_noise_touches_only_object_pixels():
    layer = make_layer()
    out, lat = run("noise", layer)
    outside = (layer[:, 3:4] == 0).expand(-1, 4, -1, -1)
    assert (out[outside] == 0).all()
    assert (out[lat["noise.applied"]] != layer[lat["noise.applied"]]).any()


def test_whole_mode_translate_is_at_most_15_percent_with_black_fill():
    images = (torch.rand(32, 3, S, S) * 200 + 50).to(torch.uint8)
    params = resolve_params(["translate"], None, S)
    out, lat = augment_images(
        images, ["translate"], params, SampleRandom(0, "train", torch.arange(32))
    )
    black_cols = (out.float().sum((1, 2)) == 0).sum(1)
    black_rows = (out.float().sum((1, 3)) == 0).sum(1)
    assert black_cols.max() <= round(0.15 * S) and black_rows.max() <= round(0.15 * S)
    assert (black_cols + black_rows).max() > 0


def test_every_transform_runs_in_both_modes_on_any_batch():
    layer = make_layer(5)
    for name in TRANSFORM_NAMES:
        for mode in ("object", "whole"):
            out, _ = run(name, layer, mode=mode)
            assert out.shape == layer.shape and torch.isfinite(out).all()


def test_bad_transform_input_is_rejected():
    with pytest.raises(ValueError, match="unknown transformation"):
        resolve_params(["rotate", "spin"])
    with pytest.raises(ValueError, match="twice"):
        resolve_params(["rotate", "rotate"])
    with pytest.raises(ValueError, match=r"transform_params.rotate: unknown parameter"):
        resolve_params(["rotate"], {"rotate": {"degrees": 3}})
    with pytest.raises(ValueError, match="must be a number"):
        resolve_params(["rotate"], {"rotate": {"max_angle": "90"}})
    with pytest.raises(ValueError, match="p must be in"):
        resolve_params(["h_flip"], {"h_flip": {"p": 1.5}})
    with pytest.raises(ValueError, match="erasing"):
        resolve_params(["erasing"], None, image_size=8)


def test_transform_sets_must_be_nonempty_and_disjoint():
    check_transform_sets({"same": ["rotate"], "different": ["hue"]}, disjoint=True)
    with pytest.raises(ValueError, match="'different' is empty"):
        check_transform_sets({"same": ["rotate"], "different": []}, disjoint=True)
    with pytest.raises(ValueError, match="overlap"):
        check_transform_sets({"same": ["rotate", "hue"], "different": ["hue"]}, disjoint=True)
