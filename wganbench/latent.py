"""Latent (noise) distributions p(z), spelled ``normal`` or ``uniform:LOW:HIGH``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from wganbench.errors import UserError


@dataclass(frozen=True)
class Latent:
    kind: str  # "normal" or "uniform"
    dim: int
    low: float = 0.0
    high: float = 1.0

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        device = generator.device
        if self.kind == "normal":
            return torch.randn(n, self.dim, generator=generator, device=device)
        u = torch.rand(n, self.dim, generator=generator, device=device)
        return self.low + (self.high - self.low) * u


def parse_latent(spec: str, dim: int) -> Latent:
    """Parse ``normal`` (N(0, I)) or ``uniform:LOW:HIGH`` (U[LOW, HIGH]^dim)."""
    if not isinstance(spec, str):
        raise UserError(f"--latent {spec!r}: allowed: 'normal' or 'uniform:LOW:HIGH'")
    if spec == "normal":
        return Latent("normal", dim)
    parts = spec.split(":")
    if parts[0] == "uniform" and len(parts) == 3:
        try:
            low, high = float(parts[1]), float(parts[2])
        except ValueError:
            low = high = float("nan")
        if math.isfinite(low) and math.isfinite(high) and low < high:
            return Latent("uniform", dim, low, high)
    raise UserError(
        f"--latent {spec!r} is not a latent distribution; allowed: 'normal' or "
        "'uniform:LOW:HIGH' with finite LOW < HIGH"
    )
