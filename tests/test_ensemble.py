"""Seed ensembles (issue 6): a vectorised 3-seed run equals 3 sequential runs, seed by seed."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch

from wganbench.config import TrainConfig
from wganbench.ensemble import parse_seeds, train_seeds, vectorisable
from wganbench.errors import UserError
from wganbench.objectives.piecewise_linear import uses_fallback
from wganbench.runner import load_checkpoint, train

COMPARED = ["critic_loss", "gen_loss", "w_estimate", "penalty", "grad_norm", "w1",
            "w_estimate_eval", "critic_loss_mean"]


def _cfg(objective, out, **kw):
    return TrainConfig(**{**dict(objective=objective, dataset="8gaussians", steps=4, width=64,
                                 log_every=2, eval_every=2, eval_samples=200,
                                 checkpoint_every=2, progress=False, out=str(out)), **kw})


@pytest.mark.parametrize("objective", ["wgan-gp", "wgan-clip", "gan-ns", "lsgan"])
def test_three_seed_ensemble_equals_three_sequential_runs(tmp_path, objective):
    results = train_seeds(_cfg(objective, tmp_path / "ens" / "seed{seed}"), [0, 1, 2])
    assert [r.out.name for r in results] == ["seed0", "seed1", "seed2"]
    if objective == "wgan-gp":  # the stacked critic takes the fast penalty, no fallback
        assert not uses_fallback(results[0].trainer.critic)
    for seed, result in zip([0, 1, 2], results):
        alone = train(_cfg(objective, tmp_path / f"alone{seed}", seed=seed))
        ens = pd.read_csv(result.out / "metrics.csv")
        ref = pd.read_csv(alone.out / "metrics.csv")
        assert list(ens.step) == list(ref.step) == [0, 2, 4]
        pd.testing.assert_frame_equal(ens[COMPARED], ref[COMPARED], rtol=1e-4, atol=1e-5)
        a = load_checkpoint(result.out / "checkpoint.pt")
        b = load_checkpoint(alone.out / "checkpoint.pt")
        assert a["config"]["seed"] == b["config"]["seed"] == seed
        for net in ("generator", "critic"):
            for name in b[net]:
                torch.testing.assert_close(a[net][name], b[net][name], rtol=1e-4, atol=1e-6)
        for key in ("opt_generator", "opt_critic"):
            for i, state in b[key]["state"].items():
                for k, v in state.items():
                    torch.testing.assert_close(a[key]["state"][i][k], v, rtol=1e-4, atol=1e-7)
    # the seeds really differ (the comparison above is not between copies of one run)
    first = pd.read_csv(results[0].out / "metrics.csv").w1.iloc[-1]
    assert first != pd.read_csv(results[1].out / "metrics.csv").w1.iloc[-1]


@pytest.mark.parametrize("objective,dataset,fixed_fake,depth", [
    ("gan", "two-gaussians", "normal:5:1", 3),          # figure1's discriminator
    ("wgan-gp", "8gaussians", "data+noise:1", 3),       # value-surfaces
    ("wgan-clip", "swissroll", "data+noise:1", 12),     # a deep critic, as in gradient-norms
    ("wgan-gp", "parallel-lines", "shift:0.5,0", 3),    # parallel-lines: no MLP generator
])
def test_fixed_fake_ensemble_equals_sequential_runs(tmp_path, objective, dataset, fixed_fake,
                                                    depth):
    """Critic-only experiments (a fixed fake distribution, no generator step) vectorise too."""
    def cfg(out, **kw):
        return _cfg(objective, out, dataset=dataset, fixed_fake=fixed_fake, depth=depth, **kw)

    results = train_seeds(cfg(tmp_path / "ens" / "seed{seed}"), [0, 1])
    provenance = json.loads((results[0].out / "provenance.json").read_text())
    assert json.dumps(provenance).count('"seed_ensemble": [0, 1]') == 1  # trained as one program
    for seed, result in zip([0, 1], results):
        alone = train(cfg(tmp_path / f"alone{seed}", seed=seed))
        ens = pd.read_csv(result.out / "metrics.csv")
        ref = pd.read_csv(alone.out / "metrics.csv")
        assert ens.gen_loss.isna().all() and ref.gen_loss.isna().all()
        pd.testing.assert_frame_equal(ens[COMPARED], ref[COMPARED], rtol=1e-4, atol=1e-5)
        a = load_checkpoint(result.out / "checkpoint.pt")["critic"]
        b = load_checkpoint(alone.out / "checkpoint.pt")["critic"]
        for name in b:
            torch.testing.assert_close(a[name], b[name], rtol=1e-4, atol=1e-6)


def test_resumed_ensemble_continues_every_seed_exactly(tmp_path):
    cfg = _cfg("wgan-gp", tmp_path / "a" / "s{seed}")
    train_seeds(cfg, [3, 4])
    train_seeds(cfg.replace(steps=6), [3, 4], resume=True)
    straight = train_seeds(_cfg("wgan-gp", tmp_path / "b" / "s{seed}", ).replace(steps=6), [3, 4])
    for r in straight:
        resumed = pd.read_csv(tmp_path / "a" / r.out.name / "metrics.csv")
        ref = pd.read_csv(r.out / "metrics.csv")
        pd.testing.assert_frame_equal(resumed[COMPARED], ref[COMPARED])


def test_seed_specs_and_what_vectorises():
    assert parse_seeds("0-3,8") == [0, 1, 2, 3, 8]
    assert parse_seeds("5") == [5]
    for bad in ("", "3-1", "a", "-2"):
        with pytest.raises(UserError, match="--seeds"):
            parse_seeds(bad)
    assert vectorisable(TrainConfig(dataset="8gaussians"))
    assert vectorisable(TrainConfig(dataset="two-gaussians", fixed_fake="normal:5:1"))
    assert vectorisable(TrainConfig(dataset="parallel-lines", fixed_fake="shift:1,0"))
    assert not vectorisable(TrainConfig(dataset="parallel-lines"))
    assert not vectorisable(TrainConfig(dataset="mnist"))


def test_cli_rejects_seed_with_seeds(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "wganbench", "train", "--seeds", "0-1",
                           "--seed", "3", "--out", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--seeds" in proc.stderr


def test_reproductions_train_seeds_together_then_reuse_them(tmp_path):
    """Reproduction.train_seeds trains the seeds as one ensemble; the script's later per-seed
    ctx.train calls find those runs finished and reuse them (nothing is trained twice)."""
    from wganbench.reproduce import Reproduction

    ctx = Reproduction("demo", tmp_path, quick=True, seeds=2, device="cpu")
    cfg = _cfg("wgan-gp", "unused")
    trainers = ctx.train_seeds(lambda s: f"gp_seed{s}", cfg)
    provenance = (trainers[1].out / "provenance.json").read_text()
    assert '"seed_ensemble": [\n    0,\n    1\n  ]' in provenance or '"seed_ensemble": [0, 1]' in provenance
    before = (trainers[1].out / "metrics.csv").read_text()
    again = ctx.train("gp_seed1", cfg.replace(seed=1))
    assert again.step == 4 and (again.out / "metrics.csv").read_text() == before
    torch.testing.assert_close(again.critic.net[0].weight, trainers[1].critic.net[0].weight)


def test_seed_stages_train_together_and_equal_separate_staged_runs(tmp_path, monkeypatch):
    """A staged reproduction's seeds train as one ensemble stage by stage (fresh, then resumed
    together), and each seed's stages equal those of its run trained alone."""
    from wganbench import ensemble, reproduce

    cfg = TrainConfig(objective="wgan-clip", dataset="gaussian-1d", width=16, steps=6,
                      log_every=2, eval_every=6, progress=False)
    stages = [2, 4, 6]
    calls = []
    real_train_configs = ensemble.train_configs

    def recording(configs, resume=False):
        calls.append((len(configs), resume))
        return real_train_configs(configs, resume)

    monkeypatch.setattr(ensemble, "train_configs", recording)
    ens = reproduce.Reproduction("gaussian-1d", tmp_path / "ens", quick=True, seeds=2, device="cpu")
    ens.train_seeds_stages(lambda s: f"run_seed{s}", cfg, stages)
    assert calls == [(2, False), (2, True), (2, True)]

    def generators(ctx, seed):
        return [[p.detach().clone() for p in t.generator.parameters()]
                for t in ctx.train_stages(f"run_seed{seed}", cfg.replace(seed=seed), stages)]

    def no_training(cfg):
        raise AssertionError(f"retrained {cfg.out} to step {cfg.steps}")

    monkeypatch.setattr(reproduce, "train_or_reuse", no_training)  # read back, not retrained
    together = {s: generators(ens, s) for s in (0, 1)}
    monkeypatch.undo()
    alone = reproduce.Reproduction("gaussian-1d", tmp_path / "alone", quick=True, seeds=1,
                                   device="cpu")
    for seed in (0, 1):
        for ours, ref in zip(together[seed], generators(alone, seed)):
            for p, q in zip(ours, ref):
                torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-6)
    assert not torch.equal(together[0][-1][0], together[1][-1][0])


