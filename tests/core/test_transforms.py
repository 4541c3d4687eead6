from collections.abc import Mapping

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torchvision.transforms import InterpolationMode

from transfer_invariance.core import transforms as tf
from transfer_invariance.core.rendering import DatasetSpec, Renderer, parse_spec, render_split
from transfer_invariance.core.rng import SampleRandom
from transfer_invariance.core.transforms import (
    CATEGORIES,
    TRANSFORM_NAMES,
    TRANSFORMS,
    AffineTransform,
    ColourTransform,
    LayerTransform,
    Transform,
    apply_transforms,
    augment_images,
    check_transform_sets,
    draw_latents,
    premultiply,
    register,
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


def test_registry_holds_one_drawing_and_applying_object_per_type():
    assert list(TRANSFORMS)[0] == "none" and len(TRANSFORM_NAMES) == 18
    assert sorted(n for names in CATEGORIES.values() for n in names) == sorted(TRANSFORM_NAMES)
    for name, t in TRANSFORMS.items():
        assert isinstance(t, Transform) and t.name == name and callable(t.draw)
        assert t.kind in tf.KINDS and isinstance(t.defaults, Mapping)
        if t.kind == "affine":
            assert isinstance(t, AffineTransform) and callable(t.matrix)
        else:
            assert isinstance(t, ColourTransform | LayerTransform) and callable(t.apply)
    assert {n for n, t in TRANSFORMS.items() if t.kind == "affine"} == set(CATEGORIES["geometric"])


def test_draw_gives_prefixed_latents_and_an_applied_flag_with_p():
    rnd = SampleRandom(0, "train", torch.arange(N))
    for name in TRANSFORM_NAMES:
        params = resolve_params([name])[name]
        lat = TRANSFORMS[name].draw(rnd, params, "object")
        assert all(k.startswith(f"{name}.") and v.shape == (N,) for k, v in lat.items())
        assert (f"{name}.applied" in lat) == ("p" in params)


def test_a_single_affine_op_applies_alone_as_in_the_engine():
    layer = make_layer()
    for name in CATEGORIES["geometric"]:
        params = resolve_params([name])
        rnd = SampleRandom(2, "train", torch.arange(N))
        lat = draw_latents([name], params, rnd, "object")
        alone = TRANSFORMS[name].apply_layer(layer, lat, params[name], rnd, "object")
        assert torch.equal(alone, apply_transforms(layer, [name], params, lat, rnd, "object"))


def test_consecutive_affine_ops_are_fused_into_one_warp(monkeypatch):
    calls = []
    real_warp = tf.warp
    monkeypatch.setattr(tf, "warp", lambda *a: calls.append(1) or real_warp(*a))
    run_names = ["rotate", "scale", "shear", "hue", "translate", "h_flip", "blur"]
    layer = make_layer(8)
    params = resolve_params(run_names)
    rnd = SampleRandom(0, "train", torch.arange(8))
    apply_transforms(layer, run_names, params, draw_latents(run_names, params, rnd, "object"), rnd)
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        ("rotate", {"min_angle": 90, "max_angle": 10}, r"rotate: min_angle \(90\) must not exceed"),
        ("scale", {"min_scale": 0.0}, "scale: min_scale must be > 0"),
        ("blur", {"kernel_size": 4}, "blur: kernel_size must be an odd integer"),
        ("pixelate", {"factor": 3}, "pixelate: factor must be an integer >= 1 dividing"),
        ("posterize", {"bits": 9}, r"posterize: bits must be in \[1, 8\]"),
        ("translate", {"whole_max_shift": 2}, r"translate: whole_max_shift must be in \[0, 1\]"),
        ("noise", {"p": -0.1}, r"noise: p must be in \[0, 1\]"),
        ("erasing", {"size": 0}, r"erasing: size must be in \[1, image_size=32\]"),
    ],
)
def test_each_type_rejects_its_bad_parameters(name, overrides, message):
    with pytest.raises(ValueError, match=f"transform_params.{message}"):
        resolve_params([name], {name: overrides})


class Darken(ColourTransform):
    """Test type: multiplies the object's colour by a factor ~ U[min_factor, max_factor]."""

    name = "test_darken"
    category = "photometric"
    defaults = {"min_factor": 0.2, "max_factor": 0.5}

    def sample(self, rnd, params, mode):
        lo, hi = params["min_factor"], params["max_factor"]
        return {"factor": rnd.uniform(self.stream(), low=lo, high=hi)}

    def apply(self, rgb, alpha, lat, params, rnd):
        return rgb * self.latent(lat, "factor").view(-1, 1, 1, 1)


class ShiftRight(AffineTransform):
    """Test type: a two-pixel shift to the right with probability p."""

    name = "test_shift_right"
    category = "geometric"
    defaults = {"p": 0.5}

    def matrix(self, lat, params, box, size, mode):
        m = torch.eye(3).repeat(box.shape[0], 1, 1)
        m[:, 0, 2] = torch.where(self.latent(lat, "applied"), 2.0, 0.0)
        return m


