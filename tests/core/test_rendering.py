import pytest
import torch

from transfer_invariance.core.rendering import (
    DatasetSpec,
    Renderer,
    augment_pairs,
    parse_spec,
    render_pairs,
    render_split,
)


def spec(**kw) -> DatasetSpec:
    base = dict(
        name="t", transforms=("rotate", "hue", "blur"), objects=5, n_train=40, n_val=10, n_test=10
    )
    base.update(kw)
    return DatasetSpec(**base)


def test_same_seed_same_bytes_whatever_the_batch_size():
    r = Renderer.from_spec(spec())
    a = render_split(r, "train", batch_size=7, progress=False)
    b = render_split(Renderer.from_spec(spec()), "train", batch_size=64, progress=False)
    assert torch.equal(a["images"], b["images"]) and torch.equal(a["labels"], b["labels"])
    for k in a["latents"]:
        assert torch.equal(a["latents"][k], b["latents"][k])
    assert a["images"].dtype == torch.uint8 and a["images"].shape == (40, 3, 32, 32)


def test_splits_and_seeds_are_independent_streams():
    r = Renderer.from_spec(spec())
    train = render_split(r, "train", n=10, progress=False)["images"]
    val = render_split(r, "val", n=10, progress=False)["images"]
    other = render_split(Renderer.from_spec(spec(seed=1)), "train", n=10, progress=False)["images"]
    assert not torch.equal(train, val) and not torch.equal(train, other)


def test_labels_cover_the_classes_and_meta_names_them():
    d = render_split(Renderer.from_spec(spec(n_train=200)), "train", progress=False)
    assert set(d["labels"].tolist()) == set(range(5))
    assert len(d["meta"]["class_names"]) == 5 and d["meta"]["transforms"] == [
        "rotate",
        "hue",
        "blur",
    ]


def test_pairs_differ_only_by_the_transformation():
    r = Renderer.from_spec(spec(transforms=("rotate",)))
    p = render_pairs(r, "test", 20, progress=False)
    a, b = p["a"], p["b"]
    assert torch.equal(a["latents"]["class"], b["latents"]["class"])
    assert torch.equal(a["latents"]["background"], b["latents"]["background"])
    assert not torch.equal(a["latents"]["rotate.angle"], b["latents"]["rotate.angle"])
    # Where the object is absent in both renderings, the pixels are the same background.
    same = (a["images"] == b["images"]).float().mean()
    assert 0.3 < same < 1.0
    ident = render_pairs(Renderer.from_spec(spec(transforms=("none",))), "test", 20, progress=False)
    assert torch.equal(ident["a"]["images"], ident["b"]["images"])


def test_random_data_statistics():
    r = Renderer.from_spec(spec(data="random", transforms=("none",), n_train=300))
    d = render_split(r, "train", progress=False)
    x = d["images"].float() / 255
    corner = x[:, :, :4, :4]  # always background (the pattern covers the central 70%)
    assert abs(corner.mean() - 0.5) < 0.02 and abs(corner.std() - 12**-0.5) < 0.02
    centre = x[:, :, 16, 16]
    for c in range(5):
        members = centre[d["labels"] == c]
        assert torch.allclose(members, members[0].expand_as(members))  # one fixed pattern per class
    other = render_split(r, "val", n=5, progress=False)["images"].float() / 255
    assert not torch.equal(other[:, :, :4, :4], x[:5, :, :4, :4])


@pytest.mark.parametrize(
    "raw, match",
    [
        ({"transforms": ["rotate", "twirl"]}, "unknown transformation"),
        ({"objects": 500}, "objects = 500"),
        ({"n_train": 0}, "n_train must be an integer >= 1"),
        ({"n_val": -3}, "n_val must be an integer >= 1"),
        ({"n_test": 2.5}, "n_test must be an integer"),
        ({"data": "noise"}, "data must be one of"),
        ({"objects": ["bagel", "unicorn"]}, "unknown class names"),
        ({"colour": "red"}, "unknown parameter"),
        ({"transforms": "rotate"}, "transforms must be a list"),
    ],
)
def test_bad_dataset_parameters_name_the_parameter(raw, match):
    with pytest.raises(ValueError, match=match):
        parse_spec("bad", raw)


def test_missing_base_image_folder_is_reported():
    with pytest.raises(FileNotFoundError, match="base_dir"):
        parse_spec("x", {"source": "si_score", "base_dir": "/nonexistent/si_score"})


def test_render_device_auto_is_the_cpu_without_cuda_and_cuda_is_refused_there():
    r = Renderer.from_spec(spec())
    default = render_split(r, "train", progress=False)
    auto = render_split(r, "train", progress=False, device="auto")
    assert auto["images"].device.type == "cpu"
    if not torch.cuda.is_available():
        assert torch.equal(auto["images"], default["images"])
        with pytest.raises(ValueError, match="CUDA is not available"):
            render_split(r, "train", progress=False, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_rendering_has_the_cpu_draws_and_pixels_within_one_level():
    r = Renderer.from_spec(spec(transforms=("rotate", "hue", "elastic", "noise")))
    cpu = render_split(r, "train", progress=False, device="cpu")
    gpu = render_split(r, "train", progress=False, device="cuda")
    assert gpu["images"].device.type == "cpu"
    for k in cpu["latents"]:
        torch.testing.assert_close(gpu["latents"][k], cpu["latents"][k])
    assert int((gpu["images"].int() - cpu["images"].int()).abs().max()) <= 1
    whole = {"images": cpu["images"], "labels": cpu["labels"]}
    a = augment_pairs(whole, ["rotate"], device="cpu")["a"]["images"]
    b = augment_pairs(whole, ["rotate"], device="cuda")["a"]["images"]
    assert int((a.int() - b.int()).abs().max()) <= 1
