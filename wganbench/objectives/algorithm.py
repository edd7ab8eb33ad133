"""One critic step and one generator step: the inner lines of WGAN Alg. 1 and WGAN-GP Alg. 1.

An :class:`Objective` composes an adversarial loss with a Lipschitz method. Written once, it
serves every objective:

* ``gan`` / ``gan-ns``: loss minimax / non-saturating, no constraint (Goodfellow 2014 Alg. 1);
* ``wgan-clip``: Wasserstein loss, weight clipping (WGAN Alg. 1);
* ``wgan-gp``: Wasserstein loss, gradient penalty (WGAN-GP Alg. 1).

The steps take the modules, optimiser, batch and random generator as arguments and keep no
state of their own, so a data-parallel wrapper or a vectorised seed ensemble can call them with
other modules.

Two exact fast paths are on by default (``fast=True``, ``--step-impl fast``); ``--step-impl
reference`` computes call by call as the papers' code does:

* one critic call on real and fake samples together (a batch of 2m) when the critic has no
  batch norm, whose per-batch statistics would couple the two halves; critics with batch norm
  (the clipping and GAN baselines' DCGAN critics) keep separate calls, as in the papers;
* the gradient penalty's input gradient without the second-derivative work that is exactly
  zero for piecewise-linear critics (:mod:`wganbench.objectives.piecewise_linear`).
"""

from __future__ import annotations

import contextlib
import functools
import weakref
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from wganbench.objectives.lipschitz import LIPSCHITZ, LipschitzMethod
from wganbench.objectives.losses import LOSSES, AdversarialLoss


@dataclass
class CriticStepStats:
    """Tensors (not yet synchronised to the host) describing one critic update."""

    loss: torch.Tensor  # total critic loss, penalty included
    estimate: torch.Tensor  # E f(real) - E f(fake), or the JS estimate for GAN losses
    penalty: torch.Tensor  # the weighted penalty term (0 without one)


_COUPLED: "weakref.WeakKeyDictionary[nn.Module, bool]" = weakref.WeakKeyDictionary()


def couples_batch(critic: nn.Module) -> bool:
    """Whether the critic's output for one sample depends on the other samples of its batch
    (batch norm in training mode normalises with the batch's statistics)."""
    if critic not in _COUPLED:
        _COUPLED[critic] = any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                               for m in critic.modules())
    return _COUPLED[critic]


PRECISIONS = ("float32", "bf16")


def bf16_conv_double_backward_check(device_type: str) -> tuple[float, float]:
    """(norm ratio, cosine) of the reference penalty's weight gradient through one 3x3
    convolution (4 -> 8 channels, 8 x 8 inputs) under bfloat16 autocast against float32: what
    the *reference* gradient penalty does on a conv critic. Both are ~1 where PyTorch
    differentiates bfloat16 convolutions twice correctly. See the values on a machine with
    ``python -c "from wganbench.objectives.algorithm import bf16_conv_double_backward_check as
    c; print(c('cpu'))"``: on this round's Intel Xeon with AMX (PyTorch 2.14.1) the ratio is far
    below 1 (the weight gradients come out several times too small), while 1x1 convolutions,
    linear layers and wganbench's fast penalty (explicit ``conv_transpose2d``, no double
    backward) are right."""
    gen = torch.Generator().manual_seed(0)
    conv = nn.Conv2d(4, 8, 3, padding=1).to(device_type)
    x = torch.randn(8, 4, 8, 8, generator=gen).to(device_type)
    grads = []
    for bf16 in (False, True):
        xi = x.clone().requires_grad_(True)
        with torch.autocast(device_type, dtype=torch.bfloat16, enabled=bf16):
            out = conv(xi).float().sum()
        g, = torch.autograd.grad(out, xi, create_graph=True)
        pen = (g.flatten(1).norm(dim=1) - 1).pow(2).mean()
        grads.append(torch.autograd.grad(pen, conv.weight)[0].flatten().float())
    ref, low = grads
    return float(low.norm() / ref.norm()), float(ref @ low / (ref.norm() * low.norm()))


@functools.lru_cache(maxsize=None)
def bf16_conv_double_backward_ok(device_type: str) -> bool:
    """Whether :func:`bf16_conv_double_backward_check` finds the ratio within 10% of 1 and the
    cosine above 0.99."""
    ratio, cosine = bf16_conv_double_backward_check(device_type)
    return 0.9 < ratio < 1.1 and cosine > 0.99


