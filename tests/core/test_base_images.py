from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from transfer_invariance.core import base_images as bi
from transfer_invariance.core.rendering import DatasetSpec, Renderer, render_split

SHARED_SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "data" / "si_score_samples"


def make_si_score(
    root: Path, classes=("cat", "apple", "boat"), fg="foregrounds", bg="backgrounds"
) -> Path:
    rng = np.random.default_rng(0)
    for k, name in enumerate(classes):
        d = root / fg / name
        d.mkdir(parents=True)
        arr = np.zeros((40, 30, 4), np.uint8)
        arr[5:35, 5:25, :3] = 60 * (k + 1)
        arr[5:35, 5:25, 3] = 255
        Image.fromarray(arr, "RGBA").save(d / "b_second.png")
        Image.fromarray(arr, "RGBA").save(d / "a_first.png")
    (root / bg).mkdir(parents=True)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (50, 70, 3), dtype=np.uint8)).save(
            root / bg / f"bg{i}.jpg"
        )
    return root


def test_embedded_set_has_61_objects_with_alpha_and_enough_backgrounds():
    names, objects = bi.load_objects(image_size=32)
    assert len(names) == 61 and objects.shape == (61, 4, 32, 32)
    assert ((objects[:, 3] > 0).flatten(1).any(1)).all()
    # Prepared: the longer side of the alpha box is 70% of the image, centred.
    box_w = (objects[:, 3] > 0).any(1).sum(1)
    box_h = (objects[:, 3] > 0).any(2).sum(1)
    assert (torch.maximum(box_w, box_h) - round(0.7 * 32)).abs().max() <= 1
    bgs = bi.load_backgrounds(image_size=16, n_backgrounds=900)
    assert bgs.shape == (900, 3, 16, 16)
    assert len(torch.unique(bgs.flatten(1), dim=0)) >= 867


def test_si_score_loader_reads_a_tiny_folder(tmp_path):
    root = make_si_score(tmp_path / "si")
    names, objects = bi.load_objects("si_score", root, image_size=16)
    assert names == ("apple", "boat", "cat")  # sorted folder names
    assert objects.shape == (3, 4, 16, 16)
    assert [p.name for _, p in bi.list_object_files("si_score", root)] == ["a_first.png"] * 3
    d = render_split(
        Renderer.from_spec(
            DatasetSpec(
                name="s",
                source="si_score",
                base_dir=str(root),
                objects=3,
                n_train=6,
                image_size=16,
                n_backgrounds=10,
            )
        ),
        "train",
        progress=False,
    )
    assert d["images"].shape == (6, 3, 16, 16)


def test_si_score_own_folder_names_and_data_level(tmp_path):
    root = make_si_score(tmp_path / "si" / "data", fg="foreground_samples", bg="background_samples")
    names, _ = bi.load_objects("si_score", root.parent, image_size=16)
    assert len(names) == 3


@pytest.mark.skipif(not SHARED_SAMPLES.exists(), reason="real SI-Score samples not present")
def test_real_si_score_samples_load():
    names, objects = bi.load_objects("si_score", SHARED_SAMPLES, image_size=32)
    assert len(names) == 9 and objects.shape[0] == 9
    assert bi.load_backgrounds("si_score", SHARED_SAMPLES, 32, 20).shape == (20, 3, 32, 32)


def test_object_without_alpha_is_rejected(tmp_path):
    root = make_si_score(tmp_path / "si")
    Image.new("RGB", (20, 20), (255, 0, 0)).save(root / "foregrounds" / "apple" / "a_first.png")
    with pytest.raises(ValueError, match="no alpha channel"):
        bi.load_objects("si_score", root)


def test_corrupt_image_is_named(tmp_path):
    root = make_si_score(tmp_path / "si")
    (root / "foregrounds" / "boat" / "a_first.png").write_bytes(b"not a png at all")
    with pytest.raises(ValueError, match="a_first.png' is not a readable image"):
        bi.load_objects("si_score", root)


def test_missing_folders_are_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bi.list_object_files("si_score", tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no 'foregrounds/'"):
        bi.list_object_files("si_score", tmp_path / "empty")


def test_class_selection_errors():
    files = bi.list_object_files()
    with pytest.raises(ValueError, match="has 61 object classes"):
        bi.select_classes(files, 62)
    assert [n for n, _ in bi.select_classes(files, ["banana", "bagel"])] == ["banana", "bagel"]


def test_a_count_of_objects_is_a_seeded_draw_and_offsets_give_disjoint_sets():
    from transfer_invariance.core.base_images import draw_classes

    first = draw_classes(61, 10, 0, seed=0)
    assert first == draw_classes(61, 10, 0, seed=0) and first == sorted(first)
    assert first != list(range(10))  # not the first ten in the asset order
    assert draw_classes(61, 10, 0, seed=1) != first  # another seed, another draw
    assert not set(first) & set(draw_classes(61, 10, 10, seed=0))  # disjoint split
    with pytest.raises(ValueError, match="61 object classes"):
        draw_classes(61, 30, 40, seed=0)
