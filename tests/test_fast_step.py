"""The fast critic step computes the reference step's function (issue 6, "same function").

For every objective x model: the critic's loss, its statistics and the gradients of every critic
parameter agree between ``--step-impl fast`` and ``--step-impl reference`` to float32 rounding,
for the same batches and penalty draws; and the fast path is really taken (no fallback) for
every GP critic of the zoo.
"""

import pytest
import torch
from torch import nn

from wganbench.config import TrainConfig, resolve
from wganbench.objectives import OBJECTIVES
from wganbench.errors import UserError
from wganbench.objectives.algorithm import Objective, bf16_conv_double_backward_ok, couples_batch
from wganbench.objectives.lipschitz import GradientPenalty
from wganbench.objectives.piecewise_linear import input_gradient, reference_input_gradient, uses_fallback
from wganbench.runner import build_parts

#: (dataset, overrides, data shape): every critic of the model zoo, at a small width
MODELS = {
    "mlp": ("8gaussians", dict(width=32), (2,)),
    "wgan-mlp": ("swissroll", dict(generator="wgan-mlp", critic="wgan-mlp", width=32), (2,)),
    "mnist-dcgan": ("mnist", dict(width=8), (1, 28, 28)),
    "cifar-dcgan": ("cifar10", dict(width=8), (3, 32, 32)),
    "cifar-resnet": ("cifar10", dict(generator="cifar-resnet", critic="cifar-resnet", width=8),
                     (3, 32, 32)),
    "dcgan64": ("image-folder", dict(generator="dcgan64", critic="dcgan64", width=4), (3, 64, 64)),
}


def _grads(objective, critic, real, fake, seed):
    total, stats = objective.critic_loss(critic, real, fake, torch.Generator().manual_seed(seed))
    grads = torch.autograd.grad(total, list(critic.parameters()), allow_unused=True)
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(critic.parameters(), grads)]
    return total.detach(), stats, grads


