"""Exact W1 against brute force and closed forms."""

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from wganbench.metrics.ot import exact_w1


def test_1d_matches_sorted_samples():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, 500), rng.normal(1, 2, 500)
    expected = np.abs(np.sort(x) - np.sort(y)).mean()
    assert exact_w1(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-12)


def test_2d_matches_optimal_assignment():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(60, 2)), rng.normal(size=(60, 2)) + 0.5
    cost = cdist(x, y)
    rows, cols = linear_sum_assignment(cost)
    assert exact_w1(torch.tensor(x), torch.tensor(y)) == pytest.approx(cost[rows, cols].mean(), rel=1e-9)


def test_translation_costs_its_length():
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    shift = torch.tensor([0.3, -0.4])
    assert exact_w1(x, x + shift) == pytest.approx(0.5, rel=1e-6)
    assert exact_w1(x, x) == pytest.approx(0.0, abs=1e-12)


def test_unequal_sample_sizes():
    x = np.zeros((3, 2))
    y = np.array([[1.0, 0.0], [0.0, 2.0]])
    assert exact_w1(x, y) == pytest.approx(1.5)


def test_kantorovich_potential_is_an_optimal_critic():
    """WGAN eq. 2: the potential is 1-Lipschitz and its mean difference is the exact W1 (it is
    not unique, so only these properties are checked)."""
    from wganbench.metrics.ot import KantorovichPotential

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 2, generator=g)
    y = 0.5 * torch.randn(150, 2, generator=g) + torch.tensor([3.0, 0.0])
    potential = KantorovichPotential(x, y)
    assert potential.w1 == pytest.approx(exact_w1(x, y), rel=1e-9)
    fx, fy = potential(x), potential(y)
    assert fx.mean() - fy.mean() == pytest.approx(exact_w1(x, y), rel=1e-9)
    points = torch.cat([x, y, torch.randn(100, 2, generator=g) * 4])
    f = potential(points, chunk=37)  # chunking does not change the values
    assert np.allclose(f, potential(points))
    dist = torch.cdist(points.double(), points.double()).numpy()
    diff = np.abs(f[:, None] - f[None, :])
    assert (diff <= dist + 1e-9).all()
