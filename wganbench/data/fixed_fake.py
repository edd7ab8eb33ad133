"""Fixed fake distributions, for experiments that train the critic alone.

WGAN Fig 2 compares the optimal discriminator and critic between two fixed Gaussians; WGAN-GP
Fig 1a trains critics "to optimality" with the generator fixed at real data + N(0, I)
(``gan_toy.py``, ``FIXED_GENERATOR = True``). With ``--fixed-fake`` the runner draws the fake
batch from such a distribution and makes no generator update.

Spellings: ``normal:MEAN:STD`` (N(MEAN, STD^2 I), independent of the real batch),
``data+noise:STD`` (the real batch itself plus N(0, STD^2 I), as ``gan_toy.py``) and
``shift:V1,V2,...`` (a fresh draw of real data translated by the vector V, e.g. P_theta of the
parallel-lines example, WGAN §2 Example 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch

from wganbench.errors import UserError


@dataclass(frozen=True)
class FixedFake:
    kind: str  # "normal", "data+noise" or "shift"
    mean: float = 0.0
    std: float = 1.0
    shift: tuple[float, ...] = ()

    def sample(self, real: torch.Tensor, generator: torch.Generator,
               draw_real: Callable[[int, torch.Generator], torch.Tensor]) -> torch.Tensor:
        """A fake batch like ``real``; ``draw_real(n, generator)`` gives fresh real samples."""
        if self.kind == "shift":
            fresh = draw_real(len(real), generator).to(real.device)
            if fresh.flatten(1).shape[1] != len(self.shift):
                raise UserError(f"--fixed-fake shift has {len(self.shift)} components; the data "
                                f"has {fresh.flatten(1).shape[1]} dimensions")
            return fresh + torch.tensor(self.shift, device=real.device).view(1, *real.shape[1:])
        noise = torch.randn(real.shape, generator=generator, device=real.device, dtype=real.dtype)
        if self.kind == "data+noise":
            return real + self.std * noise
        return self.mean + self.std * noise


def _finite(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise ValueError(text)
    return v


def parse_fixed_fake(spec: str) -> FixedFake:
    parts = spec.split(":") if isinstance(spec, str) else [""]
    try:
        if parts[0] == "normal" and len(parts) == 3 and _finite(parts[2]) > 0:
            return FixedFake("normal", _finite(parts[1]), _finite(parts[2]))
        if parts[0] == "data+noise" and len(parts) == 2 and _finite(parts[1]) > 0:
            return FixedFake("data+noise", 0.0, _finite(parts[1]))
        if parts[0] == "shift" and len(parts) == 2:
            return FixedFake("shift", shift=tuple(_finite(v) for v in parts[1].split(",")))
    except ValueError:
        pass
    raise UserError(f"--fixed-fake {spec!r} is not a fixed fake distribution; allowed: "
                    "'normal:MEAN:STD', 'data+noise:STD' with STD > 0, or 'shift:V1,V2,...' "
                    "(finite numbers)")
