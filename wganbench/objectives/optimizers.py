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


class TFRMSprop(torch.optim.Optimizer):
    """RMSprop with TensorFlow 1's semantics (``tf.train.RMSPropOptimizer``, momentum 0), the
    optimiser of the WGAN-GP authors' TF code (``gan_toy.py``, ``gan_mnist.py``, ...):

        ms <- decay ms + (1 - decay) g^2,   w <- w - lr g / sqrt(ms + eps),

    with decay 0.9, eps 1e-10 *inside* the square root, and the accumulator ms starting at 1.
    PyTorch's RMSprop (alpha 0.99, eps 1e-8 outside the root, ms starting at 0) takes early
    steps of about lr sign(g) / sqrt(0.01) = 10 lr instead (paper-facts §9.7)."""

    def __init__(self, params, lr: float, decay: float = 0.9, eps: float = 1e-10,
                 initial_accumulator: float = 1.0) -> None:
        super().__init__(params, dict(lr=lr, decay=decay, eps=eps,
                                      initial_accumulator=initial_accumulator))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if "square_avg" not in self.state[p]:
                    self.state[p]["square_avg"] = torch.full_like(
                        p, group["initial_accumulator"], memory_format=torch.preserve_format)
            grads = [p.grad for p in params]
            avgs = [self.state[p]["square_avg"] for p in params]
            torch._foreach_mul_(avgs, group["decay"])
            torch._foreach_addcmul_(avgs, grads, grads, value=1 - group["decay"])
            denom = torch._foreach_add(avgs, group["eps"])
            torch._foreach_sqrt_(denom)
            torch._foreach_addcdiv_(params, grads, denom, value=-group["lr"])
        return loss


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
OPTIMIZERS.register("rmsprop-tf", OptimizerEntry(
    build=lambda params, lr, betas, fast=False: TFRMSprop(params, lr=lr),
    uses_betas=False,
    source="TensorFlow 1's RMSPropOptimizer (decay 0.9, eps 1e-10 inside the root, accumulator "
           "starting at 1), as the WGAN-GP authors' TF code"))
