import pytest
import torch

from transfer_invariance.core.invariance import (
    pair_representations,
    random_pairs,
    sensitivity_cosine,
    sensitivity_l2,
)
from transfer_invariance.core.models import build_model
from transfer_invariance.core.training import NormalizedModel


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
