"""Image generators and critics from the authors' code (paper-facts §3, §6).

======================= ================================================= =====================
name                    source                                            batch norm
======================= ================================================= =====================
``mnist-dcgan``         WGAN-GP ``gan_mnist.py`` (DIM 64)                 G and D only for
                                                                          weight clipping
                                                                          ('wgan' mode)
``cifar-dcgan``         WGAN-GP ``gan_cifar.py`` (DIM 128)                G always; D unless GP
``cifar-resnet``        WGAN-GP ``gan_cifar_resnet.py``, unsupervised     G only (App. F)
``dcgan64``             WGAN ``main.py`` DCGAN_G / DCGAN_D (64 x 64)      G; D unless GP
                                                                          (``_nobn`` variant)
``wgan-mlp``            WGAN ``main.py`` MLP_G / MLP_D (``--mlp_G``)      none
======================= ================================================= =====================

A critic trained with a gradient penalty never has batch norm (WGAN-GP §4, paper-facts §9.2):
batch norm couples the samples of a batch, and the penalty is per sample. ``--width`` is the
scripts' DIM (ngf = ndf for ``main.py``). Critics return one score per sample, shape [B, 1];
the WGAN authors' batch mean is taken by the loss. Batch norm always normalises with the
current batch, as tflib does (its ``is_training`` is never passed).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from wganbench.models.base import MODELS, ModelContext, ModelEntry
from wganbench.models.tflib_init import conv5, deconv5, init_conv, init_linear


def output_activation(value_range: tuple[float, float] | None) -> nn.Module:
    """The generator's last squashing: sigmoid for data in [0, 1], tanh for [-1, 1]."""
    if value_range == (0.0, 1.0):
        return nn.Sigmoid()
    if value_range == (-1.0, 1.0):
        return nn.Tanh()
    return nn.Identity()


def _bn2d(c: int, on: bool) -> nn.Module:
    return nn.BatchNorm2d(c) if on else nn.Identity()


def _bn1d(c: int, on: bool) -> nn.Module:
    return nn.BatchNorm1d(c) if on else nn.Identity()


def _channels(ctx: ModelContext) -> int:
    return ctx.data_shape[0]


# ---- gan_mnist.py --------------------------------------------------------------------------

class MnistGenerator(nn.Module):
    """Linear 128 -> 4*4*4D, [BN], ReLU, (4D, 4, 4); deconv5 -> 8x8, [BN], ReLU, crop to 7x7;
    deconv5 -> 14x14, [BN], ReLU; deconv5 -> 28x28; sigmoid."""

    def __init__(self, ctx: ModelContext, batch_norm: bool) -> None:
        super().__init__()
        d = ctx.width
        self.fc = init_linear(nn.Linear(ctx.latent_dim, 4 * 4 * 4 * d))
        self.bn = _bn1d(4 * 4 * 4 * d, batch_norm)
        self.up1 = nn.Sequential(deconv5(4 * d, 2 * d), _bn2d(2 * d, batch_norm), nn.ReLU())
        self.up2 = nn.Sequential(deconv5(2 * d, d), _bn2d(d, batch_norm), nn.ReLU())
        self.up3 = deconv5(d, _channels(ctx))
        self.out = output_activation(ctx.value_range)
        self.d = d

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn(self.fc(z))).view(-1, 4 * self.d, 4, 4)
        x = self.up1(x)[:, :, :7, :7]
        return self.out(self.up3(self.up2(x)))


class DCGANCritic(nn.Module):
    """``len(widths)`` stride-2 5x5 convs with LeakyReLU 0.2 ([BN] after all but the first),
    then Linear to one score (gan_mnist.py / gan_cifar.py Discriminator)."""

    def __init__(self, c_in: int, widths: tuple[int, ...], final_hw: int,
                 batch_norm: bool) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = c_in
        for i, w in enumerate(widths):
            layers += [conv5(c, w), _bn2d(w, batch_norm and i > 0), nn.LeakyReLU(0.2)]
            c = w
        self.features = nn.Sequential(*layers)
        self.fc = init_linear(nn.Linear(c * final_hw * final_hw, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x).flatten(1))


def _mnist(ctx: ModelContext) -> nn.Module:
    batch_norm = ctx.lipschitz == "clip"  # gan_mnist.py: BN only in MODE == 'wgan'
    if ctx.role == "generator":
        return MnistGenerator(ctx, batch_norm)
    d = ctx.width
    return DCGANCritic(_channels(ctx), (d, 2 * d, 4 * d), 4, batch_norm)


