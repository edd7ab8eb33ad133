"""Toy distributions, with the constants of the authors' code.

Sources: WGAN-GP ``gan_toy.py`` (igul222/improved_wgan_training) for ``8gaussians``,
``25gaussians`` and ``swissroll``; WGAN paper §2 Example 1 and Fig 2 for ``parallel-lines`` and
``two-gaussians``; the 1-D experiment of the ENS Lyon student report (seed article 004) for
``gaussian-1d``. All samplers are vectorised and draw only from the ``torch.Generator`` passed in.
"""

from __future__ import annotations

import math

import torch

from wganbench.data.base import DATASETS, DatasetSpec, Sampler

# --- 8gaussians (gan_toy.py) --------------------------------------------------------------
#: unit-circle centres, multiplied by EIGHT_GAUSSIANS_SCALE
EIGHT_GAUSSIANS_CENTERS = (
    (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0),
    (1.0 / math.sqrt(2), 1.0 / math.sqrt(2)), (1.0 / math.sqrt(2), -1.0 / math.sqrt(2)),
    (-1.0 / math.sqrt(2), 1.0 / math.sqrt(2)), (-1.0 / math.sqrt(2), -1.0 / math.sqrt(2)),
)
EIGHT_GAUSSIANS_SCALE = 2.0
EIGHT_GAUSSIANS_STD = 0.02
#: every point is divided by this after the noise is added (final radius ~ 1.414)
EIGHT_GAUSSIANS_DIVISOR = 1.414

# --- 25gaussians (gan_toy.py) -------------------------------------------------------------
TWENTYFIVE_PASSES = 4000  # passes over the 5x5 grid: 100,000 points
TWENTYFIVE_STD = 0.05
TWENTYFIVE_DIVISOR = 2.828
#: the 25gaussians set is a fixed dataset, the same for every run (like MNIST); built from this seed
TWENTYFIVE_DATASET_SEED = 2017

# --- swissroll (gan_toy.py: sklearn make_swiss_roll(noise=0.25), columns [0, 2]) -----------
SWISSROLL_NOISE = 0.25
SWISSROLL_DIVISOR = 7.5

# --- 1-D sets -----------------------------------------------------------------------------
TWO_GAUSSIANS_REAL_MEAN = -5.0  # WGAN Fig 2: real N(-5, 1); the figure's fake mode is N(+5, 1)
TWO_GAUSSIANS_FAKE_MEAN = 5.0
GAUSSIAN_1D_MEAN = 2.0  # seed article 004, §4.1: P_r = N(2, 1), P_z = U[0, 5]


class EightGaussians(Sampler):
    """Mixture of 8 Gaussians on a circle: centre uniform, N(0, 0.02^2) noise, then / 1.414."""

    shape = (2,)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        centers = torch.tensor(EIGHT_GAUSSIANS_CENTERS, device=device) * EIGHT_GAUSSIANS_SCALE
        idx = torch.randint(len(centers), (n,), generator=generator, device=device)
        noise = torch.randn(n, 2, generator=generator, device=device) * EIGHT_GAUSSIANS_STD
        return (centers[idx] + noise) / EIGHT_GAUSSIANS_DIVISOR


def make_25gaussians_dataset(seed: int = TWENTYFIVE_DATASET_SEED) -> torch.Tensor:
    """The fixed 100,000-point 25gaussians set of gan_toy.py, in its shuffled order.

    4000 passes over the grid x, y in {-2..2}, centre (2x, 2y) plus N(0, 0.05^2) noise,
    shuffled once, then divided by 2.828.
    """
    g = torch.Generator().manual_seed(seed)
    grid = torch.arange(-2, 3, dtype=torch.float32)
    centers = torch.stack(torch.meshgrid(grid, grid, indexing="ij"), dim=-1).reshape(25, 2) * 2
    points = centers.repeat(TWENTYFIVE_PASSES, 1)
    points = points + torch.randn(points.shape, generator=g) * TWENTYFIVE_STD
    points = points[torch.randperm(len(points), generator=g)]
    return points / TWENTYFIVE_DIVISOR


