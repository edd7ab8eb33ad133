"""bench-quality at a reduced budget: files, columns, seeds, the declared final step."""

import datetime
import json
import math

import pandas as pd

from wganbench.cli import main


def test_bench_quality_over_training_two_seeds_and_its_tables(tmp_path, capsys):
    from wganbench.quality import checkpoints

    out = tmp_path / "res"
    assert main(["bench-quality", "--quick", "--seeds", "2", "--objectives", "wgan-gp", "gan",
                 "--datasets", "8gaussians", "gaussian-1d", "--out", str(out)]) == 0
    runs = pd.read_csv(out / "quality_runs.csv")
    steps = checkpoints(40)
    assert steps[0] == 0 and steps[-1] == 40 and steps == sorted(set(steps)) and len(steps) >= 8
    assert len(runs) == 2 * 2 * 2 * len(steps)
    assert sorted(runs.step.unique()) == steps  # declared checkpoints, never a best one
    # each checkpoint reads the run's own evaluation: step 0 and the final step equal the
    # rows the runner wrote into metrics.csv (the untrained and the final generator)
    run = runs[(runs.row == "wgan-gp") & (runs.dataset == "8gaussians") & (runs.seed == 1)]
    metrics = pd.read_csv(out / "quality" / "quick" / "wgan-gp_8gaussians_seed1" / "metrics.csv")
    assert math.isclose(run[run.step == 0].w1.iloc[0], metrics.w1.iloc[0])
    assert math.isclose(run[run.step == 40].w1.iloc[0], metrics.w1.iloc[-1])
    gp = runs[runs.objective == "wgan-gp"]
    assert ((gp.w_estimate - gp.w1 - gp.w_bias).abs() < 1e-9).all()
    assert runs[runs.objective == "gan"].w_bias.isna().all()  # a JS estimate has no W error
    assert runs[runs.dataset == "8gaussians"].modes_covered.between(0, 8).all()
    assert runs[runs.dataset == "gaussian-1d"].modes_covered.isna().all()
    # the ensemble's time is one measurement: shared per run, never an interval over seeds
    final = runs[runs.step == 40]
    assert (final.wall_time_per_run * 2 - final.ensemble_wall_time).abs().max() < 1e-9
    assert {"cfg_lr", "cfg_n_critic", "cfg_gp_lambda", "config_hash", "git_commit"} <= set(runs)

    summary = pd.read_csv(out / "quality.csv")
    assert len(summary) == 2 * 2 * len(steps) and (summary.n_seeds == 2).all()
    assert "wall_time_ci_low" not in summary
    row = summary[(summary.row == "wgan-gp") & (summary.dataset == "8gaussians")
                  & (summary.step == 40)].iloc[0]
    values = final[(final.row == "wgan-gp") & (final.dataset == "8gaussians")].w1
    assert math.isclose(row.w1_mean, values.mean())
    assert math.isclose(row.w1_std, values.std(ddof=1))
    assert row.w1_ci_low <= row.w1_mean <= row.w1_ci_high
    times = pd.read_csv(out / "quality_time.csv")
    assert len(times) == 4 and (times.w1_threshold > 0).all() and (times.seeds_run == 2).all()
    assert (times.seeds_reaching <= 2).all()
    for name in ("provenance.json", "quality.png", "quality.pdf"):
        assert (out / name).stat().st_size > 0, name
    prov = json.loads((out / "provenance.json").read_text())
    started = datetime.datetime.fromisoformat(prov["start_time"])  # when the command began:
    first_run = min(p.stat().st_mtime for p in (out / "quality").rglob("config.json"))
    assert prov["runtime_s"] > 0 and started.timestamp() <= first_run  # not when it wrote

    capsys.readouterr()
    assert main(["table", str(out / "quality.csv"), "--format", "latex", "--where", "step=40"]) == 0
    tex = capsys.readouterr().out
    assert r"\begin{tabular}" in tex and r"w1" in tex and "±" in tex


def test_bench_quality_bad_input(tmp_path, capsys):
    assert main(["bench-quality", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert main(["bench-quality", "--quick", "--datasets", "mnist9", "--out", str(tmp_path)]) == 2
    assert main(["bench-quality", "--quick", "--objectives", "wgan-xx", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "--seeds 0" in err[0] and "'mnist9'" in err[1]
    assert "'wgan-xx'" in err[2] and "wgan-gp-toy-recipe" in err[2]


def test_bench_quality_reads_mnist_by_fid_and_kid(tmp_path, monkeypatch):
    from image_fixtures import make_fake_mnist

    monkeypatch.setenv("WGANBENCH_CACHE", str(tmp_path / "cache"))
    root = make_fake_mnist(tmp_path / "data", n_train=600, n_test=500)
    out = tmp_path / "res"
    assert main(["bench-quality", "--quick", "--seeds", "2", "--objectives", "wgan-gp",
                 "--datasets", "mnist", "--data-root", str(root), "--out", str(out)]) == 0
    runs = pd.read_csv(out / "quality_runs.csv")
    assert len(runs) == 2 and runs.fid.gt(0).all() and runs.kid.notna().all()
    assert (runs.step == 40).all()  # images: the final checkpoint only
    assert runs.w1.isna().all()  # no exact W1 on images
    summary = pd.read_csv(out / "quality.csv")
    row = summary.iloc[0]
    assert row.fid_ci_low <= row.fid_mean <= row.fid_ci_high
    assert "mnist-lenet" in row.fid_protocol and "500 generated vs 500 test" in row.fid_protocol


def test_evaluation_reads_the_runs_own_final_evaluation(tmp_path):
    """bench-quality reads the exact W1 a run computed at its last step instead of solving the
    transport problem again; the values are those a fresh evaluation gives (same seeded
    samples), for ensemble members as for single runs."""
    from wganbench.config import TrainConfig, resolve
    from wganbench.ensemble import train_or_reuse_seeds
    from wganbench.quality import _logged_evaluation, evaluate

    configs = [resolve(TrainConfig(objective="wgan-gp", dataset="8gaussians", steps=6, seed=s,
                                   width=16, eval_samples=200, eval_every=6, log_every=3,
                                   progress=False, device="cpu", out=str(tmp_path / f"s{s}")))
               for s in range(2)]
    for trainer in train_or_reuse_seeds(configs):
        assert _logged_evaluation(trainer) is not None
        logged = evaluate(trainer, "8gaussians")
        trainer._last_eval = None  # as a reloaded run: evaluated afresh
        assert _logged_evaluation(trainer) is None
        fresh = evaluate(trainer, "8gaussians")
        assert logged == fresh
        assert not math.isnan(logged["w1"]) and not math.isnan(logged["modes_covered"])
