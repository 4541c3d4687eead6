import math

import pytest
import torch

from transfer_invariance.core import invariance
from transfer_invariance.core.invariance import (
    pair_representations,
    random_pairs,
    sensitivity_cosine,
    sensitivity_l2,
)
from transfer_invariance.core.models import build_model
from transfer_invariance.core.rendering import DatasetSpec, Renderer, render_pairs
from transfer_invariance.core.training import NormalizedModel


def _spy_distances(monkeypatch, name: str = "_l2") -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Record the (x, y) rows each distance call of the sensitivity gets (numerator, then reference)."""
    calls: list[tuple[torch.Tensor, torch.Tensor]] = []
    dist = getattr(invariance, name)

    def spy(x, y):
        calls.append((x.clone(), y.clone()))
        return dist(x, y)

    monkeypatch.setattr(invariance, name, spy)
    return calls


def test_identical_pairs_score_zero():
    reps = torch.randn(50, 8, generator=torch.Generator().manual_seed(0))
    assert sensitivity_l2(reps, reps.clone()) == 0.0
    assert sensitivity_cosine(reps, reps.clone()) == pytest.approx(0.0, abs=1e-12)


def test_independent_samples_score_about_one():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(3000, 16, generator=g), torch.randn(3000, 16, generator=g)
    assert sensitivity_l2(a, b) == pytest.approx(1.0, abs=0.03)
    assert sensitivity_cosine(a + 0.5, b + 0.5) == pytest.approx(1.0, abs=0.05)


def test_half_way_pairs_in_between():
    g = torch.Generator().manual_seed(2)
    a = torch.randn(2000, 16, generator=g)
    b = a + 0.3 * torch.randn(2000, 16, generator=g)
    assert 0.05 < sensitivity_l2(a, b) < 0.5


def test_partners_are_never_drawn_together(monkeypatch):
    # T = {none}: a_k == b_k exactly. One-hot rows: every pair of distinct source samples is at
    # distance sqrt(2), a sample and its partner at 0 (the old pool cat(a, b) drew partners 1 time
    # in 2n - 1 and pulled the reference down).
    n = 3
    a = torch.eye(n, dtype=torch.float64)
    b = a.clone()
    calls = _spy_distances(monkeypatch)
    for seed in range(5):
        calls.clear()
        assert sensitivity_l2(a, b, n_random_pairs=5000, seed=seed) == 0.0
        (pa, pb), (ra, rb) = calls
        assert torch.equal(pa, a) and torch.equal(pb, b)
        assert ra.shape == (5000, n)
        # Row index = source sample: neither itself nor its partner on the other side.
        src_a, src_b = ra.argmax(1), rb.argmax(1)
        assert (src_a != src_b).all()
        assert torch.allclose((ra - rb).norm(dim=1), torch.full((5000,), math.sqrt(2)).double())
        # Both orders of every (k, l) with k != l are drawn.
        assert {(int(k), int(m)) for k, m in zip(src_a, src_b, strict=True)} == {
            (k, m) for k in range(n) for m in range(n) if k != m
        }


def test_reference_is_exactly_the_distance_of_distinct_samples():
    # a_k = (e_k, 0), b_k = (e_k, 1): pairs at distance 1, distinct samples (a_k, b_l) at sqrt(3),
    # so the score is exactly 1 / sqrt(3) whatever the seed or the number of random pairs (the
    # old pool mixed in a-a and b-b pairs at sqrt(2) and partners at 1).
    n = 4
    a = torch.cat([torch.eye(n), torch.zeros(n, 1)], 1)
    b = torch.cat([torch.eye(n), torch.ones(n, 1)], 1)
    for seed in range(3):
        for n_random in (1, 7, 2000):
            got = sensitivity_l2(a, b, n_random_pairs=n_random, seed=seed)
            assert got == pytest.approx(1 / math.sqrt(3), abs=1e-12)


def test_rendered_none_pairs_never_compare_partners(monkeypatch):
    # The project's renderer with T = {none} gives identical images in each pair.
    spec = DatasetSpec(name="t", transforms=("none",), objects=3, n_test=12, image_size=16)
    pairs = render_pairs(Renderer.from_spec(spec), "test", 12, progress=False)
    torch.manual_seed(0)
    model = NormalizedModel(build_model("resnet18", 3, 0.125), [0.5] * 3, [0.25] * 3)
    ra, rb = pair_representations(model, pairs, batch_size=12, device="cpu")
    assert torch.equal(ra, rb)
    calls = _spy_distances(monkeypatch)
    assert sensitivity_l2(ra, rb, n_random_pairs=3000, seed=1) == 0.0
    (_, _), (xa, xb) = calls
    # The 12 renderings have distinct representations, so each drawn row names its source sample.
    assert bool((torch.pdist(ra.double()) > 0).all())
    src_a = torch.cdist(xa, ra.double()).argmin(1)
    src_b = torch.cdist(xb, rb.double()).argmin(1)
    assert (src_a != src_b).all()
    assert bool(((xa - xb).norm(dim=1) > 0).all())


def test_score_is_seeded():
    g = torch.Generator().manual_seed(5)
    a = torch.randn(200, 16, generator=g)
    b = a + 0.5 * torch.randn(200, 16, generator=g)
    for fn in (sensitivity_l2, sensitivity_cosine):
        assert fn(a, b, n_random_pairs=300, seed=3) == fn(
            a.clone(), b.clone(), n_random_pairs=300, seed=3
        )
        assert fn(a, b, n_random_pairs=300, seed=3) != fn(a, b, n_random_pairs=300, seed=4)


def test_needs_two_pairs():
    a = torch.randn(1, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match="at least 2"):
        sensitivity_l2(a, a + 1)


def test_random_pairs_have_no_self_pairs_and_are_seeded():
    for n in (2, 3, 17):
        i, j = random_pairs(n, 5000, seed=4)
        assert (i != j).all()
        assert int(i.min()) >= 0 and int(i.max()) < n and int(j.min()) >= 0 and int(j.max()) < n
    i1, j1 = random_pairs(10, 100, seed=7)
    i2, j2 = random_pairs(10, 100, seed=7)
    assert torch.equal(i1, i2) and torch.equal(j1, j2)
    with pytest.raises(ValueError):
        random_pairs(1, 10)


def test_explicit_pool_and_errors():
    g = torch.Generator().manual_seed(3)
    a, b = torch.randn(20, 4, generator=g), torch.randn(20, 4, generator=g)
    pool = torch.randn(100, 4, generator=g)
    assert sensitivity_l2(a, b, reps_pool=pool, n_random_pairs=500) > 0
    with pytest.raises(ValueError, match="reps_a"):
        sensitivity_l2(a, b[:10])
    with pytest.raises(ValueError, match="reps_pool"):
        sensitivity_l2(a, b, reps_pool=torch.randn(10, 5))


def test_pair_representations():
    torch.manual_seed(0)
    model = NormalizedModel(build_model("resnet18", 3, 0.125), [0.5] * 3, [0.25] * 3)
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=g)
    other = torch.randint(0, 256, (6, 3, 16, 16), dtype=torch.uint8, generator=g)
    pair_set = {"a": {"images": imgs}, "b": {"images": imgs.clone()}}
    ra, rb = pair_representations(model, pair_set, batch_size=4, device="cpu")
    assert ra.shape == (6, model.feature_dim)
    assert sensitivity_l2(ra, rb) == pytest.approx(0.0, abs=1e-6)
    ra, rb = pair_representations(
        model, {"a": {"images": imgs}, "b": {"images": other}}, device="cpu"
    )
    assert sensitivity_l2(ra, rb) > 0.3


def test_bf16_sensitivity_is_within_0_02_of_float32():
    """The GPU path's bf16 representations (forced on the CPU here) change the L2 sensitivity of
    a half-changed pair set by less than 0.02 (a tenth of harm's smallest finding margin)."""
    torch.manual_seed(0)
    model = NormalizedModel(build_model("resnet18", 3, 0.25), [0.5] * 3, [0.25] * 3)
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (64, 3, 16, 16), dtype=torch.uint8, generator=g)
    other = imgs.clone()
    other[:, :, :8] = torch.randint(0, 256, (64, 3, 8, 16), dtype=torch.uint8, generator=g)
    pair_set = {"a": {"images": imgs}, "b": {"images": other}}
    scores = {
        bf16: sensitivity_l2(*pair_representations(model, pair_set, device="cpu", bf16=bf16))
        for bf16 in (False, True)
    }
    assert 0.1 < scores[False] < 0.9
    assert scores[True] == pytest.approx(scores[False], abs=0.02)
