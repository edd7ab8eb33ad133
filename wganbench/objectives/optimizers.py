"""Optimisers, registered by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

import torch

from wganbench.registry import Registry


@dataclass(frozen=True)
class OptimizerEntry:
    #: build(params, lr, betas, fast): ``fast`` picks torch's multi-tensor kernels (fused Adam,
    #: foreach RMSprop): the same update rule, with float32 rounding of its own
    build: Callable[[Iterable[torch.nn.Parameter], float, tuple[float, float] | None, bool],
                    torch.optim.Optimizer]
    uses_betas: bool
    source: str


OPTIMIZERS: Registry[OptimizerEntry] = Registry("optimizer")
OPTIMIZERS.register("adam", OptimizerEntry(
    build=lambda params, lr, betas, fast=False: torch.optim.Adam(params, lr=lr, betas=betas,
                                                                 fused=fast or None),
    uses_betas=True, source="torch.optim.Adam (eps 1e-8)"))
OPTIMIZERS.register("rmsprop", OptimizerEntry(
    build=lambda params, lr, betas, fast=False: torch.optim.RMSprop(params, lr=lr,
                                                                    foreach=fast or None),
    uses_betas=False,
    source="torch.optim.RMSprop with PyTorch defaults (alpha 0.99, eps 1e-8), as in the WGAN "
           "authors' main.py"))