@pytest.mark.parametrize("objective", OBJECTIVES.names())
@pytest.mark.parametrize("model", list(MODELS))
def test_fast_critic_loss_and_gradients_equal_the_reference(objective, model):
    dataset, overrides, shape = MODELS[model]
    cfg = resolve(TrainConfig(objective=objective, dataset=dataset, out="unused", batch_size=6,
                              **overrides))
    parts = build_parts(cfg, torch.device("cpu"))
    g = torch.Generator().manual_seed(7)
    real = torch.rand(6, *shape, generator=g) * 2 - 1
    fake = torch.rand(6, *shape, generator=g) * 2 - 1
    fast = Objective.from_config(cfg.replace(step_impl="fast"))
    reference = Objective.from_config(cfg.replace(step_impl="reference"))
    assert fast.fast and not reference.fast

    loss_f, stats_f, grads_f = _grads(fast, parts.critic, real, fake, seed=3)
    loss_r, stats_r, grads_r = _grads(reference, parts.critic, real, fake, seed=3)

    torch.testing.assert_close(loss_f, loss_r, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(stats_f.estimate, stats_r.estimate, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(stats_f.penalty, stats_r.penalty, rtol=1e-5, atol=1e-6)
    scale = max(float(g.abs().max()) for g in grads_r)
    assert scale > 0
    for (name, _), gf, gr in zip(parts.critic.named_parameters(), grads_f, grads_r):
        torch.testing.assert_close(gf, gr, rtol=1e-4, atol=1e-4 * scale, msg=name)
    if cfg.lipschitz == "gp":
        assert not uses_fallback(parts.critic), f"{model}: fast penalty fell back"
        assert not couples_batch(parts.critic)


def test_critics_with_batch_norm_keep_separate_calls():
    cfg = resolve(TrainConfig(objective="wgan-clip", dataset="mnist", out="unused", width=8))
    critic = build_parts(cfg, torch.device("cpu")).critic
    assert couples_batch(critic)
    calls = []
    critic.register_forward_hook(lambda m, i, o: calls.append(len(i[0])))
    Objective.from_config(cfg).critic_loss(critic, torch.rand(4, 1, 28, 28),
                                           torch.rand(4, 1, 28, 28), torch.Generator())
    assert calls == [4, 4]


class _TanhCritic(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(2, 16), nn.Linear(16, 1)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


def test_penalty_falls_back_to_autograd_for_a_critic_that_is_not_piecewise_linear():
    """tanh's second derivative is not zero: the fast path must not drop it."""
    torch.manual_seed(0)
    critic = _TanhCritic()
    x = torch.randn(8, 2)
    fast = input_gradient(critic, x)
    assert "tanh" in " ".join(uses_fallback(critic))
    ref = reference_input_gradient(critic, x, create_graph=True)
    gf = torch.autograd.grad(fast.pow(2).sum(), critic.a.weight)[0]
    gr = torch.autograd.grad(ref.pow(2).sum(), critic.a.weight)[0]
    torch.testing.assert_close(gf, gr)
    assert gr.abs().max() > 0


def test_fast_penalty_without_mask_constants_would_differ():
    """The fast penalty keeps the input gradient's path to the weights: were the input gradient
    treated as a constant, the first layer's weight gradient here would be zero (or None)."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    x = torch.randn(8, 2)
    pen = GradientPenalty(10.0, False)
    value = pen.penalty(critic, x, x.flip(0), torch.Generator().manual_seed(0), fast=True).value
    grads = torch.autograd.grad(value, critic[0].weight)[0]
    assert grads.abs().max() > 1e-3


def _cosine(a, b):
    a = torch.cat([g.flatten() for g in a])
    b = torch.cat([g.flatten() for g in b])
    return float(a @ b / (a.norm() * b.norm()))


@pytest.mark.parametrize("model", ["mlp", "mnist-dcgan", "cifar-dcgan", "cifar-resnet"])
@pytest.mark.parametrize("objective", ["wgan-gp", "wgan-clip"])
def test_bf16_autocast_step_tracks_the_float32_step(objective, model):
    """--precision bf16: products in bfloat16, weights, losses and gradients in float32; the
    loss and the gradient direction stay close to float32's, for the fast and the reference
    penalty alike (the fast penalty's casts keep its weight gradients float32)."""
    dataset, overrides, shape = MODELS[model]
    cfg = resolve(TrainConfig(objective=objective, dataset=dataset, out="unused", batch_size=8,
                              **overrides))
    critic = build_parts(cfg, torch.device("cpu")).critic
    g = torch.Generator().manual_seed(5)
    real = torch.rand(8, *shape, generator=g) * 2 - 1
    fake = torch.rand(8, *shape, generator=g) * 2 - 1
    results = {}
    for precision in ("float32", "bf16"):
        for impl in ("fast", "reference"):
            obj = Objective.from_config(cfg.replace(precision=precision, step_impl=impl))
            results[precision, impl] = _grads(obj, critic, real, fake, seed=4)
    loss32, _, grads32 = results["float32", "reference"]
    impls = ("fast", "reference")
    if model != "mlp" and not bf16_conv_double_backward_ok("cpu"):
        # this CPU's PyTorch gets bf16 conv double backward wrong (AMX): the reference
        # penalty is refused there (test below); the fast one must still be right
        impls = ("fast",)
    for impl in impls:
        loss16, stats16, grads16 = results["bf16", impl]
        assert loss16.dtype == stats16.penalty.dtype == torch.float32
        assert all(gr.dtype == torch.float32 for gr in grads16)
        assert abs(float(loss16 - loss32)) <= 0.05 * abs(float(loss32)) + 1e-3
        assert float(loss16) != float(loss32)  # the products did run in bfloat16
        assert _cosine(grads16, grads32) > 0.99
    if len(impls) == 2:
        assert _cosine(results["bf16", "fast"][2], results["bf16", "reference"][2]) > 0.999


def test_bf16_reference_penalty_on_conv_critics_is_refused_where_it_is_wrong():
    """Where the probe finds PyTorch's bf16 conv double backward wrong, building such a run is
    a one-line error; where it is right, the run builds (and the test above checks it)."""
    cfg = resolve(TrainConfig(objective="wgan-gp", dataset="cifar10", out="unused",
                              precision="bf16", step_impl="reference"))
    if bf16_conv_double_backward_ok("cpu"):
        build_parts(cfg, torch.device("cpu"))
    else:
        with pytest.raises(UserError, match="--step-impl fast"):
            build_parts(cfg, torch.device("cpu"))
    build_parts(cfg.replace(step_impl="fast"), torch.device("cpu"))  # always allowed


def test_compiled_step_computes_the_eager_step():
    """--compile: the critic's scores and the generator step through torch.compile (the
    penalty stays eager) give the eager losses and gradients."""
    cfg = resolve(TrainConfig(objective="wgan-gp", dataset="8gaussians", out="unused",
                              batch_size=8, width=16))
    parts = build_parts(cfg, torch.device("cpu"))
    eager = Objective.from_config(cfg)
    compiled = Objective.from_config(cfg)
    compiled.compile(parts.generator, parts.critic)
    real = torch.randn(8, 2, generator=torch.Generator().manual_seed(0))
    z = torch.randn(8, 2, generator=torch.Generator().manual_seed(1))
    fake_e, fake_c = eager.fake(parts.generator, z), compiled.fake(parts.generator, z)
    torch.testing.assert_close(fake_c, fake_e)
    loss_e, _, grads_e = _grads(eager, parts.critic, real, fake_e, seed=2)
    loss_c, _, grads_c = _grads(compiled, parts.critic, real, fake_e, seed=2)
    torch.testing.assert_close(loss_c, loss_e, rtol=1e-5, atol=1e-6)
    for gc, ge in zip(grads_c, grads_e):
        torch.testing.assert_close(gc, ge, rtol=1e-4, atol=1e-6)
    params = list(parts.generator.parameters())
    ge = torch.autograd.grad(eager.generator_loss(parts.generator, parts.critic, z), params)
    gc = torch.autograd.grad(compiled.generator_loss(parts.generator, parts.critic, z), params)
    for a, b in zip(gc, ge):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)
    assert compiled._fwd(parts.critic) is not parts.critic  # the compiled twin was used


def test_in_place_relu_critics_take_the_textbook_penalty():
    """An in-place ReLU mutates its input, which the swapped function would not do: such a
    critic is left to autograd, and its penalty gradients stay exact."""
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Linear(2, 16), nn.ReLU(inplace=True), nn.Linear(16, 1))
    x = torch.randn(8, 2)
    fast = input_gradient(critic, x)
    assert uses_fallback(critic)
    ref = reference_input_gradient(critic, x, create_graph=True)
    torch.testing.assert_close(torch.autograd.grad(fast.pow(2).sum(), critic[0].weight)[0],
                               torch.autograd.grad(ref.pow(2).sum(), critic[0].weight)[0])