class Objective:
    def __init__(self, loss: AdversarialLoss, lipschitz: LipschitzMethod,
                 fast: bool = True, precision: str = "float32") -> None:
        self.loss = loss
        self.lipschitz = lipschitz
        self.fast = fast
        #: "bf16": network forwards under bfloat16 autocast; weights, optimiser state, scores,
        #: losses and the penalty's gradient norms in float32 (see :meth:`autocast`)
        self.precision = precision
        #: module -> its torch.compile'd twin (same parameters), used for first-order calls
        self._compiled: "weakref.WeakKeyDictionary[nn.Module, nn.Module]" = (
            weakref.WeakKeyDictionary())
        #: called on a network between backward and the optimiser step; data-parallel
        #: training averages the gradients over the ranks there (wganbench.distributed)
        self.grad_sync: Callable[[nn.Module], None] | None = None

    @classmethod
    def from_config(cls, cfg) -> "Objective":
        entry = LIPSCHITZ.get(cfg.lipschitz)
        options = {name: getattr(cfg, name) for name in entry.owns}
        return cls(LOSSES.get(cfg.loss), entry.factory(**options),
                   fast=getattr(cfg, "step_impl", "fast") == "fast",
                   precision=getattr(cfg, "precision", "float32"))

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        """The mixed-precision recipe (``--precision bf16``): forwards of both networks under
        ``torch.autocast(dtype=torch.bfloat16)``, so matrix products and convolutions run in
        bfloat16 while weights stay float32; scores are cast to float32 before the loss; the
        penalty's input gradient is taken with respect to a float32 x_hat and its norm, the
        penalty and their double backward run in float32. No GradScaler: bfloat16 has float32's
        exponent range, so gradients do not underflow (with float16 a scaler would be needed,
        and the penalty's ``autograd.grad`` would then have to be taken on unscaled scores)."""
        if self.precision == "bf16":
            return torch.autocast(device.type, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def compile(self, *modules: nn.Module, **options) -> None:
        """``--compile``: run these modules' forwards through ``torch.compile`` wherever only
        first-order gradients are needed (the critic's scores, the generator step, fake
        batches). The penalty's input gradient keeps the eager module: torch.compile does not
        support double backward. The compiled twin shares the module's parameters."""
        for module in modules:
            self._compiled[module] = torch.compile(module, **options)

    def _fwd(self, module: nn.Module) -> nn.Module:
        return self._compiled.get(module, module)

    @torch.no_grad()
    def fake(self, generator: nn.Module, z: torch.Tensor) -> torch.Tensor:
        """x_tilde = G(z) without a graph (the critic step needs none), in float32."""
        with self.autocast(z.device):
            return self._fwd(generator)(z).float()

    def scores(self, critic: nn.Module, real: torch.Tensor,
               fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D(real) and D(fake), flattened: one call on both when that is exact, else two."""
        with self.autocast(real.device):
            if self.fast and not couples_batch(critic):
                both = self._fwd(critic)(torch.cat([real, fake])).view(-1).float()
                return both[:len(real)], both[len(real):]
            fwd = self._fwd(critic)
            return fwd(real).view(-1).float(), fwd(fake).view(-1).float()

    def critic_loss(self, critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                    penalty_rng: torch.Generator) -> tuple[torch.Tensor, CriticStepStats]:
        """The critic's loss (penalty included, with its graph) and detached statistics."""
        real_scores, fake_scores = self.scores(critic, real, fake)
        loss = self.loss.critic_loss(real_scores, fake_scores)
        with self.autocast(real.device):
            penalty = self.lipschitz.penalty(critic, real, fake, penalty_rng, fast=self.fast)
        total = loss if penalty is None else loss + penalty.value
        with torch.no_grad():
            estimate = self.loss.estimate(real_scores, fake_scores)
        pen_value = (penalty.value.detach() if penalty is not None
                     else torch.zeros((), device=real.device))
        return total, CriticStepStats(total.detach(), estimate, pen_value)

    def critic_step(self, critic: nn.Module, opt: torch.optim.Optimizer, real: torch.Tensor,
                    fake: torch.Tensor, penalty_rng: torch.Generator) -> CriticStepStats:
        """One critic update (WGAN-GP Alg. 1 lines 3-9; WGAN Alg. 1 lines 3-7).

        ``fake`` is x_tilde = G(z), made by the caller without a graph through the generator
        (the critic step does not need one). A critic with batch norm sees real and fake
        batches in separate calls, as in both papers' code, so it normalises per source.
        """
        self.lipschitz.before_critic_step(critic)
        total, stats = self.critic_loss(critic, real, fake, penalty_rng)
        opt.zero_grad(set_to_none=True)
        total.backward()
        if self.grad_sync is not None:
            self.grad_sync(critic)
        opt.step()
        self.lipschitz.after_critic_step(critic)
        return stats

    def generator_step(self, generator: nn.Module, critic: nn.Module,
                       opt: torch.optim.Optimizer, z: torch.Tensor) -> torch.Tensor:
        """One generator update on fresh noise (WGAN Alg. 1 lines 8-10; WGAN-GP lines 11-12).

        The critic's parameters are frozen meanwhile, so no gradient is computed for them.
        """
        critic.requires_grad_(False)
        try:
            loss = self.generator_loss(generator, critic, z)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.grad_sync is not None:
                self.grad_sync(generator)
            opt.step()
        finally:
            critic.requires_grad_(True)
        return loss.detach()

    def generator_loss(self, generator: nn.Module, critic: nn.Module,
                       z: torch.Tensor) -> torch.Tensor:
        with self.autocast(z.device):
            scores = self._fwd(critic)(self._fwd(generator)(z)).view(-1).float()
        return self.loss.generator_loss(scores)
