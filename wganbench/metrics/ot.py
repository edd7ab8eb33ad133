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


class KantorovichPotential:
    """An optimal critic of the exact transport problem between two sample sets (the dual of
    W1 in the Kantorovich-Rubinstein form, WGAN eq. 2): a 1-Lipschitz f with
    mean f(x) - mean f(y) = W1(x, y), high on ``x``.

    POT's network simplex returns dual potentials u (on x) and v (on y) with
    u_i + v_j <= |x_i - y_j| and mean u + mean v = W1. Their c-transform
    f(p) = min_j |p - y_j| - v_j is defined everywhere, is 1-Lipschitz (a minimum of
    1-Lipschitz functions) and is still optimal, so it can be evaluated on any point (a grid,
    a critic's samples). The potential is unique only up to a constant on the transport rays:
    compare critics with it by rank or after removing the mean, never by value."""

    def __init__(self, x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray) -> None:
        a, self._y = _as_numpy(x), _as_numpy(y)
        cost = ot.dist(a, self._y, metric="euclidean")
        weights_a, weights_b = np.full(len(a), 1.0 / len(a)), np.full(len(self._y), 1.0 / len(self._y))
        _, log = ot.emd(weights_a, weights_b, cost, numItermax=10_000_000, log=True)
        if log.get("warning"):
            raise RuntimeError(f"exact transport did not converge: {log['warning']}")
        self._v = np.asarray(log["v"], dtype=np.float64)
        #: W1(x, y), the transport cost
        self.w1 = float(log["cost"])

    def __call__(self, points: torch.Tensor | np.ndarray, chunk: int = 4096) -> np.ndarray:
        p = _as_numpy(points)
        return np.concatenate([
            (ot.dist(p[i:i + chunk], self._y, metric="euclidean") - self._v).min(axis=1)
            for i in range(0, len(p), chunk)])
