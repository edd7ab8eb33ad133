"""Optimisers, registered by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from wganbench.registry import Registry


@dataclass(frozen=True)
class OptimizerEntry:
    build: Callable[[Iterable[torch.nn.Parameter], float, tuple[float, float] | None],
                    torch.optim.Optimizer]
    uses_betas: bool
    source: str


OPTIMIZERS: Registry[OptimizerEntry] = Registry("optimizer")
OPTIMIZERS.register("adam", OptimizerEntry(
    build=lambda params, lr, betas: torch.optim.Adam(params, lr=lr, betas=betas),
    uses_betas=True, source="torch.optim.Adam (eps 1e-8)"))
OPTIMIZERS.register("rmsprop", OptimizerEntry(
    build=lambda params, lr, betas: torch.optim.RMSprop(params, lr=lr),
    uses_betas=False,
    source="torch.optim.RMSprop with PyTorch defaults (alpha 0.99, eps 1e-8), as in the WGAN "
           "authors' main.py"))
