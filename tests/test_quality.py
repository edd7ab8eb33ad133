"""bench-quality at a reduced budget: files, columns, seeds, the declared final step."""

import math

import pandas as pd

from wganbench.cli import main


def test_bench_quality_two_seeds_and_its_table(tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["bench-quality", "--quick", "--seeds", "2", "--objectives", "wgan-gp", "gan",
                 "--datasets", "8gaussians", "gaussian-1d", "--out", str(out)]) == 0
    runs = pd.read_csv(out / "quality_runs.csv")
    assert len(runs) == 2 * 2 * 2
    assert (runs.final_step == runs.budget_steps).all()  # the declared step, never a best one
    gp = runs[runs.objective == "wgan-gp"]
    assert ((gp.w_estimate - gp.w1_final - gp.w_bias).abs() < 1e-9).all()
    assert runs[runs.objective == "gan"].w_bias.isna().all()  # a JS estimate has no W error
    assert {"cfg_lr", "cfg_n_critic", "cfg_gp_lambda", "config_hash", "git_commit"} <= set(runs)

    summary = pd.read_csv(out / "quality.csv")
    assert len(summary) == 4 and (summary.n_seeds == 2).all()
    row = summary[(summary.objective == "wgan-gp") & (summary.dataset == "8gaussians")].iloc[0]
    values = runs[(runs.objective == "wgan-gp") & (runs.dataset == "8gaussians")].w1_final
    assert math.isclose(row.w1_final_mean, values.mean())
    assert math.isclose(row.w1_final_std, values.std(ddof=1))
    assert row.w1_final_ci_low <= row.w1_final_mean <= row.w1_final_ci_high
    assert (out / "provenance.json").exists()

    capsys.readouterr()
    assert main(["table", str(out / "quality.csv"), "--format", "latex"]) == 0
    tex = capsys.readouterr().out
    assert r"\begin{tabular}" in tex and r"w1\_final" in tex and "±" in tex


def test_bench_quality_bad_input(tmp_path, capsys):
    assert main(["bench-quality", "--seeds", "0", "--out", str(tmp_path)]) == 2
    assert main(["bench-quality", "--quick", "--datasets", "mnist9", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--seeds 0" in err[0] and "'mnist9'" in err[1]


def test_bench_quality_reads_mnist_by_fid_and_kid(tmp_path, monkeypatch):
    from image_fixtures import make_fake_mnist

    monkeypatch.setenv("WGANBENCH_CACHE", str(tmp_path / "cache"))
    root = make_fake_mnist(tmp_path / "data", n_train=600, n_test=500)
    out = tmp_path / "res"
    assert main(["bench-quality", "--quick", "--seeds", "2", "--objectives", "wgan-gp",
                 "--datasets", "mnist", "--data-root", str(root), "--out", str(out)]) == 0
    runs = pd.read_csv(out / "quality_runs.csv")
    assert len(runs) == 2 and runs.fid.gt(0).all() and runs.kid.notna().all()
    assert runs.w1_final.isna().all()  # no exact W1 on images
    summary = pd.read_csv(out / "quality.csv")
    row = summary.iloc[0]
    assert row.fid_ci_low <= row.fid_mean <= row.fid_ci_high
    assert "mnist-lenet" in row.fid_protocol and "500 generated vs 500 test" in row.fid_protocol
