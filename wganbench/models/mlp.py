"""The toy MLPs of the WGAN-GP code and the parallel-lines generator of WGAN §2.

``gan_toy.py`` builds G and D as ``ReLULayer`` x 3 (width 512, He-uniform weights) and a final
linear layer with tflib's default Glorot-uniform weights; all biases start at zero. tflib's
uniform init has bounds +-std*sqrt(3), which is PyTorch's ``kaiming_uniform_(relu)`` for
std = sqrt(2/fan_in) and ``xavier_uniform_`` for std = sqrt(2/(fan_in+fan_out)). The other
nonlinearities (``--activation elu`` / ``softplus2``, WGAN-GP App. D) keep the same init.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from wganbench.models.base import MODELS, ModelContext, ModelEntry


class ShiftedSoftplus(nn.Module):
    """softplus(2x + 2) / 2 - 1: WGAN-GP App. D's smooth nonlinearity, which trains with the
    gradient penalty where ELU does not. It tends to x for large x and to -1 for small x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(2 * x + 2) / 2 - 1


#: hidden nonlinearities of the toy MLPs (``--activation``): the ReLU of ``gan_toy.py``, and
#: the two of WGAN-GP App. D (ELU fails with the penalty; the shifted softplus works)
ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU, "elu": nn.ELU, "softplus2": ShiftedSoftplus}


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units (ReLU unless ``activation`` says otherwise),
    then a linear output layer."""

    def __init__(self, in_dim: int, out_dim: int, width: int, depth: int,
                 out_shape: tuple[int, ...] | None = None, activation: str = "relu") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(depth):
            layers += [nn.Linear(d, width), ACTIVATIONS[activation]()]
            d = width
        layers.append(nn.Linear(d, out_dim))
        self.net = nn.Sequential(*layers)
        self.out_shape = out_shape or (out_dim,)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        linears = [m for m in self.net if isinstance(m, nn.Linear)]
        for layer in linears[:-1]:
            nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")  # tflib 'he'
            nn.init.zeros_(layer.bias)
        nn.init.xavier_uniform_(linears[-1].weight)  # tflib default 'glorot'
        nn.init.zeros_(linears[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.net(x.flatten(1))
        return out.view(out.shape[0], *self.out_shape)


def _build_mlp(ctx: ModelContext) -> nn.Module:
    dim = 1
    for s in ctx.data_shape:
        dim *= s
    if ctx.role == "generator":
        return MLP(ctx.latent_dim, dim, ctx.width, ctx.depth, out_shape=ctx.data_shape,
                   activation=ctx.activation)
    return MLP(dim, 1, ctx.width, ctx.depth, activation=ctx.activation)


class ParallelLinesGenerator(nn.Module):
    """g_theta(z) = (theta, z) of WGAN §2 Example 1; one parameter, theta, starting at 1."""

    THETA_INIT = 1.0

    def __init__(self) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(self.THETA_INIT))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.theta.expand(z.shape[0], 1), z[:, :1]], dim=1)


MODELS.register("mlp", ModelEntry(
    build=_build_mlp, roles=("generator", "critic"),
    source="WGAN-GP gan_toy.py: ReLU MLP, He-uniform hidden layers, Glorot output, zero biases"))
MODELS.register("parallel-lines", ModelEntry(
    build=lambda ctx: ParallelLinesGenerator(), roles=("generator",),
    source="WGAN §2 Example 1: g_theta(z) = (theta, z)"))
