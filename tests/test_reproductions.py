"""Every reproduction runs at --quick scale and writes its claims with controls and verdicts.

Quick runs are smoke runs: these tests check the pipeline and that controls are applied; they
never require a trained claim to hold at quick scale."""

import math

import numpy as np
import pandas as pd
import pytest

from wganbench.cli import main
from wganbench.reproduce import VERDICTS, Claim, available, in_all, section_of, seeds_required


#: claims (by their start) whose untrained control fails in every seed by construction, whatever
#: training did: the check that each reproduction's claims are measured on its controls
FAIL_UNTRAINED = {
    "figure1": ["GAN discriminator: D(x) on the real mode"],
    "parallel-lines": ["discriminator JS estimate near log 2 for theta != 0: min"],
    "gradient-norms": ["c = 0.1 grows"],
    "weight-histograms": ["gradient penalty: fraction of hidden weights outside",
                          "gradient penalty: mean excess kurtosis",
                          "clipping: fraction within 1% of +-c, trained minus"],
    "value-surfaces": ["8gaussians, gradient penalty: Spearman"],
    "em-vs-quality": [],
    "gaussian-1d": ["GAN: ends closer", "WGAN-clip: ends closer"],
    "wgan-optimizers": ["RMSprop 5e-5 learns"],
    "gp-one-sided": ["8gaussians, two-sided: exact W1"],
    "gp-activation": [],
}
#: reproductions whose claims compare arms or seeds (ratios to another arm, a failure, a test
#: over seeds): an untrained network is not the first control of every claim there
COMPARATIVE = {"wgan-optimizers", "gp-one-sided", "gp-activation"}


#: the image reproductions (need MNIST; IN_ALL = False) are run at a tiny scale on a built MNIST
#: in test_image_reproductions.py, and at --quick on the real one by its slow test
@pytest.mark.parametrize("name", [n for n in available() if in_all(n)])
def test_quick_reproduction_writes_claims_with_verdicts(tmp_path, name):
    # one seed: a smoke run of the pipeline (several seeds: test_figure1_claims_fail_on_their_
    # controls; the committed runs use the scripts' DEFAULT_SEEDS)
    assert main(["reproduce", name, "--quick", "--seeds", "1", "--out", str(tmp_path)]) == 0
    d = tmp_path / name
    for suffix in (".png", ".pdf", ".csv"):
        assert (d / f"{name}{suffix}").stat().st_size > 0
    claims = pd.read_csv(d / "claims.csv", keep_default_na=False)
    assert len(claims) >= 1
    assert list(claims.columns[:2]) == ["claim", "measured"]
    for col in ("measured_ci_low", "seeds_required", "control", "control_measured",
                "control_seeds_holding", "verdict", "paper", "our_scale", "runs_diverged"):
        assert col in claims, col
    assert set(claims.verdict) <= set(VERDICTS)
    assert (claims.holds == (claims.verdict == "holds")).all()
    # no claim without a control is counted as holding
    assert not ((claims.control == "") & claims.holds).any()
    # every claim has a control; elsewhere the same networks untrained come first
    assert (claims.control != "").all(), name
    if name not in COMPARATIVE:
        assert all(c.split(";")[0].startswith("untrained") for c in claims.control), name
    for start in FAIL_UNTRAINED[name]:
        rows = claims[claims.claim.str.startswith(start)]
        assert len(rows) == 1, start
        assert str(rows.control_seeds_holding.iloc[0]).split(";")[0] == "0/1", start
    assert (d / "provenance.json").exists()
    index = (tmp_path / "README.md").read_text()
    assert f"### {name}:" in index and f"{name}/{name}.png" in index


