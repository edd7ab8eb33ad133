"""Mode coverage and sample quality on the toy mixtures, and distance to the Swiss roll.

The mode metrics of VEEGAN (Srivastava et al. 2017, §5.1) and PacGAN (Lin et al. 2018, §5.1)
on 2-D Gaussian mixtures: a generated sample is *high quality* when it lies within 3 standard
deviations of its nearest mode; a mode is *covered* when at least one high-quality sample has it
as its nearest mode; the *reverse KL* is KL(q || u) of the histogram q of high-quality samples
over the modes against the uniform u of the true mixture.

This suite's 8gaussians and 25gaussians are PacGAN's ring and grid rescaled (``data/toy.py``):
8 centres (2 cos, 2 sin) at 45 degrees with standard deviation 0.02, and the 5 x 5 grid of
centres 2 (x, y), x, y in -2..2, with standard deviation 0.05, both divided after the noise (by
1.414 and 2.828), so sigma is 0.02 / 1.414 and 0.05 / 2.828 in data units.

Swiss roll: the mean Euclidean distance of generated samples to the nearest point of a dense
sample (20,000 points) of the noise-free roll t (cos t, sin t) / 7.5, t in [1.5 pi, 4.5 pi].

Non-finite samples (a diverged generator) give NaN for every metric, never a number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wganbench.data import toy

#: a sample within this many standard deviations of its nearest mode is high quality
N_SIGMA = 3.0
#: points on the noise-free Swiss roll the distance is measured to
ROLL_POINTS = 20_000


@dataclass(frozen=True)
class ModeSet:
    centers: torch.Tensor  # (K, 2), in data units
    sigma: float  # standard deviation of each mode, in data units


def _eight() -> ModeSet:
    centers = torch.tensor(toy.EIGHT_GAUSSIANS_CENTERS) * toy.EIGHT_GAUSSIANS_SCALE
    return ModeSet(centers / toy.EIGHT_GAUSSIANS_DIVISOR,
                   toy.EIGHT_GAUSSIANS_STD / toy.EIGHT_GAUSSIANS_DIVISOR)


def _twentyfive() -> ModeSet:
    grid = torch.arange(-2, 3, dtype=torch.float32)
    centers = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), dim=-1).reshape(25, 2) * 2
    return ModeSet(centers / toy.TWENTYFIVE_DIVISOR, toy.TWENTYFIVE_STD / toy.TWENTYFIVE_DIVISOR)


#: the datasets with modes, by name
MODE_SETS = {"8gaussians": _eight, "25gaussians": _twentyfive}


def mode_metrics(samples: torch.Tensor, modes: ModeSet) -> dict[str, float]:
    """``modes_covered`` (count), ``modes_total``, ``high_quality`` (fraction of samples),
    ``reverse_kl`` (nats; NaN when no sample is high quality: there is no histogram)."""
    x = samples.detach().to("cpu", torch.float64).reshape(len(samples), -1)
    k = len(modes.centers)
    nan = {"modes_covered": math.nan, "modes_total": k, "high_quality": math.nan,
           "reverse_kl": math.nan}
    if not bool(torch.isfinite(x).all()) or len(x) == 0:
        return nan
    dist = torch.cdist(x, modes.centers.to(torch.float64))
    nearest_dist, nearest = dist.min(dim=1)
    high = nearest_dist <= N_SIGMA * modes.sigma
    counts = torch.bincount(nearest[high], minlength=k).to(torch.float64)
    out = {"modes_covered": int((counts > 0).sum()), "modes_total": k,
           "high_quality": float(high.to(torch.float64).mean()), "reverse_kl": math.nan}
    if counts.sum() > 0:
        q = counts / counts.sum()
        q = q[q > 0]
        out["reverse_kl"] = float((q * torch.log(q * k)).sum())
    return out


def swiss_roll_curve(n: int = ROLL_POINTS) -> torch.Tensor:
    t = torch.linspace(1.5 * math.pi, 4.5 * math.pi, n, dtype=torch.float64)
    return torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / toy.SWISSROLL_DIVISOR


def manifold_distance(samples: torch.Tensor, curve: torch.Tensor | None = None) -> float:
    """Mean distance of the samples to the nearest point of the noise-free Swiss roll."""
    x = samples.detach().to("cpu", torch.float64).reshape(len(samples), -1)
    if not bool(torch.isfinite(x).all()) or len(x) == 0:
        return math.nan
    curve = swiss_roll_curve() if curve is None else curve
    nearest = torch.cat([torch.cdist(chunk, curve).min(dim=1).values
                         for chunk in x.split(1024)])
    return float(nearest.mean())


def sample_quality(dataset: str, samples: torch.Tensor) -> dict[str, float]:
    """The metrics that apply to ``dataset``'s samples (empty for other datasets)."""
    if dataset in MODE_SETS:
        return mode_metrics(samples, MODE_SETS[dataset]())
    if dataset == "swissroll":
        return {"manifold_distance": manifold_distance(samples)}
    return {}
