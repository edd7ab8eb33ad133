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
