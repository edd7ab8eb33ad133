"""Weight clipping and the gradient penalty against hand computations."""

import pytest
import torch
from torch import nn

from wganbench.objectives.lipschitz import GradientPenalty, WeightClipping, interpolate
from wganbench.objectives.algorithm import Objective
from wganbench.objectives.losses import LOSSES


def _critic_with_bn():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))  # push everything well outside [-c, c]
    return net


def _one_clip_step(mode):
    critic = _critic_with_bn()
    opt = torch.optim.RMSprop(critic.parameters(), lr=1.0)
    obj = Objective(LOSSES.get("wasserstein"), WeightClipping(0.01, mode))
    g = torch.Generator().manual_seed(0)
    obj.critic_step(critic, opt, torch.randn(16, 2), torch.randn(16, 2), g)
    return critic


def test_clipping_after_step_bounds_every_parameter():
    critic = _one_clip_step("after")
    names = [n for n, _ in critic.named_parameters()]
    assert any("bias" in n for n in names) and any(n.startswith("1.") for n in names)  # BN too
    for name, p in critic.named_parameters():
        assert p.abs().max().item() <= 0.01 + 1e-12, name


def test_clipping_before_step_leaves_one_unclamped_update():
    """main.py of the WGAN authors clamps before each step: after it, an RMSprop step of lr 1
    carries parameters outside the box."""
    critic = _one_clip_step("before")
    assert max(p.abs().max().item() for p in critic.parameters()) > 0.01


def test_gradient_penalty_of_a_linear_critic_by_hand():
    w = torch.tensor([[3.0, 4.0]])  # ||w|| = 5
    critic = nn.Linear(2, 1)
    with torch.no_grad():
        critic.weight.copy_(w)
        critic.bias.fill_(0.7)
    real, fake = torch.randn(32, 2), torch.randn(32, 2)
    pen = GradientPenalty(10.0, False).penalty(critic, real, fake, torch.Generator().manual_seed(1))
    assert pen.value.item() == pytest.approx(10.0 * (5.0 - 1.0) ** 2)
    assert torch.allclose(pen.grad_norms, torch.full((32,), 5.0))
    # one-sided: a 1/2-Lipschitz critic is not penalised at all, a 5-Lipschitz one is
    with torch.no_grad():
        critic.weight.mul_(0.1)  # ||w|| = 0.5
    assert GradientPenalty(10.0, False).penalty(
        critic, real, fake, torch.Generator()).value.item() == pytest.approx(2.5)
    assert GradientPenalty(10.0, True).penalty(
        critic, real, fake, torch.Generator()).value.item() == 0.0


def test_gradient_penalty_reaches_the_critic_parameters():
    critic = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    pen = GradientPenalty(10.0, False).penalty(critic, torch.randn(8, 2), torch.randn(8, 2),
                                               torch.Generator().manual_seed(0))
    pen.value.backward()
    # grad_x f = W2 diag(1[W1 x + b1 > 0]) W1 is piecewise constant in the biases: only the
    # weights receive a penalty gradient
    for name, p in critic.named_parameters():
        if name.endswith("bias"):
            assert p.grad is None or p.grad.abs().sum() == 0, name
        else:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_epsilon_is_drawn_per_sample():
    real, fake = torch.randn(64, 3, 4, 4), torch.randn(64, 3, 4, 4)
    x_hat = interpolate(real, fake, torch.Generator().manual_seed(0))
    eps = (x_hat - fake) / (real - fake)  # x_hat = eps real + (1 - eps) fake
    per_sample = eps.flatten(1)
    # one epsilon for all dimensions of a sample ...
    assert torch.allclose(per_sample, per_sample[:, :1].expand_as(per_sample), atol=1e-4)
    # ... a different one for each sample, in [0, 1]
    eps0 = per_sample[:, 0]
    assert eps0.unique().numel() == 64
    assert eps0.min() >= 0 and eps0.max() <= 1
