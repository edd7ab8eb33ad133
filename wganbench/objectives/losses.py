"""Adversarial losses on raw critic scores, with the papers' sign conventions.

Each loss turns the critic's scores on a real and a fake batch into the critic's loss (which the
critic *descends*), the generator's loss, and the distance estimate that the critic's value
implies. Critics output raw scores: a logit for the GAN losses, f(x) for the Wasserstein loss.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from wganbench.registry import Registry

LOG2 = math.log(2.0)


class AdversarialLoss:
    name: str = ""
    #: what :meth:`estimate` estimates: "wasserstein" or "jsd"
    estimate_kind: str = ""

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def estimate(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class MinimaxLoss(AdversarialLoss):
    """Goodfellow et al. 2014, Alg. 1, with D(x) = sigmoid(logit).

    D ascends L = mean log D(x) + mean log(1 - D(G(z))), so its loss is -L; G descends
    mean log(1 - D(G(z))) (the saturating loss). log D = -softplus(-l), log(1 - D) = -softplus(l).
    The estimate is 1/2 L + log 2, the JS estimate plotted in WGAN Fig 4 (it equals the JS
    divergence at the optimal discriminator).
    """

    name = "minimax"
    estimate_kind = "jsd"

    def critic_loss(self, real, fake):
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def generator_loss(self, fake):
        return -F.softplus(fake).mean()

    def estimate(self, real, fake):
        return LOG2 - 0.5 * self.critic_loss(real, fake)


class NonSaturatingLoss(MinimaxLoss):
    """Goodfellow et al. 2014 §3: G maximises mean log D(G(z)) instead (the "-log D trick")."""

    name = "non-saturating"

    def generator_loss(self, fake):
        return F.softplus(-fake).mean()


class WassersteinLoss(AdversarialLoss):
    """WGAN Alg. 1 / WGAN-GP eq. 3, in the paper's sign: the critic scores real samples high.

    The critic maximises mean f(x) - mean f(G(z)), i.e. descends mean f(G(z)) - mean f(x);
    G descends -mean f(G(z)). The Wasserstein estimate is mean f(x) - mean f(G(z)).
    """

    name = "wasserstein"
    estimate_kind = "wasserstein"

    def critic_loss(self, real, fake):
        return fake.mean() - real.mean()

    def generator_loss(self, fake):
        return -fake.mean()

    def estimate(self, real, fake):
        return real.mean() - fake.mean()


LOSSES: Registry[AdversarialLoss] = Registry("loss")
for _loss in (MinimaxLoss(), NonSaturatingLoss(), WassersteinLoss()):
    LOSSES.register(_loss.name, _loss)