# ---- gan_cifar.py --------------------------------------------------------------------------

class CifarGenerator(nn.Module):
    """Linear 128 -> 4*4*4D, BN (per feature), ReLU, (4D, 4, 4); three deconv5 to 32x32 with
    BN + ReLU between; tanh."""

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__()
        d = ctx.width
        self.fc = init_linear(nn.Linear(ctx.latent_dim, 4 * 4 * 4 * d))
        self.bn = nn.BatchNorm1d(4 * 4 * 4 * d)
        self.net = nn.Sequential(
            deconv5(4 * d, 2 * d), nn.BatchNorm2d(2 * d), nn.ReLU(),
            deconv5(2 * d, d), nn.BatchNorm2d(d), nn.ReLU(),
            deconv5(d, _channels(ctx)), output_activation(ctx.value_range))
        self.d = d

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(F.relu(self.bn(self.fc(z))).view(-1, 4 * self.d, 4, 4))


def _cifar(ctx: ModelContext) -> nn.Module:
    if ctx.role == "generator":
        return CifarGenerator(ctx)
    d = ctx.width
    hw = ctx.data_shape[-1] // 8
    return DCGANCritic(_channels(ctx), (d, 2 * d, 4 * d), hw, batch_norm=ctx.lipschitz != "gp")


# ---- gan_cifar_resnet.py (CONDITIONAL = ACGAN = False) -----------------------------------

def _conv3(c_in: int, c_out: int, he_init: bool = True) -> nn.Conv2d:
    return init_conv(nn.Conv2d(c_in, c_out, 3, padding=1), he_init)


def _conv1(c_in: int, c_out: int) -> nn.Conv2d:
    return init_conv(nn.Conv2d(c_in, c_out, 1), he_init=False)


class ResBlockUp(nn.Module):
    """BN, ReLU, nearest 2x upsample + conv3x3, BN, ReLU, conv3x3; shortcut upsample +
    conv1x1. (The code upsamples before the first conv; App. F says the second.)"""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(c), _conv3(c, c)
        self.bn2, self.conv2 = nn.BatchNorm2d(c), _conv3(c, c)
        self.shortcut = _conv1(c, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        up = lambda t: F.interpolate(t, scale_factor=2, mode="nearest")  # noqa: E731
        h = self.conv1(up(F.relu(self.bn1(x))))
        h = self.conv2(F.relu(self.bn2(h)))
        return self.shortcut(up(x)) + h


class ResNetGenerator(nn.Module):
    def __init__(self, ctx: ModelContext) -> None:
        super().__init__()
        d = ctx.width
        self.fc = init_linear(nn.Linear(ctx.latent_dim, 4 * 4 * d))
        self.blocks = nn.Sequential(ResBlockUp(d), ResBlockUp(d), ResBlockUp(d))
        self.bn = nn.BatchNorm2d(d)
        self.conv = _conv3(d, _channels(ctx), he_init=False)
        self.out = output_activation(ctx.value_range)
        self.d = d

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.fc(z).view(-1, self.d, 4, 4))
        return self.out(self.conv(F.relu(self.bn(x))))


class ResBlockDisc(nn.Module):
    """ReLU, conv3x3, ReLU, conv3x3 [+ 2x2 mean-pool]; shortcut conv1x1 + mean-pool when
    downsampling, identity otherwise. ``first``: OptimizedResBlockDisc1 (no leading ReLU,
    shortcut mean-pool then conv1x1)."""

    def __init__(self, c_in: int, c: int, down: bool, first: bool = False) -> None:
        super().__init__()
        self.conv1, self.conv2 = _conv3(c_in, c), _conv3(c, c)
        self.down, self.first = down, first
        self.shortcut = _conv1(c_in, c) if (down or c_in != c) else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pool = (lambda t: F.avg_pool2d(t, 2)) if self.down else (lambda t: t)
        h = self.conv1(x if self.first else F.relu(x))
        h = pool(self.conv2(F.relu(h)))
        s = self.shortcut(pool(x)) if self.first else pool(self.shortcut(x))
        return s + h