class TwentyFiveGaussians(Sampler):
    """Iterates the fixed 25gaussians set in order, dropping the last partial batch of a pass.

    Under data-parallel training rank r of N reads batches r, r + N, r + 2N, ... of that order,
    so the ranks together read what one process with batch N x m reads, and no two ranks read
    the same points.
    """

    shape = (2,)

    def __init__(self, rank: int = 0, world_size: int = 1) -> None:
        self._data: dict[torch.device, torch.Tensor] = {}
        self.batch_index = 0
        self.rank, self.world_size = rank, world_size

    def _points(self, device: torch.device) -> torch.Tensor:
        if device not in self._data:
            self._data[device] = make_25gaussians_dataset().to(device)
        return self._data[device]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        points = self._points(generator.device)
        batches_per_pass = len(points) // n
        if batches_per_pass == 0:
            raise ValueError(f"batch size {n} exceeds the 25gaussians set ({len(points)} points)")
        start = ((self.batch_index * self.world_size + self.rank) % batches_per_pass) * n
        self.batch_index += 1
        return points[start:start + n]

    def sample_eval(self, n: int, generator: torch.Generator) -> torch.Tensor:
        points = self._points(generator.device)
        idx = torch.randperm(len(points), generator=generator, device=generator.device)[:n]
        return points[idx]

    def state_dict(self) -> dict:
        return {"batch_index": self.batch_index}

    def load_state_dict(self, state: dict) -> None:
        self.batch_index = int(state["batch_index"])


class SwissRoll(Sampler):
    """sklearn's swiss roll (noise 0.25), columns [0, 2], divided by 7.5.

    t = 1.5 pi (1 + 2u), u ~ U[0, 1]; x = t cos t, z = t sin t, plus N(0, 0.25^2) on each. The
    unused height column is not drawn; the kept columns have sklearn's distribution.
    """

    shape = (2,)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator, device=device))
        points = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
        points = points + SWISSROLL_NOISE * torch.randn(n, 2, generator=generator, device=device)
        return points / SWISSROLL_DIVISOR


class Normal1D(Sampler):
    """Real data N(mean, 1) in one dimension."""

    shape = (1,)

    def __init__(self, mean: float) -> None:
        self.mean = mean

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.mean + torch.randn(n, 1, generator=generator, device=generator.device)


class ParallelLinesReal(Sampler):
    """P_0 of WGAN §2 Example 1: the points (0, Z), Z ~ U[0, 1]."""

    shape = (2,)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        z = torch.rand(n, 1, generator=generator, device=generator.device)
        return torch.cat([torch.zeros_like(z), z], dim=1)


_TOY_MLP = dict(generator="mlp", critic="mlp", width=512, depth=3)

DATASETS.register("8gaussians", DatasetSpec(
    name="8gaussians", make=lambda opts: EightGaussians(), shape=(2,), latent="normal", latent_dim=2,
    source="WGAN-GP gan_toy.py (8gaussians); G, D: MLP 2-512-512-512, ReLU", **_TOY_MLP))
DATASETS.register("25gaussians", DatasetSpec(
    name="25gaussians", make=lambda opts: TwentyFiveGaussians(opts.rank, opts.world_size), shape=(2,), latent="normal", latent_dim=2,
    source="WGAN-GP gan_toy.py (25gaussians); G, D: MLP 2-512-512-512, ReLU", **_TOY_MLP))
DATASETS.register("swissroll", DatasetSpec(
    name="swissroll", make=lambda opts: SwissRoll(), shape=(2,), latent="normal", latent_dim=2,
    source="WGAN-GP gan_toy.py (swissroll); G, D: MLP 2-512-512-512, ReLU", **_TOY_MLP))
DATASETS.register("two-gaussians", DatasetSpec(
    name="two-gaussians", make=lambda opts: Normal1D(TWO_GAUSSIANS_REAL_MEAN), shape=(1,),
    latent="normal", latent_dim=1,
    source="WGAN paper Fig 2: real N(-5, 1); MLP sizes of gan_toy.py", **_TOY_MLP,
    extra={"fake_mean": TWO_GAUSSIANS_FAKE_MEAN}))
DATASETS.register("parallel-lines", DatasetSpec(
    name="parallel-lines", make=lambda opts: ParallelLinesReal(), shape=(2,), latent="uniform:0:1", latent_dim=1,
    generator="parallel-lines", critic="mlp", width=512, depth=3,
    source="WGAN paper §2 Example 1: P_0 = (0, Z), P_theta = (theta, Z), Z ~ U[0, 1]"))
DATASETS.register("gaussian-1d", DatasetSpec(
    name="gaussian-1d", make=lambda opts: Normal1D(GAUSSIAN_1D_MEAN), shape=(1,),
    latent="uniform:0:5", latent_dim=1, generator="mlp", critic="mlp", width=128, depth=2,
    source="seed article 004 §4.1: P_r = N(2, 1), P_z = U[0, 5]; G, D: two hidden layers of 128"))
