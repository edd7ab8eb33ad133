"""The weight initialisation of the WGAN-GP authors' ``tflib`` (paper-facts §6, shared conventions).

tflib draws every weight from U(-std sqrt 3, std sqrt 3) (a uniform with standard deviation
std) and starts biases at zero:

* Linear: Glorot, std = sqrt(2 / (fan_in + fan_out));
* Conv2D (stride s): fan_in = C_in k^2, fan_out = C_out k^2 / s^2; std = sqrt(4 / (fan_in +
  fan_out)) with ``he_init`` (the default), sqrt(2 / (fan_in + fan_out)) without;
* Deconv2D (stride 2): fan_in = C_in k^2 / 4, fan_out = C_out k^2; the same two stds.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _uniform_(weight: torch.Tensor, std: float) -> None:
    bound = std * math.sqrt(3.0)
    with torch.no_grad():
        weight.uniform_(-bound, bound)


def init_linear(layer: nn.Linear) -> nn.Linear:
    _uniform_(layer.weight, math.sqrt(2.0 / (layer.in_features + layer.out_features)))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def init_conv(layer: nn.Conv2d | nn.ConvTranspose2d, he_init: bool = True) -> nn.Module:
    k = layer.kernel_size[0] * layer.kernel_size[1]
    stride = layer.stride[0]
    if isinstance(layer, nn.ConvTranspose2d):
        fan_in = layer.in_channels * k / stride**2
        fan_out = layer.out_channels * k
    else:
        fan_in = layer.in_channels * k
        fan_out = layer.out_channels * k / stride**2
    _uniform_(layer.weight, math.sqrt((4.0 if he_init else 2.0) / (fan_in + fan_out)))
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
    return layer


def conv5(c_in: int, c_out: int) -> nn.Conv2d:
    """tflib Conv2D, 5x5, stride 2, 'SAME' (halves the size, rounding up)."""
    return init_conv(nn.Conv2d(c_in, c_out, 5, stride=2, padding=2))


def deconv5(c_in: int, c_out: int) -> nn.ConvTranspose2d:
    """tflib Deconv2D, 5x5, stride 2, 'SAME' (doubles the size)."""
    return init_conv(nn.ConvTranspose2d(c_in, c_out, 5, stride=2, padding=2, output_padding=1))
