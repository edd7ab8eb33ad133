"""--activation (WGAN-GP App. D): ELU and softplus(2x + 2)/2 - 1 in the toy MLPs."""

import math

import pytest
import torch

from wganbench.cli import main
from wganbench.config import TrainConfig, config_hash, resolve
from wganbench.models.mlp import ShiftedSoftplus
from wganbench.objectives.algorithm import Objective
from wganbench.objectives.piecewise_linear import uses_fallback
from wganbench.runner import build_parts


def test_shifted_softplus_by_hand():
    f = ShiftedSoftplus()
    x = torch.tensor([0.0, 30.0, -30.0])
    y = f(x)
    assert y[0].item() == pytest.approx(math.log1p(math.exp(2.0)) / 2 - 1)
    assert y[1].item() == pytest.approx(30.0, abs=1e-5)  # -> x for large x
    assert y[2].item() == pytest.approx(-1.0, abs=1e-5)  # -> -1 for small x


@pytest.mark.parametrize("activation,module", [("elu", torch.nn.ELU), ("softplus2", ShiftedSoftplus)])
def test_the_mlps_use_the_activation_and_the_penalty_stays_exact(activation, module):
    """A smooth critic is not piecewise linear: the fast penalty detects it and takes the
    textbook double backward, so fast and reference steps give the same gradients."""
    cfg = resolve(TrainConfig(objective="wgan-gp", out="unused", width=32, activation=activation))
    parts = build_parts(cfg, torch.device("cpu"))
    assert any(isinstance(m, module) for m in parts.critic.modules())
    assert any(isinstance(m, module) for m in parts.generator.modules())
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(16, 2, generator=g), torch.randn(16, 2, generator=g)
    grads = []
    for impl in ("fast", "reference"):
        obj = Objective.from_config(cfg.replace(step_impl=impl))
        loss, _ = obj.critic_loss(parts.critic, real, fake, torch.Generator().manual_seed(1))
        grads.append(torch.autograd.grad(loss, list(parts.critic.parameters())))
    assert uses_fallback(parts.critic)
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_relu_keeps_earlier_hashes_and_others_change_them():
    cfg = resolve(TrainConfig(out="x"))
    d = {k: v for k, v in cfg.to_dict().items() if k != "activation"}
    assert "activation" not in d and config_hash(cfg) == config_hash(cfg.replace(activation="relu"))
    assert config_hash(cfg.replace(activation="elu")) != config_hash(cfg)


def test_a_run_with_elu_trains_and_seeds_train_one_by_one(tmp_path):
    assert main(["train", "--activation", "softplus2", "--seeds", "0-1", "--steps", "2",
                 "--width", "16", "--no-progress", "--eval-samples", "50",
                 "--out", str(tmp_path / "s{seed}")]) == 0
    assert (tmp_path / "s1" / "checkpoint.pt").exists()


def test_activation_on_models_without_mlps_is_refused(tmp_path, capsys):
    code = main(["train", "--activation", "elu", "--dataset", "mnist", "--out", str(tmp_path / "r")])
    assert code == 2 and "--activation 'elu'" in capsys.readouterr().err
