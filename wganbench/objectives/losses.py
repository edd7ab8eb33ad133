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


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al. 2017, eq. 2 with the 0-1 coding a = 0, b = c = 1), as the WGAN-GP
    authors' ``gan_64x64.py`` (paper-facts §4, App. E baseline): the critic's raw score D(x)
    (no sigmoid) descends 1/2 [mean (D(x) - 1)^2 + mean D(G(z))^2]; G descends
    mean (D(G(z)) - 1)^2.

    The estimate: for a fixed G the optimal D is p_r / (p_r + p_g), where the critic's loss is
    L* = 1/2 int p_r p_g / (p_r + p_g) = (2 - Delta) / 8, Delta(P, Q) = int (p - q)^2 / (p + q)
    the triangular discrimination (0 for identical distributions, 2 for disjoint supports). So
    2 - 8 L estimates Delta, as 1/2 L + log 2 estimates the JSD for the minimax loss."""

    name = "least-squares"
    estimate_kind = "triangular"

    def critic_loss(self, real, fake):
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())

    def generator_loss(self, fake):
        return (fake - 1).pow(2).mean()

    def estimate(self, real, fake):
        return 2 - 8 * self.critic_loss(real, fake)


LOSSES: Registry[AdversarialLoss] = Registry("loss")
for _loss in (MinimaxLoss(), NonSaturatingLoss(), WassersteinLoss(), LeastSquaresLoss()):
    LOSSES.register(_loss.name, _loss)