class ResNetCritic(nn.Module):
    def __init__(self, ctx: ModelContext) -> None:
        super().__init__()
        d = ctx.width
        self.blocks = nn.Sequential(
            ResBlockDisc(_channels(ctx), d, down=True, first=True),
            ResBlockDisc(d, d, down=True), ResBlockDisc(d, d, down=False),
            ResBlockDisc(d, d, down=False))
        self.fc = init_linear(nn.Linear(d, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(F.relu(self.blocks(x)).mean(dim=(2, 3)))


def _resnet(ctx: ModelContext) -> nn.Module:
    return ResNetGenerator(ctx) if ctx.role == "generator" else ResNetCritic(ctx)


# ---- WGAN main.py: DCGAN_G / DCGAN_D and MLP_G / MLP_D at 64 x 64 --------------------------

def _dcgan_init(module: nn.Module) -> None:
    """main.py ``weights_init``: conv weights N(0, 0.02); BN weight N(1, 0.02), bias 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGAN64Generator(nn.Module):
    """ConvT nz -> 8*ngf (4x4), BN, ReLU; ConvT halving channels to 8, 16, 32 (BN, ReLU);
    ``depth`` extra 3x3 conv + BN + ReLU blocks; ConvT -> C at 64x64; tanh. No conv biases."""

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__()
        size = ctx.data_shape[-1]
        c = ctx.width * size // 8
        layers: list[nn.Module] = [nn.ConvTranspose2d(ctx.latent_dim, c, 4, 1, 0, bias=False),
                                   nn.BatchNorm2d(c), nn.ReLU()]
        hw = 4
        while hw < size // 2:
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(c // 2), nn.ReLU()]
            c, hw = c // 2, hw * 2
        for _ in range(ctx.depth):
            layers += [nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        layers += [nn.ConvTranspose2d(c, _channels(ctx), 4, 2, 1, bias=False),
                   output_activation(ctx.value_range)]
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGAN64Critic(nn.Module):
    """Conv C -> ndf (4, s2), LReLU 0.2; ``depth`` extra 3x3 blocks; convs doubling channels
    down to 4x4 ([BN], LReLU 0.2); Conv -> 1 (4x4, valid). No biases, no sigmoid."""

    def __init__(self, ctx: ModelContext, batch_norm: bool) -> None:
        super().__init__()
        c, hw = ctx.width, ctx.data_shape[-1] // 2
        layers: list[nn.Module] = [nn.Conv2d(_channels(ctx), c, 4, 2, 1, bias=False),
                                   nn.LeakyReLU(0.2)]
        for _ in range(ctx.depth):
            layers += [nn.Conv2d(c, c, 3, 1, 1, bias=False), _bn2d(c, batch_norm),
                       nn.LeakyReLU(0.2)]
        while hw > 4:
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), _bn2d(2 * c, batch_norm),
                       nn.LeakyReLU(0.2)]
            c, hw = 2 * c, hw // 2
        layers.append(nn.Conv2d(c, 1, 4, 1, 0, bias=False))
        self.net = nn.Sequential(*layers)
        _dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1, 1)


def _dcgan64(ctx: ModelContext) -> nn.Module:
    if ctx.role == "generator":
        return DCGAN64Generator(ctx)
    return DCGAN64Critic(ctx, batch_norm=ctx.lipschitz != "gp")


class WganMLP(nn.Module):
    """main.py MLP_G / MLP_D: three hidden ReLU layers of ``width``; PyTorch's default init; the
    generator has no output squashing (paper-facts §9.14)."""

    def __init__(self, ctx: ModelContext) -> None:
        super().__init__()
        dim = 1
        for s in ctx.data_shape:
            dim *= s
        d_in, d_out = (ctx.latent_dim, dim) if ctx.role == "generator" else (dim, 1)
        w = ctx.width
        self.net = nn.Sequential(nn.Linear(d_in, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(),
                                 nn.Linear(w, w), nn.ReLU(), nn.Linear(w, d_out))
        self.out_shape = ctx.data_shape if ctx.role == "generator" else (1,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1)).view(x.shape[0], *self.out_shape)


_BOTH = ("generator", "critic")
MODELS.register("mnist-dcgan", ModelEntry(_mnist, _BOTH, "WGAN-GP gan_mnist.py"))
MODELS.register("cifar-dcgan", ModelEntry(_cifar, _BOTH, "WGAN-GP gan_cifar.py"))
MODELS.register("cifar-resnet", ModelEntry(
    _resnet, _BOTH, "WGAN-GP gan_cifar_resnet.py (unsupervised; train with --gen-batch-multiple "
    "2 --lr 2e-4 --betas 0 0.9 --lr-schedule linear)"))
MODELS.register("dcgan64", ModelEntry(_dcgan64, _BOTH, "WGAN main.py DCGAN_G / DCGAN_D"))
MODELS.register("wgan-mlp", ModelEntry(
    lambda ctx: WganMLP(ctx), _BOTH, "WGAN main.py MLP_G / MLP_D (--mlp_G --mlp_D)"))
