"""Render throughput: our batched Transforms-2D engine against the original per-sample pipeline.

Measures images per second to render a 3-transformation Transforms-2D dataset (default one
geometric, one photometric, one corruption: ``rotate, hue, blur``), 30 objects, 32x32:

* ours: :func:`render_split` at batch size 1024 (CPU by default, ``--device cuda`` supported);
* baseline: a re-creation of the original implementation's way of working: a torch ``Dataset``
  whose ``__getitem__`` picks an object and a background PIL image, applies torchvision v1
  (``torchvision.transforms``) transformations to the object RGBA image (colour ops on the RGB
  channels with alpha split off and merged back), pastes it with alpha onto the background with
  PIL and converts with ``ToTensor`` to uint8; iterated with a ``DataLoader`` without workers, and
  with ``--workers`` (default 2) persistent workers.

Both sides start from the same base images (embedded assets prepared at the render size); loading
them is not timed. Each measurement is warmed up, repeated ``--repeats`` times, and the best is kept.

    DO_NOT_TRACK=true python benchmarks/render_throughput.py
    DO_NOT_TRACK=true python benchmarks/render_throughput.py --transforms scale invert pixelate
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
import torch
from PIL import Image
from timing import best_time, print_machine
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms as T

from transfer_invariance.core import base_images as bi
from transfer_invariance.core.rendering import DatasetSpec, Renderer, render_split
from transfer_invariance.core.transforms import TRANSFORMS

PilOp = Callable[[Image.Image], Image.Image]


# ----------------------------------------------------------------------------------------------
# Baseline: per-sample PIL + torchvision v1, the way the original implementation worked


def _on_rgb(op: PilOp) -> PilOp:
    """Apply a colour op to the RGB channels of an RGBA image, keeping its alpha."""

    def apply(img: Image.Image) -> Image.Image:
        r, g, b, a = img.split()
        rgb = op(Image.merge("RGB", (r, g, b)))
        return Image.merge("RGBA", (*rgb.split(), a))

    return apply


def _pixelate(factor: int, p: float) -> PilOp:
    def apply(img: Image.Image) -> Image.Image:
        if torch.rand(1).item() >= p:
            return img
        w, h = img.size
        small = img.resize((w // factor, h // factor), Image.BOX)
        return small.resize((w, h), Image.NEAREST)

    return apply


def baseline_op(name: str, params: dict[str, float], image_size: int) -> PilOp:
    """The torchvision v1 transformation the original would have used for ``name`` (RGBA in/out)."""
    p = params.get("p", 0.5)
    if name == "rotate":
        return T.RandomRotation((params["min_angle"], params["max_angle"]))
    if name == "translate":
        return T.RandomAffine(0, translate=(0.3, 0.3))
    if name == "scale":
        return T.RandomAffine(0, scale=(params["min_scale"], params["max_scale"]))
    if name == "shear":
        return T.RandomAffine(0, shear=params["max_shear"])
    if name == "h_flip":
        return T.RandomHorizontalFlip(p)
    if name == "v_flip":
        return T.RandomVerticalFlip(p)
    if name == "hue":
        return _on_rgb(T.ColorJitter(hue=params["max_shift"]))
    if name == "brightness":
        return _on_rgb(T.ColorJitter(brightness=(params["min_factor"], params["max_factor"])))
    if name == "contrast":
        return _on_rgb(T.ColorJitter(contrast=(params["min_factor"], params["max_factor"])))
    if name == "grayscale":
        return _on_rgb(T.RandomGrayscale(p))
    if name == "posterize":
        return _on_rgb(T.RandomPosterize(int(params["bits"]), p))
    if name == "invert":
        return _on_rgb(T.RandomInvert(p))
    if name == "sharpen":
        return _on_rgb(T.RandomAdjustSharpness(params["factor"], p))
    if name == "blur":
        k = int(params["kernel_size"])
        return T.GaussianBlur(k, sigma=(params["min_sigma"], params["max_sigma"]))
    if name == "pixelate":
        return _pixelate(int(params["factor"]), p)
    if name == "elastic":
        return T.RandomApply([T.ElasticTransform(params["alpha"], params["sigma"])], p)
    raise ValueError(
        f"--transforms: no PIL/torchvision v1 baseline for {name!r}; choose from {BASELINE_NAMES}."
    )


BASELINE_NAMES = (
    "rotate translate scale shear h_flip v_flip hue brightness contrast grayscale posterize "
    "invert sharpen blur pixelate elastic"
).split()


class OriginalStyleDataset(Dataset):
    """Per-sample rendering as in the original: PIL object + background, torchvision v1 ops."""

    def __init__(self, objects: list[Image.Image], backgrounds: list[Image.Image], ops, n: int):
        self.objects, self.backgrounds, self.n = objects, backgrounds, n
        self.transform = T.Compose(ops)
        self.to_tensor = T.ToTensor()

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        label = int(torch.randint(len(self.objects), (1,)))
        background = self.backgrounds[int(torch.randint(len(self.backgrounds), (1,)))]
        obj = self.transform(self.objects[label])
        canvas = background.copy()
        canvas.paste(obj, (0, 0), obj)
        image = (self.to_tensor(canvas) * 255).round().to(torch.uint8)
        return image, label


def pil_base_images(n_objects: int, image_size: int) -> tuple[list[Image.Image], list[Image.Image]]:
    """The same embedded base images as ours, prepared at the render size, as PIL images."""
    objects = []
    for _, path in bi.list_object_files("embedded")[:n_objects]:
        with Image.open(path) as im:
            straight = bi.prepare_object(im.convert("RGBA"), image_size)
        arr = (straight.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        objects.append(Image.fromarray(arr, "RGBA"))
    assert bi.list_photo_files("embedded"), "no embedded photos"
    bgs = bi.load_backgrounds("embedded", None, image_size)
    bg_arr = (bgs.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    backgrounds = [Image.fromarray(a, "RGB") for a in bg_arr]
    return objects, backgrounds


def run_baseline(loader: DataLoader) -> torch.Tensor:
    images = [x for x, _ in loader]
    return torch.cat(images)


# ----------------------------------------------------------------------------------------------
# Timing


def best_rate(fn: Callable[[], object], n: int, repeats: int, sync: Callable[[], None]) -> float:
    """Images per second of the fastest of ``repeats`` runs of ``fn`` (which renders n images)."""
    return n / best_time(fn, repeats, sync)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--transforms", nargs="+", default=["rotate", "hue", "blur"])
    ap.add_argument("--objects", type=int, default=30)
    ap.add_argument("--image-size", type=int, default=32)
    ap.add_argument("--n-ours", type=int, default=5000)
    ap.add_argument("--n-baseline", type=int, default=1000)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, default=2, help="baseline DataLoader workers (0: skip)")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--skip-baseline", action="store_true")
    ap.add_argument(
        "--threads", type=int, default=0, help="torch threads for both sides (0: machine default)"
    )
    args = ap.parse_args()
    names = [n for t in args.transforms for n in t.replace(",", " ").split()]
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: CUDA is not available on this machine.")

    threads = args.threads or torch.get_num_threads()  # default: the machine's default
    torch.set_num_threads(threads)
    print_machine(threads, args.device)
    print(
        f"dataset: transforms={names} "
        f"({', '.join(TRANSFORMS[n].category for n in names)}), objects={args.objects}, "
        f"{args.image_size}x{args.image_size}"
    )

    # ours
    spec = DatasetSpec(
        name="bench",
        transforms=tuple(names),
        objects=args.objects,
        n_train=args.n_ours,
        image_size=args.image_size,
    )
    renderer = Renderer.from_spec(spec)
    if args.device == "cuda":

        def sync() -> None:
            torch.cuda.synchronize()
    else:

        def sync() -> None:
            pass

    def ours() -> None:
        out = render_split(
            renderer, "train", args.n_ours, args.batch_size, progress=False, device=args.device
        )
        out["images"].cpu()

    render_split(renderer, "train", min(args.batch_size, args.n_ours), args.batch_size, False)
    sync()
    rows = [
        (
            f"ours: render_split (batch {args.batch_size}, {args.device})",
            args.n_ours,
            best_rate(ours, args.n_ours, args.repeats, sync),
        )
    ]

    # baseline
    if not args.skip_baseline:
        params = spec.params
        ops = [baseline_op(n, params[n], args.image_size) for n in names if n != "none"]
        objects, backgrounds = pil_base_images(args.objects, args.image_size)
        ds = OriginalStyleDataset(objects, backgrounds, ops, args.n_baseline)
        loader0 = DataLoader(ds, batch_size=128, num_workers=0)
        run_baseline(DataLoader(ds, batch_size=128, sampler=range(100)))  # warm-up
        rate = best_rate(lambda: run_baseline(loader0), args.n_baseline, args.repeats, lambda: None)
        rows.append(("baseline: PIL + torchvision v1, per sample", args.n_baseline, rate))
        if threads > 1:
            # Tiny per-sample torch ops (GaussianBlur's conv2d) can be far slower with a multi-thread
            # pool than single-threaded, above all on a loaded machine: report the fairer best case.
            torch.set_num_threads(1)
            run_baseline(DataLoader(ds, batch_size=128, sampler=range(100)))
            rate = best_rate(
                lambda: run_baseline(loader0), args.n_baseline, args.repeats, lambda: None
            )
            torch.set_num_threads(threads)
            rows.append(("baseline: same, torch threads=1", args.n_baseline, rate))
        if args.workers > 0:
            loader_w = DataLoader(
                ds, batch_size=128, num_workers=args.workers, persistent_workers=True
            )
            run_baseline(loader_w)  # warm-up: starts the workers
            rate = best_rate(
                lambda: run_baseline(loader_w), args.n_baseline, args.repeats, lambda: None
            )
            rows.append(
                (f"baseline: same, DataLoader {args.workers} workers", args.n_baseline, rate)
            )

    ours_rate = rows[0][2]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'method':<{width}}  {'images':>7}  {'images/s':>10}  {'ours/this':>9}")
    for label, n, rate in rows:
        print(f"{label:<{width}}  {n:>7}  {rate:>10,.0f}  {ours_rate / rate:>8.1f}x")
    if len(rows) > 1:
        best = max(rows[1:], key=lambda r: r[2])
        print(f"ours / fastest baseline ({best[0]}): {ours_rate / best[2]:.1f}x")
    if args.device == "cuda":
        print("(ours on CUDA vs baselines on CPU: the ratio is not a like-for-like comparison)")


if __name__ == "__main__":
    main()