@pytest.fixture
def registered():
    """Darken and ShiftRight registered for one test only."""
    register(Darken)
    register(ShiftRight())
    yield
    del TRANSFORMS[Darken.name], TRANSFORMS[ShiftRight.name]


def test_registered_types_are_drawn_validated_and_rendered(registered):
    with pytest.raises(ValueError, match="already registered"):
        register(Darken)
    with pytest.raises(ValueError, match="test_darken: min_factor"):
        resolve_params(["test_darken"], {"test_darken": {"min_factor": 0.9}})
    spec = dict(name="t", objects=3, n_train=32, n_val=4, n_test=4)
    plain = render_split(
        Renderer.from_spec(DatasetSpec(transforms=("rotate",), **spec)), "train", progress=False
    )
    dark = render_split(
        Renderer.from_spec(DatasetSpec(transforms=("rotate", "test_darken"), **spec)),
        "train",
        progress=False,
    )
    f = dark["latents"]["test_darken.factor"]
    assert 0.2 <= f.min() and f.max() <= 0.5
    assert torch.equal(plain["latents"]["rotate.angle"], dark["latents"]["rotate.angle"])
    assert (dark["images"] <= plain["images"]).all() and (dark["images"] < plain["images"]).any()

    images = (torch.rand(16, 3, S, S) * 200 + 50).to(torch.uint8)
    params = resolve_params(["test_shift_right"])
    out, lat = augment_images(
        images, ["test_shift_right"], params, SampleRandom(0, "train", torch.arange(16))
    )
    moved = lat["test_shift_right.applied"]
    assert 0 < moved.sum() < 16
    assert torch.equal(out[moved][..., 2:], images[moved][..., :-2])
    assert (out[moved][..., :2] == 0).all() and torch.equal(out[~moved], images[~moved])


def test_incomplete_types_are_not_registered():
    class Nameless(LayerTransform):
        category = "corruption"

    class WrongKind(LayerTransform):
        name = "test_wrong_kind"
        category = "corruption"
        kind = "affine"

    for bad in (Nameless, WrongKind, object()):
        with pytest.raises(ValueError, match="register"):
            register(bad)
    assert "test_wrong_kind" not in TRANSFORMS


# ----------------------------------------------------------------------------------------------
# Batch-size independence, whole-mode fill and torchvision's conventions


def render_at(names, batch_size, n=64, transform_params=None):
    raw = dict(transforms=list(names), objects=10, n_train=n, n_val=1, n_test=1)
    renderer = Renderer.from_spec(
        parse_spec("b", dict(raw, transform_params=transform_params or {}))
    )
    return render_split(renderer, "train", n, batch_size, progress=False)["images"]


def test_sharpen_renders_byte_identical_images_at_any_batch_size():
    # With F.conv2d the smoothing changed in the last bits with the batch (one uint8 value here).
    params = {"sharpen": {"p": 1.0}}
    one = render_at(["sharpen"], 1, 128, params)
    assert torch.equal(one, render_at(["sharpen"], 64, 128, params))
    assert torch.equal(one, render_at(["sharpen"], 128, 128, params))


@pytest.mark.parametrize("name", TRANSFORM_NAMES)
def test_every_type_renders_byte_identical_images_at_batch_1_and_64(name):
    params = {name: {"p": 1.0}} if "p" in TRANSFORMS[name].defaults else {}
    assert torch.equal(render_at([name], 1, 64, params), render_at([name], 64, 64, params))


def test_warp_chooses_nearest_or_bilinear_per_sample():
    # A rotation within 1e-3 px of 180 degrees is warped exactly (nearest) even in a batch with a
    # rotation that needs bilinear sampling; it used to switch with the company it was in.
    layer = make_layer(2)
    params = resolve_params(["rotate"])
    rnd = SampleRandom(0, "train", torch.arange(2))
    lat = {"rotate.angle": torch.tensor([180.0008, 30.0])}
    both = apply_transforms(layer, ["rotate"], params, lat, rnd)
    for i in range(2):
        alone = {"rotate.angle": lat["rotate.angle"][i : i + 1]}
        assert torch.equal(
            both[i : i + 1], apply_transforms(layer[i : i + 1], ["rotate"], params, alone, rnd)
        )
    assert torch.equal(both[0], layer[0].flip(1, 2))


def whole_layer(images: torch.Tensor) -> torch.Tensor:
    x = images.float() / 255
    return torch.cat([x, torch.ones_like(x[:, :1])], 1)


