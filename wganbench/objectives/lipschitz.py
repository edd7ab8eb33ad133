"""Ways to keep the critic (approximately) Lipschitz: none, weight clipping, gradient penalty.

Each method owns its configuration fields (``owns``) with the paper's defaults. The runner calls
:meth:`before_critic_step` and :meth:`after_critic_step` around every critic update and adds
:meth:`penalty` to the critic's loss. Spectral normalisation would hook in through
:meth:`prepare_critic`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from wganbench.objectives.piecewise_linear import input_gradient, reference_input_gradient
from wganbench.registry import Registry


@dataclass
class Penalty:
    """A penalty term (already weighted) and the per-sample input-gradient norms behind it."""

    value: torch.Tensor
    grad_norms: torch.Tensor


def input_gradient_norms(critic: nn.Module, x: torch.Tensor, create_graph: bool) -> torch.Tensor:
    """Per-sample ||grad_x f(x)||_2, the norm taken over all input dimensions of one sample."""
    return reference_input_gradient(critic, x, create_graph).flatten(1).norm(2, dim=1)


def interpolate(real: torch.Tensor, fake: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """x_hat = eps x + (1 - eps) x_tilde with eps ~ U[0, 1] drawn once per sample
    (WGAN-GP Alg. 1, lines 4 and 6)."""
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    eps = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    return eps * real + (1 - eps) * fake


class LipschitzMethod:
    name: str = ""
    #: config fields this method reads, with their defaults
    owns: dict[str, Any] = {}

    def prepare_critic(self, critic: nn.Module) -> nn.Module:
        return critic

    def before_critic_step(self, critic: nn.Module) -> None:
        pass

    def after_critic_step(self, critic: nn.Module) -> None:
        pass

    def penalty(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                generator: torch.Generator, fast: bool = False) -> Penalty | None:
        """The term added to the critic's loss, if any. ``fast``: the same value and weight
        gradients computed without work that is exactly zero
        (:mod:`wganbench.objectives.piecewise_linear`)."""
        return None


class NoConstraint(LipschitzMethod):
    """The GAN baselines: no constraint on the discriminator."""

    name = "none"


class WeightClipping(LipschitzMethod):
    """WGAN Alg. 1, line 7: w <- clip(w, -c, c) after every critic update (c = 0.01, §4.1).

    Every critic parameter is clipped, biases and normalisation scales included. ``clip_mode =
    "before"`` clamps before each critic update instead, as the authors' PyTorch ``main.py`` does,
    so the generator trains against a critic one unclamped step away from the box.
    """

    name = "clip"
    owns = {"clip": 0.01, "clip_mode": "after"}
    MODES = ("after", "before")

    def __init__(self, clip: float, clip_mode: str) -> None:
        self.c = clip
        self.mode = clip_mode

    @torch.no_grad()
    def clamp(self, critic: nn.Module) -> None:
        for p in critic.parameters():
            p.clamp_(-self.c, self.c)

    def before_critic_step(self, critic):
        if self.mode == "before":
            self.clamp(critic)

    def after_critic_step(self, critic):
        if self.mode == "after":
            self.clamp(critic)


class GradientPenalty(LipschitzMethod):
    """WGAN-GP eq. 3: lambda * E_x_hat[(||grad D(x_hat)||_2 - 1)^2], lambda = 10 (§4, Alg. 1).

    ``gp_one_sided`` uses max(0, ||g|| - 1)^2 instead (WGAN-GP App. C).
    """

    name = "gp"
    owns = {"gp_lambda": 10.0, "gp_one_sided": False}

    def __init__(self, gp_lambda: float, gp_one_sided: bool) -> None:
        self.weight = gp_lambda
        self.one_sided = gp_one_sided

    def penalty(self, critic, real, fake, generator, fast=False):
        x_hat = interpolate(real, fake.detach(), generator)
        norms = self.input_gradient(critic, x_hat, fast).float().flatten(1).norm(2, dim=1)
        return Penalty(self.value_from_norms(norms), norms.detach())

    @staticmethod
    def input_gradient(critic: nn.Module, x_hat: torch.Tensor, fast: bool) -> torch.Tensor:
        """grad_x D(x_hat) per sample, with a graph to the critic's weights."""
        return (input_gradient(critic, x_hat) if fast
                else reference_input_gradient(critic, x_hat, create_graph=True))

    def value_from_norms(self, norms: torch.Tensor) -> torch.Tensor:
        """lambda * mean over the last dimension (the batch) of (||g|| - 1)^2."""
        excess = norms - 1
        if self.one_sided:
            excess = excess.clamp(min=0)
        return self.weight * excess.pow(2).mean(dim=-1)


@dataclass(frozen=True)
class LipschitzEntry:
    factory: Callable[..., LipschitzMethod]
    owns: dict[str, Any]
    source: str


LIPSCHITZ: Registry[LipschitzEntry] = Registry("Lipschitz method")
LIPSCHITZ.register("none", LipschitzEntry(NoConstraint, NoConstraint.owns, "no constraint"))
LIPSCHITZ.register("clip", LipschitzEntry(
    WeightClipping, WeightClipping.owns, "WGAN Alg. 1: clip every critic parameter to [-c, c]"))
LIPSCHITZ.register("gp", LipschitzEntry(
    GradientPenalty, GradientPenalty.owns, "WGAN-GP eq. 3: two-sided gradient penalty"))
