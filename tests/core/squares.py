"""A tiny, easy image task shared by the training tests: a coloured square per class."""

import torch

COLOURS = torch.tensor(
    [[230, 30, 30], [30, 230, 30], [30, 30, 230], [230, 230, 30]], dtype=torch.uint8
)


def make_squares(n: int, seed: int, size: int = 16, k: int = 3) -> dict:
    """k classes (<= 4): a coloured 6x6 square at a random position on a noisy grey background."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, k, (n,), generator=g)
    images = (torch.rand(n, 3, size, size, generator=g) * 80 + 60).to(torch.uint8)
    pos = torch.randint(0, size - 6, (n, 2), generator=g)
    for i in range(n):
        r, c = pos[i].tolist()
        images[i, :, r : r + 6, c : c + 6] = COLOURS[labels[i]][:, None, None]
    return {
        "images": images,
        "labels": labels,
        "latents": {},
        "meta": {"class_names": [f"c{j}" for j in range(k)], "image_size": size, "name": "squares"},
    }