def test_batched_and_per_seed_products_compute_the_same_ensemble(monkeypatch):
    """StackedMLP runs one baddbmm per layer on a GPU and a product per seed on a CPU; both
    give the members' outputs and the same fast penalty gradient (the GPU path tested here)."""
    from wganbench.ensemble import StackedMLP
    from wganbench.models.mlp import MLP
    from wganbench.objectives.piecewise_linear import input_gradient

    torch.manual_seed(0)
    members = [MLP(2, 1, width=32, depth=3) for _ in range(3)]
    x = torch.randn(3, 16, 2)
    results = {}
    for batched_on in ((), ("cpu",)):
        monkeypatch.setattr(StackedMLP, "BATCHED_ON", batched_on)
        net = StackedMLP(members)
        out = net(x)
        grad = input_gradient(net, x)
        assert not uses_fallback(net)
        params = net.member_parameters()
        weight_grads = torch.autograd.grad(grad.norm(dim=2).sum(), params, allow_unused=True)
        weight_grads = [torch.zeros_like(p) if g is None else g  # output bias: no part in it
                        for p, g in zip(params, weight_grads)]
        results[batched_on] = (out, grad, weight_grads)
        for k, member in enumerate(members):
            torch.testing.assert_close(out[k], member(x[k]))
    (o1, g1, w1), (o2, g2, w2) = results.values()
    torch.testing.assert_close(g1, g2)
    for a, b in zip(w1, w2):
        torch.testing.assert_close(a, b)
