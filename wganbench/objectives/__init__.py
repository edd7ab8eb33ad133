"""Objectives: an adversarial loss x a Lipschitz method x the optimiser defaults of its paper.

======== ================ ========= ====================== ======== ====== ===================
name     loss             Lipschitz optimiser              lr       n_crit source
======== ================ ========= ====================== ======== ====== ===================
gan      minimax          none      Adam (0.5, 0.999)      2e-4     1      Goodfellow 2014
                                                                           Alg. 1; DCGAN Adam
gan-ns   non-saturating   none      Adam (0.5, 0.999)      2e-4     1      idem, -log D trick
wgan-clip wasserstein     clip 0.01 RMSprop                5e-5     5      WGAN Alg. 1
wgan-gp  wasserstein      gp 10     Adam (0, 0.9)          1e-4     5      WGAN-GP Alg. 1
lsgan    least-squares    none      RMSprop                1e-4     1      Mao et al. 2017;
                                                                           WGAN-GP App. E
======== ================ ========= ====================== ======== ====== ===================

Goodfellow et al. (2014) trained with SGD + momentum; the optimiser here is the DCGAN setting
(Radford et al. 2015 §4: Adam 2e-4, beta1 0.5) that both WGAN papers use for their GAN
baselines (WGAN §4.1, WGAN-GP App. E). All four use m = 64 (WGAN Alg. 1, WGAN-GP Alg. 1).
"""

from __future__ import annotations

from dataclasses import dataclass

from wganbench.objectives.losses import LOSSES, AdversarialLoss
from wganbench.objectives.lipschitz import LIPSCHITZ, LipschitzMethod
from wganbench.objectives.optimizers import OPTIMIZERS
from wganbench.registry import Registry


@dataclass(frozen=True)
class ObjectiveSpec:
    name: str
    loss: str
    lipschitz: str
    optimizer: str
    lr: float
    betas: tuple[float, float] | None
    n_critic: int
    batch_size: int
    source: str


OBJECTIVES: Registry[ObjectiveSpec] = Registry("objective")

_GAN_SOURCE = ("Goodfellow et al. 2014 Alg. 1 (k = 1); optimiser of the DCGAN baseline in WGAN "
               "§4.1 / WGAN-GP App. E: Adam 2e-4, betas (0.5, 0.999)")
OBJECTIVES.register("gan", ObjectiveSpec(
    "gan", "minimax", "none", "adam", 2e-4, (0.5, 0.999), 1, 64, _GAN_SOURCE))
OBJECTIVES.register("gan-ns", ObjectiveSpec(
    "gan-ns", "non-saturating", "none", "adam", 2e-4, (0.5, 0.999), 1, 64,
    _GAN_SOURCE + "; non-saturating G loss (Goodfellow 2014 §3)"))
OBJECTIVES.register("wgan-clip", ObjectiveSpec(
    "wgan-clip", "wasserstein", "clip", "rmsprop", 5e-5, None, 5, 64,
    "WGAN Alg. 1 and §4.1: RMSprop alpha = 5e-5, c = 0.01, m = 64, n_critic = 5"))
OBJECTIVES.register("wgan-gp", ObjectiveSpec(
    "wgan-gp", "wasserstein", "gp", "adam", 1e-4, (0.0, 0.9), 5, 64,
    "WGAN-GP Alg. 1: lambda = 10, n_critic = 5, Adam alpha = 1e-4, beta1 = 0, beta2 = 0.9, m = 64"))

OBJECTIVES.register("lsgan", ObjectiveSpec(
    "lsgan", "least-squares", "none", "rmsprop", 1e-4, None, 1, 64,
    "LSGAN (Mao et al. 2017) as the WGAN-GP paper's baseline (App. E, Fig 2; gan_64x64.py): "
    "RMSprop 1e-4 (chosen from 1e-3, 2e-4, 1e-4), one D step per G step"))


__all__ = ["OBJECTIVES", "ObjectiveSpec", "LOSSES", "AdversarialLoss", "LIPSCHITZ",
           "LipschitzMethod", "OPTIMIZERS"]