def test_whole_mode_fill_is_opaque_black_so_invert_turns_it_white():
    g = torch.Generator().manual_seed(3)
    images = (torch.rand(32, 3, S, S, generator=g) * 200 + 30).to(torch.uint8)
    names = ["translate", "invert"]
    params = resolve_params(names, {"invert": {"p": 1.0}}, S)
    out, lat = augment_images(images, names, params, SampleRandom(0, "train", torch.arange(32)))
    shift = params["translate"]["whole_max_shift"] * S
    tx = torch.round((lat["translate.u_x"] * 2 - 1) * shift).int()
    ty = torch.round((lat["translate.u_y"] * 2 - 1) * shift).int()
    xs, ys = torch.arange(S).view(1, 1, -1), torch.arange(S).view(1, -1, 1)
    tx, ty = tx.view(-1, 1, 1), ty.view(-1, 1, 1)
    fill = (xs < tx) | (xs >= S + tx) | (ys < ty) | (ys >= S + ty)
    assert fill.any()
    fill = fill.unsqueeze(1).expand_as(out)
    assert (out[fill] == 255).all() and (out[~fill] <= 225).all()
    for i in range(32):
        moved = TF.affine(
            images[i], angle=0.0, translate=[int(tx[i]), int(ty[i])], scale=1.0, shear=[0.0, 0.0]
        )
        assert torch.equal(out[i], TF.invert(moved))


def test_whole_mode_rotate_then_contrast_matches_torchvision():
    g = torch.Generator().manual_seed(4)
    images = (torch.rand(4, 3, S, S, generator=g) * 255).to(torch.uint8)
    names = ["rotate", "contrast"]
    params = resolve_params(names, None, S)
    lat = {
        "rotate.angle": torch.tensor([30.0, -75.0, 123.4, 200.0]),
        "contrast.factor": torch.tensor([0.3, 1.7, 0.0, 2.0]),
    }
    rnd = SampleRandom(0, "train", torch.arange(4))
    ours = apply_transforms(whole_layer(images), names, params, lat, rnd, "whole")
    assert (ours[:, 3] == 1).all()
    x = images.float() / 255
    for i in range(4):
        rotated = TF.rotate(x[i], -float(lat["rotate.angle"][i]), InterpolationMode.BILINEAR)
        expect = TF.adjust_contrast(rotated, float(lat["contrast.factor"][i]))
        # torchvision's grey level weighs red 0.2989 (ours 0.299): means differ by < 1e-4.
        assert torch.allclose(ours[i, :3], expect, atol=2e-4)


def test_whole_mode_sharpen_is_torchvisions_adjust_sharpness():
    g = torch.Generator().manual_seed(5)
    x = torch.rand(3, 3, S, S, generator=g)
    params = resolve_params(["sharpen"], {"sharpen": {"p": 1.0}}, S)
    rnd = SampleRandom(0, "train", torch.arange(3))
    lat = draw_latents(["sharpen"], params, rnd, "whole")
    layer = torch.cat([x, torch.ones_like(x[:, :1])], 1)
    ours = apply_transforms(layer, ["sharpen"], params, lat, rnd, "whole")[:, :3]
    assert torch.allclose(ours, TF.adjust_sharpness(x, 7.0), atol=1e-5)


def test_object_mode_leaves_the_uncovered_area_transparent():
    layer = make_layer(8)
    names = ["rotate", "invert"]
    params = resolve_params(names, {"invert": {"p": 1.0}})
    rnd = SampleRandom(0, "train", torch.arange(8))
    out = apply_transforms(layer, names, params, draw_latents(names, params, rnd, "object"), rnd)
    assert (out[:, 3] < 1).any() and (
        out[:, :3][(out[:, 3:4] == 0).expand(-1, 3, -1, -1)] == 0
    ).all()


def test_sign_conventions_match_torchvision_affine():
    """Positive rotate = torchvision affine(angle=a) = rotate(-a): clockwise on screen (y down).

    Shear (x, y) = torchvision affine(shear=[-x, -y]).
    """
    g = torch.Generator().manual_seed(6)
    x = torch.rand(1, 3, S, S, generator=g)
    layer = torch.cat([x, torch.ones_like(x[:, :1])], 1)
    rnd = SampleRandom(0, "train", torch.arange(1))
    bilinear = InterpolationMode.BILINEAR

    def ours(name, **lat):
        latents = {f"{name}.{k}": torch.tensor([v]) for k, v in lat.items()}
        return apply_transforms(layer, [name], resolve_params([name]), latents, rnd, "whole")[:, :3]

    for a in (30.0, -17.0):
        rotated = ours("rotate", angle=a)
        assert torch.allclose(rotated, TF.rotate(x, -a, bilinear), atol=1e-5)
        expect = TF.affine(
            x, angle=a, translate=[0, 0], scale=1.0, shear=[0.0, 0.0], interpolation=bilinear
        )
        assert torch.allclose(rotated, expect, atol=1e-5)
    sheared = ours("shear", x_deg=15.0, y_deg=-25.0)
    expect = TF.affine(
        x, angle=0.0, translate=[0, 0], scale=1.0, shear=[-15.0, 25.0], interpolation=bilinear
    )
    assert torch.allclose(sheared, expect, atol=1e-5)
    # On screen: a dot right of the centre moves down under a positive angle (clockwise).
    dot = torch.zeros(1, 4, S, S)
    dot[:, :, S // 2, S // 2 + 10] = 1
    lat = {"rotate.angle": torch.tensor([30.0])}
    out = apply_transforms(dot, ["rotate"], resolve_params(["rotate"]), lat, rnd, "whole")
    row, col = (out[0, 0] > 0.2).nonzero().float().mean(0)
    assert row > S // 2 + 3 and col < S // 2 + 10
