"""Exact Wasserstein-1 distance between two empirical distributions (uniform weights).

W1(mu, nu) = min over couplings pi of sum_ij pi_ij ||x_i - y_j||_2 (WGAN eq. 1). In 1-D the
optimal coupling matches sorted samples, and scipy's closed form is exact; in higher dimensions
POT's network-simplex solver (``ot.emd2``) solves the linear programme exactly.
"""

from __future__ import annotations

import math

import numpy as np
import ot
import scipy.stats
import torch


def _as_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(len(x), -1)


def exact_w1(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray) -> float:
    """Exact W1 between the empirical distributions of the rows of ``x`` and of ``y``; NaN
    when a sample is not finite."""
    a, b = _as_numpy(x), _as_numpy(y)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return math.nan  # samples of a diverged generator have no distance (never 0)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"samples of dimension {a.shape[1]} and {b.shape[1]} cannot be compared")
    if a.shape[1] == 1:
        return float(scipy.stats.wasserstein_distance(a[:, 0], b[:, 0]))
    cost = ot.dist(a, b, metric="euclidean")
    weights_a = np.full(len(a), 1.0 / len(a))
    weights_b = np.full(len(b), 1.0 / len(b))
    return float(ot.emd2(weights_a, weights_b, cost, numItermax=10_000_000))
