"""Model registry and helpers shared by all models."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable, Iterator

import torch
from torch import nn

from wganbench.errors import UserError
from wganbench.registry import Registry


@dataclass(frozen=True)
class ModelContext:
    """Everything a builder may need to size a model."""

    role: str  # "generator" or "critic"
    data_shape: tuple[int, ...]
    latent_dim: int
    width: int
    depth: int
    #: the critic's Lipschitz method ("none", "clip", "gp"): the authors' models add or drop
    #: batch norm by it
    lipschitz: str = "none"
    #: the data's value range, which picks an image generator's output squashing
    value_range: tuple[float, float] | None = None
    #: the hidden nonlinearity of the toy MLPs (``--activation``; models/mlp.py ACTIVATIONS)
    activation: str = "relu"


@dataclass(frozen=True)
class ModelEntry:
    build: Callable[[ModelContext], nn.Module]
    roles: tuple[str, ...]
    source: str


MODELS: Registry[ModelEntry] = Registry("model")


def build_model(name: str, ctx: ModelContext) -> nn.Module:
    entry = MODELS.get(name)
    if ctx.role not in entry.roles:
        raise UserError(
            f"--{ctx.role} {name!r} cannot serve as a {ctx.role}; it is a {'/'.join(entry.roles)}"
        )
    return entry.build(ctx)


@contextlib.contextmanager
def preserved_buffers(module: nn.Module) -> Iterator[None]:
    """Run diagnostics through ``module`` without changing its buffers (BatchNorm statistics).

    Evaluation must leave a training run exactly as it found it, so that a run with more
    frequent evaluation takes the same steps as one with less.
    """
    saved = [b.detach().clone() for b in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for b, s in zip(module.buffers(), saved):
                b.copy_(s)