def test_figure1_claims_fail_on_their_controls(tmp_path):
    """The untrained networks fail the GAN claims (D = 0.5-ish, a slope on the fake mode), and
    a claim is reported as holding only where every control fails: the pipeline, not a trained
    result, is what is checked at quick scale."""
    assert main(["reproduce", "figure1", "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 0
    claims = pd.read_csv(tmp_path / "figure1" / "claims.csv", keep_default_na=False)
    assert (claims.control != "").all()  # every claim has its untrained control
    for _, row in claims.iterrows():
        names = row.control.split(";")
        passing = [int(k.split("/")[0]) for k in str(row.control_seeds_holding).split(";")]
        assert names[0] == "untrained" and len(passing) == len(names)
        if row.verdict == "holds":
            assert all(p == 0 for p in passing)  # 2 seeds: every control fails in both
    gan = claims[claims.claim.str.startswith("GAN discriminator")]
    untrained = [float(str(v).split(";")[0]) for v in gan.control_measured]
    assert untrained[0] > 1e-6 and untrained[1] < 0.99  # both GAN claims fail untrained


def test_claim_verdicts():
    def claim(values, controls=None):
        c = Claim("x", ">=", 1.0, measured=list(values), controls=controls or {})
        return c.verdict()

    assert seeds_required(3) == 3 and seeds_required(5) == 4 and seeds_required(10) == 8
    assert claim([2, 2, 2, 2, 0], {"untrained": [0, 0, 0, 0, 2]}) == "holds"  # 4 of 5 each way
    assert claim([2, 2, 2, 2, 2], {"untrained": [0, 0, 0, 2, 2]}) == "not discriminative"
    assert claim([2, 2, 2, 2, 2]) == "passes, no control"
    assert claim([2, 2, 2, 0, 0], {"untrained": [0] * 5}) == "partly"
    assert claim([0, 0], {"untrained": [0, 0]}) == "fails"
    assert claim([2, math.nan], {"untrained": [0, 0]}) == "partly"  # a diverged seed fails
    row = Claim("x", ">=", 1.0, measured=[2, 2, 2, 2, 2],
                controls={"untrained": [0] * 5, "other arm": [0] * 5}).row()
    assert row["holds"] and row["control"] == "untrained;other arm"
    assert row["control_seeds_holding"] == "0/5;0/5" and row["seeds_required"] == 4
    assert section_of(["holds", "holds"]) == "Reproduced"
    assert section_of(["holds", "fails"]) == "Partly"
    assert section_of(["passes, no control", "fails"]) == "Not yet checked against a control"
    assert section_of(["fails", "partly"]) == "Not reproduced at this scale"
    # a control that passes too is no evidence: such a reproduction is not reproduced
    assert section_of(["not discriminative", "partly"]) == "Not reproduced at this scale"
    assert section_of(["holds", "holds"], smoke=True) == "Not reproduced at this scale"


def test_claims_over_seeds(tmp_path):
    """A claim measured once over all seeds (a rank test between arms) holds when its one
    value passes and its controls fail; claims.csv and the index say it is one test."""
    from wganbench.reproduce import Reproduction, _claim_table

    ctx = Reproduction("gp-one-sided", tmp_path, quick=True, seeds=10, device="cpu")
    ctx.dir.mkdir(parents=True)
    ctx.claim("per seed", 0.5, "<", 1.0, controls={"untrained": 1.0})
    ctx.claim_over_seeds("no difference (p)", 0.4, ">=", 0.05, controls={"untrained": 0.001})
    ctx.claim_over_seeds("a difference (p)", 0.4, "<=", 0.05, controls={"untrained": 0.001})
    with pytest.raises(ValueError):
        ctx.claim_over_seeds("no difference (p)", 0.4, ">=", 0.05, controls={})
    claims = ctx.finish(1.0)
    tested = claims.set_index("claim")
    assert tested.loc["no difference (p)", "verdict"] == "holds"
    assert tested.loc["no difference (p)", "measured_over"] == "one test over 10 seeds"
    assert tested.loc["a difference (p)", "verdict"] == "fails"
    assert tested.loc["a difference (p)", "control_seeds_holding"] == "1/1"
    assert not isinstance(tested.loc["per seed", "measured_over"], str)  # NaN: per seed
    table = "\n".join(_claim_table(claims, list(claims.verdict)))
    assert "passes (one test over 10 seeds)" in table and "| 1/1 |" in table


def test_reproduction_bad_input(capsys, tmp_path):
    def code_and_err(args):
        try:
            code = main(args)
        except SystemExit as e:
            code = e.code
        return code, capsys.readouterr().err.strip()

    code, err = code_and_err(["reproduce", "figure99", "--quick"])
    assert code == 2 and len(err.splitlines()) == 1 and "'figure99'" in err and "figure1" in err
    code, err = code_and_err(["reproduce", "figure1", "--seeds", "0"])
    assert code == 2 and len(err.splitlines()) == 1 and "--seeds 0" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = code_and_err(["reproduce", "figure1", "--quick", "--out", str(blocker)])
    assert code == 2 and len(err.splitlines()) == 1 and "cannot write" in err
    out = str(tmp_path / "out")
    code, err = code_and_err(["reproduce", "figure1", "--paper-scale", "--out", out])
    assert code == 2 and len(err.splitlines()) == 1 and "--paper-scale" in err
    code, err = code_and_err(["reproduce", "mnist", "--paper-scale", "--quick", "--out", out])
    assert code == 2 and len(err.splitlines()) == 1 and "choose one" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_staged_runs_are_reused_stage_by_stage(tmp_path, monkeypatch):
    """A reproduction that reads its runs at intermediate steps (train_stages) reuses a
    finished run instead of retraining it, and each stage holds the networks of that step."""
    import torch

    from wganbench import reproduce
    from wganbench.config import TrainConfig

    cfg = TrainConfig(objective="wgan-gp", dataset="gaussian-1d", width=16, steps=6,
                      log_every=2, eval_every=6, progress=False)

    def stages():
        ctx = reproduce.Reproduction("gaussian-1d", tmp_path, quick=True, seeds=1, device="cpu")
        return [(t.step, [p.detach().clone() for p in t.generator.parameters()])
                for t in ctx.train_stages("run", cfg, [2, 4, 6])]

    first = stages()
    assert [step for step, _ in first] == [2, 4, 6]
    assert not torch.equal(first[0][1][0], first[2][1][0])  # the stages differ

    def no_training(cfg):
        raise AssertionError(f"retrained {cfg.out} to step {cfg.steps}")

    monkeypatch.setattr(reproduce, "train_or_reuse", no_training)
    again = stages()
    for (step, params), (step_again, params_again) in zip(first, again):
        assert step == step_again
        for p, q in zip(params, params_again):
            torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_a_stage_read_back_keeps_its_counters(tmp_path):
    """A stage read back from disk carries the critic updates and training wall-clock it had
    when trained (gp-convergence plots and compares FID against that wall-clock); a stage kept
    without them takes them from the run's metrics.csv, and without a logged row there the
    time reads as unknown (NaN), never as zero seconds."""
    import torch

    from wganbench import reproduce
    from wganbench.config import TrainConfig

    cfg = TrainConfig(objective="wgan-gp", dataset="gaussian-1d", width=16, steps=4,
                      log_every=2, eval_every=4, progress=False)
    ctx = reproduce.Reproduction("gaussian-1d", tmp_path, quick=True, seeds=1, device="cpu")
    trained = [(t.critic_steps, t.wall_time) for t in ctx.train_stages("run", cfg, [2, 4, 5])]
    assert [c for c, _ in trained] == [10, 20, 25] and 0 < trained[0][1] < trained[1][1]

    ctx = reproduce.Reproduction("gaussian-1d", tmp_path, quick=True, seeds=1, device="cpu")
    assert [(t.critic_steps, t.wall_time) for t in ctx.train_stages("run", cfg, [2, 4, 5])] == trained

    run = tmp_path / "gaussian-1d" / "runs" / "quick" / "run"
    for step in (2, 4, 5):  # as kept before save_stage stored the counters
        path = run / "stages" / f"step{step}.pt"
        state = torch.load(path, weights_only=True)
        del state["critic_steps"], state["wall_time"]
        torch.save(state, path)

    def read(step):
        t = reproduce.load_stage(reproduce.resolve(cfg.replace(out=str(run), device="cpu",
                                                               steps=step)))
        return t.critic_steps, t.wall_time

    assert [read(step) for step in (2, 4, 5)] == [
        (c, pytest.approx(w, abs=1e-4)) for c, w in trained]  # metrics.csv rounds to 0.1 ms
    (run / "metrics.csv").unlink()
    critic_steps, wall_time = read(4)
    assert critic_steps == -1 and math.isnan(wall_time)


def test_em_vs_quality_permutation_test():
    """The one-sided permutation p-value of em-vs-quality: small for a monotone relation, near
    1 for a reversed one, uniform-ish for noise, NaN for too few points."""
    from wganbench.reproduce import load_script

    script = load_script("em-vs-quality")
    x = np.arange(20.0)
    assert script.permutation_p(x, x, 0) == pytest.approx(1 / (1 + script.PERMUTATIONS))
    assert script.permutation_p(x, -x, 0) == pytest.approx(1.0)
    rng = np.random.default_rng(1)
    ps = [script.permutation_p(rng.normal(size=20), rng.normal(size=20), s) for s in range(40)]
    assert 0.2 < np.mean(ps) < 0.8
    assert math.isnan(script.permutation_p([1.0, 2.0], [1.0, 2.0], 0))
    stats = script.statistics([3.0, 2.0, 1.5, 1.0], [2.0, 1.0, 0.9, 0.5], 0)
    assert stats["levels"] == pytest.approx(1.0)
