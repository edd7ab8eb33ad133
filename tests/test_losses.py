"""Loss signs and values on hand-computed examples."""

import math

import pytest
import torch

from wganbench.objectives.losses import LOSSES


def test_wasserstein_signs_follow_the_paper():
    loss = LOSSES.get("wasserstein")
    real = torch.tensor([2.0, 4.0])  # critic scores real samples high
    fake = torch.tensor([-1.0, 1.0])
    assert loss.estimate(real, fake).item() == pytest.approx(3.0)  # E f(real) - E f(fake) > 0
    assert loss.critic_loss(real, fake).item() == pytest.approx(-3.0)  # critic descends -estimate
    assert loss.generator_loss(fake).item() == pytest.approx(0.0)
    assert loss.generator_loss(torch.tensor([3.0])).item() == pytest.approx(-3.0)


def test_minimax_values_by_hand():
    loss = LOSSES.get("minimax")
    lr, lf = 1.5, -0.5  # logits
    d_real, d_fake = 1 / (1 + math.exp(-lr)), 1 / (1 + math.exp(-lf))
    L = math.log(d_real) + math.log(1 - d_fake)
    real, fake = torch.tensor([lr]), torch.tensor([lf])
    assert loss.critic_loss(real, fake).item() == pytest.approx(-L, rel=1e-6)
    assert loss.estimate(real, fake).item() == pytest.approx(0.5 * L + math.log(2), rel=1e-6)
    assert loss.generator_loss(fake).item() == pytest.approx(math.log(1 - d_fake), rel=1e-6)


def test_non_saturating_generator_loss_by_hand():
    loss = LOSSES.get("non-saturating")
    lf = -2.0
    d_fake = 1 / (1 + math.exp(-lf))
    assert loss.generator_loss(torch.tensor([lf])).item() == pytest.approx(-math.log(d_fake), rel=1e-6)
    # the critic side is the minimax one
    real, fake = torch.tensor([0.3]), torch.tensor([lf])
    assert loss.critic_loss(real, fake) == LOSSES.get("minimax").critic_loss(real, fake)


def test_js_estimate_limits():
    loss = LOSSES.get("minimax")
    # D = 1/2 everywhere: the estimate is 0 (= JSD of identical distributions)
    zeros = torch.zeros(4)
    assert loss.estimate(zeros, zeros).item() == pytest.approx(0.0, abs=1e-7)
    # a perfect discriminator: the estimate tends to log 2 (= JSD of disjoint supports)
    assert loss.estimate(torch.full((4,), 30.0), torch.full((4,), -30.0)).item() == pytest.approx(
        math.log(2), abs=1e-6)


def test_non_saturating_gradient_does_not_vanish_when_d_rejects_fakes():
    """Goodfellow 2014 §3: with D(G(z)) ~ 0 the minimax G gradient vanishes, the NS one does not."""
    logit = torch.tensor([-10.0], requires_grad=True)
    (g_mm,) = torch.autograd.grad(LOSSES.get("minimax").generator_loss(logit), logit)
    (g_ns,) = torch.autograd.grad(LOSSES.get("non-saturating").generator_loss(logit), logit)
    assert abs(g_mm.item()) < 1e-4
    assert abs(g_ns.item()) > 0.99


def test_least_squares_values_by_hand():
    """LSGAN (Mao et al. 2017, 0-1 coding; gan_64x64.py): scores real (2, 0), fake (0.5, -1)."""
    loss = LOSSES.get("least-squares")
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([0.5, -1.0])
    critic = 0.5 * (((2 - 1) ** 2 + (0 - 1) ** 2) / 2 + (0.5 ** 2 + 1.0 ** 2) / 2)  # 0.8125
    assert loss.critic_loss(real, fake).item() == pytest.approx(critic)
    assert loss.generator_loss(fake).item() == pytest.approx(((0.5 - 1) ** 2 + (-2.0) ** 2) / 2)
    assert loss.estimate(real, fake).item() == pytest.approx(2 - 8 * critic)
    assert loss.estimate_kind == "triangular"


def test_least_squares_estimate_limits():
    """The optimal critic p_r / (p_r + p_g): 1/2 everywhere for identical distributions
    (Delta = 0); 1 on real and 0 on fake samples for disjoint supports (Delta = 2)."""
    loss = LOSSES.get("least-squares")
    half = torch.full((4,), 0.5)
    assert loss.estimate(half, half).item() == pytest.approx(0.0, abs=1e-7)
    assert loss.estimate(torch.ones(4), torch.zeros(4)).item() == pytest.approx(2.0)


def test_tf_rmsprop_matches_a_hand_computed_step():
    """TF1 RMSPropOptimizer: ms starts at 1, decay 0.9, eps inside the root (paper-facts §9.7)."""
    from wganbench.objectives.optimizers import OPTIMIZERS

    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = OPTIMIZERS.get("rmsprop-tf").build([w], 0.01, None, False)
    lr, expected = 0.01, [1.0, -2.0]
    ms = [1.0, 1.0]
    for g in ([2.0, 0.5], [-1.0, 3.0]):
        w.grad = torch.tensor(g)
        opt.step()
        for i in range(2):
            ms[i] = 0.9 * ms[i] + 0.1 * g[i] ** 2
            expected[i] -= lr * g[i] / math.sqrt(ms[i] + 1e-10)
        assert w.detach().tolist() == pytest.approx(expected, rel=1e-6)
    # PyTorch's RMSprop takes a first step about ten times larger (ms starts at 0, alpha 0.99)
    v = torch.nn.Parameter(torch.tensor([1.0]))
    torch_opt = torch.optim.RMSprop([v], lr=lr)
    v.grad = torch.tensor([2.0])
    torch_opt.step()
    assert (1.0 - v.item()) == pytest.approx(10 * lr, rel=1e-3)
    state = opt.state_dict()  # checkpoints: the accumulator round-trips
    assert torch.allclose(state["state"][0]["square_avg"], torch.tensor(ms))
