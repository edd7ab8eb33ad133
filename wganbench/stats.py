"""Uncertainty over seeds: mean, standard deviation and a bootstrap confidence interval; and a
permutation test of a rank correlation (does one curve rise and fall with another?)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd
import scipy.stats

#: resamples and seed of the bootstrap, fixed so that a table is the same every time it is made
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (scipy.stats.bootstrap). With fewer than two
    values there is no interval: (nan, nan). With identical values the interval is that value."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) < 2:
        return (math.nan, math.nan)
    if np.all(x == x[0]):
        return (float(x[0]), float(x[0]))
    res = scipy.stats.bootstrap((x,), np.mean, confidence_level=confidence,
                                n_resamples=BOOTSTRAP_RESAMPLES, method="percentile",
                                random_state=np.random.default_rng(BOOTSTRAP_SEED))
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def summarize(df: pd.DataFrame, by: Sequence[str], values: Sequence[str],
              confidence: float = 0.95) -> pd.DataFrame:
    """One row per group of ``by``: for each column in ``values``, ``<col>_mean``, ``<col>_std``
    (sample standard deviation, ddof 1), ``<col>_ci_low``, ``<col>_ci_high``; and ``n_seeds``."""
    rows = []
    for key, group in df.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        row["n_seeds"] = len(group)
        for col in values:
            x = group[col].astype(float).to_numpy()
            x = x[~np.isnan(x)]  # e.g. no W error for a GAN's JS estimate
            low, high = bootstrap_ci(x, confidence)
            row[f"{col}_mean"] = float(np.mean(x)) if len(x) else math.nan
            row[f"{col}_std"] = float(np.std(x, ddof=1)) if len(x) > 1 else math.nan
            row[f"{col}_ci_low"], row[f"{col}_ci_high"] = low, high
        rows.append(row)
    return pd.DataFrame(rows)


#: permutations of the rank-correlation test, fixed before any run
PERMUTATIONS = 10_000


def spearman_permutation_p(x: Sequence[float], y: Sequence[float], seed: int,
                           permutations: int = PERMUTATIONS) -> float:
    """One-sided p-value of a positive Spearman correlation of ``x`` and ``y`` against the null
    of no association (``y`` permuted ``permutations`` times, from ``seed``), with the +1
    correction of an exact test; NaN with fewer than 3 points or a non-finite value."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        return float("nan")
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    observed = scipy.stats.spearmanr(x, y).statistic
    rng = np.random.default_rng(seed)
    perms = np.argsort(rng.random((permutations, len(y))), axis=1)
    rxc, ryc = rx - rx.mean(), ry[perms] - ry.mean()
    null = ryc @ rxc / (np.linalg.norm(rxc) * np.linalg.norm(ryc, axis=1))
    return float((1 + np.sum(null >= observed - 1e-12)) / (1 + permutations))
