"""Toy data constants against WGAN-GP gan_toy.py (paper-facts §5) and the WGAN paper."""

import math

import pytest
import torch

from wganbench.data import DataOptions, DATASETS, get_dataset
from wganbench.data import toy
from wganbench.latent import parse_latent


def _gen(seed=0):
    return torch.Generator().manual_seed(seed)


def test_8gaussians_radius_noise_and_centres():
    x = get_dataset("8gaussians").make(DataOptions()).sample(40_000, _gen())
    assert x.shape == (40_000, 2)
    # the 8 centres lie on a circle of radius 2 / 1.414
    centres = torch.tensor(toy.EIGHT_GAUSSIANS_CENTERS) * 2.0 / 1.414
    d = torch.cdist(x, centres)
    nearest = d.argmin(1)
    assert torch.bincount(nearest, minlength=8).min() > 4000  # uniform choice of centre
    residual = x - centres[nearest]
    assert residual.std(0).tolist() == pytest.approx([0.02 / 1.414] * 2, rel=0.03)
    assert x.norm(dim=1).mean().item() == pytest.approx(2 / 1.414, rel=1e-3)


def test_25gaussians_fixed_dataset():
    pts = toy.make_25gaussians_dataset()
    assert pts.shape == (100_000, 2)
    assert torch.equal(pts, toy.make_25gaussians_dataset())  # the same set for every run
    rounded = torch.round(pts * 2.828 / 2)  # back to the integer grid
    assert set(rounded.flatten().tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0}
    residual = pts - rounded * 2 / 2.828
    assert residual.std(0).tolist() == pytest.approx([0.05 / 2.828] * 2, rel=0.03)
    counts = torch.unique(rounded, dim=0, return_counts=True)[1]
    assert len(counts) == 25 and (counts == 4000).all()  # 4000 passes over the 5x5 grid


def test_25gaussians_iterates_in_order_and_drops_the_partial_batch():
    sampler = get_dataset("25gaussians").make(DataOptions())
    pts = toy.make_25gaussians_dataset()
    g = _gen()
    first = sampler.sample(256, g)
    assert torch.equal(first, pts[:256])
    sampler.load_state_dict({"batch_index": 389})  # last full batch of a pass (390 per pass)
    assert torch.equal(sampler.sample(256, g), pts[389 * 256:390 * 256])
    assert torch.equal(sampler.sample(256, g), pts[:256])  # wraps, dropping the 160 left over
    assert sampler.state_dict() == {"batch_index": 391}


def test_swissroll_columns_and_scale():
    x = get_dataset("swissroll").make(DataOptions()).sample(20_000, _gen()) * 7.5  # undo the / 7.5
    r = x.norm(dim=1)  # |(t cos t, t sin t)| = t, plus N(0, 0.25^2) noise per column
    assert r.min().item() > 1.5 * math.pi - 1.5
    assert r.max().item() < 4.5 * math.pi + 1.5
    assert r.mean().item() == pytest.approx(3 * math.pi, rel=0.02)  # t = 1.5 pi (1 + 2u)
    # the angle of (x, z) is t itself (mod 2 pi): columns [0, 2] of sklearn's roll
    t = r
    phase = torch.atan2(x[:, 1], x[:, 0]) - t
    wrapped = torch.remainder(phase + math.pi, 2 * math.pi) - math.pi
    # (r estimates t with N(0, 0.25^2) error, so the phase error has median ~0.17; the wrong
    # columns would give phases spread over [-pi, pi], median ~pi/2)
    assert wrapped.abs().median().item() < 0.3


@pytest.mark.parametrize("name,mean", [("two-gaussians", -5.0), ("gaussian-1d", 2.0)])
def test_1d_gaussians(name, mean):
    x = get_dataset(name).make(DataOptions()).sample(50_000, _gen())
    assert x.shape == (50_000, 1)
    assert x.mean().item() == pytest.approx(mean, abs=0.02)
    assert x.std().item() == pytest.approx(1.0, abs=0.02)


def test_gaussian_1d_recipe():
    spec = get_dataset("gaussian-1d")
    assert (spec.width, spec.depth, spec.latent) == (128, 2, "uniform:0:5")
    z = parse_latent(spec.latent, spec.latent_dim).sample(10_000, _gen())
    assert z.min() >= 0 and z.max() <= 5 and z.mean().item() == pytest.approx(2.5, abs=0.05)


def test_parallel_lines():
    x = get_dataset("parallel-lines").make(DataOptions()).sample(10_000, _gen())
    assert (x[:, 0] == 0).all()
    assert x[:, 1].min() >= 0 and x[:, 1].max() <= 1
    assert x[:, 1].mean().item() == pytest.approx(0.5, abs=0.02)


def test_toy_mlp_sizes():
    for name in ("8gaussians", "25gaussians", "swissroll"):
        spec = DATASETS.get(name)
        assert (spec.width, spec.depth, spec.latent_dim) == (512, 3, 2)


def test_samplers_are_reproducible_and_seed_dependent():
    s = get_dataset("swissroll").make(DataOptions())
    assert torch.equal(s.sample(100, _gen(3)), s.sample(100, _gen(3)))
    assert not torch.equal(s.sample(100, _gen(3)), s.sample(100, _gen(4)))
