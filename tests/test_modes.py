"""Mode metrics (VEEGAN / PacGAN) and the Swiss-roll distance on hand-constructed sample sets."""

import math

import pytest
import torch

from wganbench.data import DataOptions, get_dataset
from wganbench.metrics.modes import (MODE_SETS, N_SIGMA, manifold_distance, mode_metrics,
                                     sample_quality, swiss_roll_curve)


@pytest.mark.parametrize("name,k", [("8gaussians", 8), ("25gaussians", 25)])
def test_every_mode_covered_evenly(name, k):
    modes = MODE_SETS[name]()
    g = torch.Generator().manual_seed(0)
    offsets = torch.randn(10 * k, 2, generator=g) * modes.sigma * 0.5  # well inside 3 sigma
    samples = modes.centers.repeat(10, 1) + offsets.clamp(-modes.sigma, modes.sigma)
    m = mode_metrics(samples, modes)
    assert m == {"modes_covered": k, "modes_total": k, "high_quality": 1.0,
                 "reverse_kl": pytest.approx(0.0, abs=1e-12)}


@pytest.mark.parametrize("name,k", [("8gaussians", 8), ("25gaussians", 25)])
def test_one_mode_missing(name, k):
    modes = MODE_SETS[name]()
    samples = modes.centers[1:].repeat(4, 1)  # mode 0 never drawn
    m = mode_metrics(samples, modes)
    assert m["modes_covered"] == k - 1 and m["high_quality"] == 1.0
    assert m["reverse_kl"] == pytest.approx(math.log(k / (k - 1)))  # q uniform over k - 1 modes


def test_all_samples_off_mode():
    modes = MODE_SETS["25gaussians"]()
    step = float(modes.centers[1, 1] - modes.centers[0, 1])  # grid spacing
    samples = modes.centers + step / 2  # between the grid's modes, many sigmas from any
    m = mode_metrics(samples, modes)
    assert m["modes_covered"] == 0 and m["high_quality"] == 0.0 and math.isnan(m["reverse_kl"])


def test_the_three_sigma_boundary():
    modes = MODE_SETS["8gaussians"]()
    inside = modes.centers[:1] + torch.tensor([[N_SIGMA * modes.sigma * 0.99, 0.0]])
    outside = modes.centers[:1] + torch.tensor([[N_SIGMA * modes.sigma * 1.01, 0.0]])
    assert mode_metrics(inside, modes)["high_quality"] == 1.0
    assert mode_metrics(outside, modes)["high_quality"] == 0.0


@pytest.mark.parametrize("name", ["8gaussians", "25gaussians"])
def test_real_data_covers_every_mode_with_high_quality(name):
    """Real samples: P(|N(0, I_2)| <= 3) = 1 - exp(-4.5) = 0.989 are high quality."""
    sampler = get_dataset(name).make(DataOptions())
    m = mode_metrics(sampler.sample(5000, torch.Generator().manual_seed(1)), MODE_SETS[name]())
    assert m["modes_covered"] == m["modes_total"]
    assert m["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.01)
    assert m["reverse_kl"] < 0.02


def test_swiss_roll_distance():
    curve = swiss_roll_curve()
    assert manifold_distance(curve[::7].float()) == pytest.approx(0.0, abs=1e-6)
    real = get_dataset("swissroll").make(DataOptions()).sample(2000, torch.Generator().manual_seed(2))
    d_real = manifold_distance(real)
    assert 0.01 < d_real < 0.05  # the roll's noise, 0.25 / 7.5 per coordinate
    assert manifold_distance(torch.zeros(10, 2)) > 5 * d_real  # the centre is far from the roll


def test_non_finite_samples_give_nan():
    bad = torch.full((10, 2), math.nan)
    assert all(math.isnan(v) for k, v in sample_quality("8gaussians", bad).items()
               if k != "modes_total")
    assert math.isnan(sample_quality("swissroll", bad)["manifold_distance"])
    assert sample_quality("gaussian-1d", torch.zeros(3, 1)) == {}
