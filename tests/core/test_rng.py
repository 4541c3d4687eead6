import torch

from transfer_invariance.core.rng import SampleRandom


def test_draws_are_a_pure_function_of_seed_split_index():
    idx = torch.arange(100)
    a = SampleRandom(3, "train", idx).uniform("x", 4)
    b = SampleRandom(3, "train", idx[50:]).uniform("x", 4)
    assert torch.equal(a[50:], b)
    assert not torch.equal(a, SampleRandom(3, "val", idx).uniform("x", 4))
    assert not torch.equal(a, SampleRandom(4, "train", idx).uniform("x", 4))
    assert not torch.equal(a, SampleRandom(3, "train", idx).uniform("y", 4))


def test_uniform_and_normal_statistics():
    rnd = SampleRandom(0, "train", torch.arange(20000))
    u = rnd.uniform("u")
    assert 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.01 and abs(u.std() - 12**-0.5) < 0.01
    z = rnd.normal("z")
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    k = rnd.integers("k", 7)
    counts = torch.bincount(k, minlength=7).float()
    assert k.min() == 0 and k.max() == 6 and (counts / counts.mean() - 1).abs().max() < 0.1
