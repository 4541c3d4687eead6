"""Base images of Transforms-2D: foreground objects (one per class) and background crops.

Two sources: the embedded default set shipped in ``assets/`` (61 Fluent Emoji 3D objects and a few
nature photos, see ``assets/ATTRIBUTIONS.md``) and a user folder in the SI-Score layout
(``foregrounds/<class>/<file>.png`` + ``backgrounds/<file>.jpg``; SI-Score's own
``foreground_samples`` / ``background_samples`` names and a ``data/`` level above them are accepted).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from transfer_invariance.core.rng import SampleRandom

ASSETS = Path(__file__).parent / "assets"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
DEFAULT_N_BACKGROUNDS = 867


@dataclass(frozen=True)
class BaseImages:
    """Prepared base images at the render size.

    objects: float32 [K, 4, S, S], straight (non-premultiplied) RGBA in [0, 1].
    backgrounds: float32 [B, 3, S, S], RGB in [0, 1].
    """

    class_names: tuple[str, ...]
    objects: torch.Tensor
    backgrounds: torch.Tensor


def _open_image(path: Path, what: str) -> Image.Image:
    try:
        with Image.open(path) as im:
            im.load()
            return im.copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as err:
        raise ValueError(
            f"{what} '{path}' is not a readable image ({err}). Replace or remove the file."
        ) from err


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _si_score_dirs(base_dir: Path) -> tuple[Path, Path]:
    """Find the foreground and background folders of an SI-Score style tree."""
    if not base_dir.is_dir():
        raise FileNotFoundError(
            f"base_images.base_dir '{base_dir}' does not exist. Point it at a folder with "
            "'foregrounds/<class>/<image>.png' and 'backgrounds/<image>.jpg', or use "
            "base_images.source: embedded."
        )
    for root in (base_dir, base_dir / "data"):
        for fg_name, bg_name in (
            ("foregrounds", "backgrounds"),
            ("foreground_samples", "background_samples"),
        ):
            fg, bg = root / fg_name, root / bg_name
            if fg.is_dir() and bg.is_dir():
                return fg, bg
    raise FileNotFoundError(
        f"base_images.base_dir '{base_dir}' has no 'foregrounds/' and 'backgrounds/' folders "
        "(nor SI-Score's 'foreground_samples/' and 'background_samples/', nor a 'data/' level "
        "holding them)."
    )


def list_object_files(
    source: str = "embedded", base_dir: str | Path | None = None
) -> list[tuple[str, Path]]:
    """(class name, file) per class, in class order. Cheap: checks paths only."""
    if source == "embedded":
        names = {}
        with open(ASSETS / "objects.csv", newline="") as fh:
            for row in csv.DictReader(fh):
                names[int(row["index"])] = row["short_name"]
        files = _image_files(ASSETS / "objects")
        return [(names[int(f.stem.split("_", 1)[0])], f) for f in files]
    if source == "si_score":
        if base_dir is None:
            raise ValueError(
                "base_images.base_dir must be set when base_images.source is 'si_score'."
            )
        fg, _ = _si_score_dirs(Path(base_dir))
        out = []
        for class_dir in sorted(p for p in fg.iterdir() if p.is_dir()):
            files = _image_files(class_dir)
            if files:
                out.append((class_dir.name, files[0]))
        if not out:
            raise FileNotFoundError(f"No object images found under '{fg}/<class>/'.")
        return out
    raise ValueError(f"base_images.source must be 'embedded' or 'si_score', got {source!r}.")


def list_photo_files(source: str = "embedded", base_dir: str | Path | None = None) -> list[Path]:
    """The photos background crops are drawn from."""
    if source == "embedded":
        return _image_files(ASSETS / "photos")
    if source == "si_score":
        if base_dir is None:
            raise ValueError(
                "base_images.base_dir must be set when base_images.source is 'si_score'."
            )
        _, bg = _si_score_dirs(Path(base_dir))
        files = _image_files(bg)
        if not files:
            raise FileNotFoundError(f"No background images found in '{bg}'.")
        return files
    raise ValueError(f"base_images.source must be 'embedded' or 'si_score', got {source!r}.")


def prepare_object(image: Image.Image, image_size: int, fill: float = 0.7) -> torch.Tensor:
    """Crop to the alpha bounding box, fit the longer side to ``fill * image_size``, centre.

    Returns float32 [4, S, S] straight RGBA. Pillow resizes RGBA in premultiplied form, so no colour
    leaks from fully transparent pixels.
    """
    bbox = image.getchannel("A").getbbox()
    if bbox is None:
        raise ValueError("object image is fully transparent")
    obj = image.crop(bbox)
    w, h = obj.size
    side = max(1, round(fill * image_size))
    scale = side / max(w, h)
    new = (max(1, round(w * scale)), max(1, round(h * scale)))
    obj = obj.resize(new, Image.LANCZOS)
    canvas = Image.new("RGBA", (image_size, image_size), (0, 0, 0, 0))
    canvas.paste(obj, ((image_size - new[0]) // 2, (image_size - new[1]) // 2))
    arr = np.asarray(canvas, dtype=np.float32) / 255.0
    out = torch.from_numpy(arr).permute(2, 0, 1).contiguous()
    out[:3] = out[:3] * (out[3:] > 0)
    return out


def load_objects(
    source: str = "embedded",
    base_dir: str | Path | None = None,
    image_size: int = 32,
    fill: float = 0.7,
    classes: int | list[str] | None = None,
) -> tuple[tuple[str, ...], torch.Tensor]:
    """Load and prepare the object images: (class names, float [K, 4, S, S] straight RGBA).

    ``classes`` selects the first k classes (int) or the named ones (list); unknown names or a count
    above what exists raise before any image is decoded.
    """
    files = list_object_files(source, base_dir)
    files = select_classes(files, classes)
    tensors = []
    for name, path in files:
        im = _open_image(path, f"object image of class '{name}'")
        if "A" not in im.getbands() and not (im.mode == "P" and "transparency" in im.info):
            raise ValueError(
                f"object image '{path}' has no alpha channel (mode {im.mode}). Objects must be "
                "RGBA images with a transparent background."
            )
        try:
            tensors.append(prepare_object(im.convert("RGBA"), image_size, fill))
        except ValueError as err:
            raise ValueError(f"object image '{path}': {err}") from err
    return tuple(n for n, _ in files), torch.stack(tensors)


def draw_classes(n_available: int, k: int, offset: int = 0, seed: int = 0) -> list[int]:
    """``k`` class indices out of ``n_available``: positions ``offset .. offset + k`` of a seeded
    permutation, in ascending order. The same ``seed`` with non-overlapping ranges gives disjoint
    sets (e.g. 30 pretraining and 30 target objects), another ``seed`` another draw."""
    if k < 1 or offset < 0 or offset + k > n_available:
        raise ValueError(
            f"objects = {k} from object_offset {offset} but the base image set has "
            f"{n_available} object classes."
        )
    order = torch.randperm(n_available, generator=torch.Generator().manual_seed(int(seed)))
    return sorted(order[offset : offset + k].tolist())


def select_classes(
    files: list[tuple[str, Path]], classes: int | list[str] | None
) -> list[tuple[str, Path]]:
    """Pick the first k classes (int) or the named ones (list of names) from (name, file) pairs."""
    if classes is None:
        return files
    if isinstance(classes, bool) or not isinstance(classes, int | list | tuple):
        raise ValueError(f"objects must be a count or a list of class names, got {classes!r}.")
    if isinstance(classes, int):
        if classes < 1 or classes > len(files):
            raise ValueError(
                f"objects = {classes} but the base image set has {len(files)} object classes; "
                f"choose 1..{len(files)}."
            )
        return files[:classes]
    by_name = dict(files)
    unknown = [c for c in classes if c not in by_name]
    if unknown:
        raise ValueError(f"objects: unknown class names {unknown}; known: {sorted(by_name)}.")
    return [(c, by_name[c]) for c in classes]


def _square_crop_resize(
    photo: Image.Image, box: tuple[int, int, int], image_size: int
) -> torch.Tensor:
    x, y, side = box
    crop = photo.resize(
        (image_size, image_size), Image.BILINEAR, box=(x, y, x + side, y + side), reducing_gap=2.0
    )
    return torch.from_numpy(np.asarray(crop, dtype=np.float32) / 255.0).permute(2, 0, 1)


def load_backgrounds(
    source: str = "embedded",
    base_dir: str | Path | None = None,
    image_size: int = 32,
    n_backgrounds: int = DEFAULT_N_BACKGROUNDS,
    seed: int = 0,
    min_scale: float = 0.25,
) -> torch.Tensor:
    """Square background crops resized to the image size: float [B, 3, S, S].

    With at least ``n_backgrounds`` photos, crop ``i`` is the centre square of photo ``i``; with
    fewer (the embedded set), crop ``i`` comes from photo ``i mod P`` at a seeded random position
    and a side of ``U[min_scale, 1]`` times the photo's shorter side, so the crops are distinct.
    """
    if n_backgrounds < 1:
        raise ValueError(f"n_backgrounds must be >= 1, got {n_backgrounds}.")
    files = list_photo_files(source, base_dir)
    photos = [_open_image(p, "background image").convert("RGB") for p in files]
    rnd = SampleRandom(seed, "backgrounds", torch.arange(n_backgrounds))
    scale = rnd.uniform("scale", low=min_scale, high=1.0)
    px, py = rnd.uniform("x"), rnd.uniform("y")
    crops = []
    for i in range(n_backgrounds):
        photo = photos[i % len(photos)]
        w, h = photo.size
        short = min(w, h)
        if len(photos) >= n_backgrounds:
            side = short
            x, y = (w - side) // 2, (h - side) // 2
        else:
            side = max(image_size, int(short * float(scale[i])))
            side = min(side, short)
            x = int(float(px[i]) * (w - side + 1))
            y = int(float(py[i]) * (h - side + 1))
        crops.append(_square_crop_resize(photo, (x, y, side), image_size))
    return torch.stack(crops)


@functools.lru_cache(maxsize=8)
def _cached_base_images(
    source: str, base_dir: str | None, image_size: int, n_backgrounds: int, seed: int, fill: float
) -> tuple[tuple[str, ...], torch.Tensor, torch.Tensor]:
    names, objects = load_objects(source, base_dir, image_size, fill)
    backgrounds = load_backgrounds(source, base_dir, image_size, n_backgrounds, seed)
    return names, objects, backgrounds


def load_base_images(
    source: str = "embedded",
    base_dir: str | Path | None = None,
    image_size: int = 32,
    n_backgrounds: int = DEFAULT_N_BACKGROUNDS,
    background_seed: int = 0,
    object_fill: float = 0.7,
) -> BaseImages:
    """All objects and backgrounds of a source, prepared at ``image_size`` (cached per process)."""
    names, objects, backgrounds = _cached_base_images(
        source,
        None if base_dir is None else str(base_dir),
        image_size,
        n_backgrounds,
        background_seed,
        object_fill,
    )
    return BaseImages(names, objects, backgrounds)


def random_patterns(n_classes: int, image_size: int, seed: int, fill: float = 0.7) -> torch.Tensor:
    """The 'structured random data' objects: one fixed square of i.i.d. uniform RGB pixels per class.

    Returns float [K, 4, S, S] straight RGBA: an opaque square of side ``fill * S`` centred on a
    transparent canvas.
    """
    side = max(1, round(fill * image_size))
    rnd = SampleRandom(seed, "random_patterns", torch.arange(n_classes))
    pixels = rnd.uniform("pixels", 3 * side * side).reshape(n_classes, 3, side, side)
    out = torch.zeros(n_classes, 4, image_size, image_size)
    o = (image_size - side) // 2
    out[:, :3, o : o + side, o : o + side] = pixels
    out[:, 3, o : o + side, o : o + side] = 1.0
    return out
