"""The MNIST reproductions at a tiny scale on a fake MNIST (the code paths of ``--quick``), and
the real ``--quick`` runs on the real MNIST when it is there (slow; kept out of CI)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from image_fixtures import make_fake_mnist
from wganbench.reproduce import Reproduction, load_script

REAL_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WGANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("WGANBENCH_INCEPTION_WEIGHTS", raising=False)


def _run_tiny(name: str, tmp_path: Path, shrink) -> Path:
    root = make_fake_mnist(tmp_path / "data")
    script = load_script(name)
    shrink(script)
    ctx = Reproduction(name, tmp_path / "out", quick=True, seeds=1, device="cpu",
                       data_root=str(root))
    script.run(ctx)
    ctx.finish(0.0)
    return ctx.dir


def test_mnist_study_writes_every_output(tmp_path):
    def shrink(script):
        script.QUICK = script.Settings(epochs={"GAN": 2, "WGAN-GP": 2}, data_limit=256,
                                       n_fid=200, inception=False, width=8, precision="float32",
                                       stop_at_threshold=False)
        script.BATCH = 64

    d = _run_tiny("mnist", tmp_path, shrink)
    table = pd.read_csv(d / "mnist.csv")
    assert set(table.model) == {"GAN", "WGAN-GP"} and list(table.epoch.unique()) == [0, 1, 2]
    trained = table[table.epoch > 0]
    assert trained[["gen_loss_mean", "critic_loss_mean", "fid", "kid"]].notna().all().all()
    assert (table.fid_threshold > 0).all()
    # compute per epoch: critic updates (5 per generator step for WGAN-GP) and wall-clock
    wgan = trained[trained.model == "WGAN-GP"].sort_values("epoch")
    gan = trained[trained.model == "GAN"].sort_values("epoch")
    assert list(wgan.critic_updates) == [5 * s for s in wgan.step]
    assert list(gan.critic_updates) == list(gan.step)
    assert (trained.wall_time > 0).all() and wgan.wall_time.is_monotonic_increasing
    claims = pd.read_csv(d / "claims.csv", keep_default_na=False)
    assert len(claims) == 3 and (claims.control == "untrained").all()
    # the untrained generators (epoch 0) are far from digits: the controls fail every claim
    untrained = table[table.epoch == 0]
    assert (untrained.fid > untrained.fid_threshold).all()
    assert all(k == "0/1" for k in claims.control_seeds_holding)
    for f in ("mnist.png", "mnist.pdf", "samples_gan_seed0.gif", "samples_wgan-gp_seed0.gif",
              "grids/wgan-gp_seed0_epoch02.png"):
        assert (d / f).exists(), f
    from PIL import Image

    with Image.open(d / "samples_gan_seed0.gif") as gif:
        assert gif.n_frames == 3  # the untrained generator, then each epoch


def test_critic_overfitting_writes_both_panels_and_the_held_out_control(tmp_path):
    def shrink(script):
        script.QUICK = script.Settings(steps=4, every=2, width=8, precision="float32")
        script.SUBSET = 100

    d = _run_tiny("critic-overfitting", tmp_path, shrink)
    table = pd.read_csv(d / "critic-overfitting.csv")
    assert set(table.method) == {"WGAN-GP", "WGAN-clip"} and sorted(table.step.unique()) == [2, 4]
    cols = ["neg_loss_train", "neg_loss_heldout", "neg_loss_val", "z_fit", "gap_heldout"]
    assert table[cols].notna().all().all()
    claims = pd.read_csv(d / "claims.csv")
    overfit = claims[claims.claim.str.contains("overfits")]
    assert len(overfit) == 2  # one per arm
    assert all(c.split(";")[0] == "untrained" for c in overfit.control)
    onset = pd.read_csv(d / "onset.csv")
    assert set(onset.method) == {"WGAN-GP", "WGAN-clip"}
    assert (d / "critic-overfitting.png").exists()


def test_wgan_curves_writes_every_setup_and_its_controls(tmp_path):
    def shrink(script):
        script.QUICK = script.Settings(steps=4, every=2, width=8, precision="float32", n_fid=120)
        script.SETUPS["MLP G"]["gen_width"] = 16
        script.SETUPS["MLP G, MLP D"]["width"] = 16
        script.WGAN = dict(objective="wgan-clip")  # no 100-step bursts (tested in test_train)

    d = _run_tiny("wgan-curves", tmp_path, shrink)
    table = pd.read_csv(d / "wgan-curves.csv")
    assert table.groupby(["setup", "kind"]).size().to_dict() == {
        (setup, kind): 3 for setup in ("DCGAN", "MLP G", "MLP G, MLP D") for kind in ("WGAN", "GAN")}
    assert table[["fid", "estimate", "estimate_untrained"]].notna().all().all()
    step0 = table[table.step == 0]
    assert (step0.estimate == step0.estimate_untrained).all()  # the untrained critic itself
    claims = pd.read_csv(d / "claims.csv")
    assert len(claims) == 3 * 2 + 2
    assert claims.control.str.len().gt(0).all()
    learning = claims[claims.claim.str.contains("levels follow")]
    assert all(c.split(";")[0] == "untrained" for c in learning.control)
    assert (d / "wgan-curves.png").exists() and (d / "training_estimate.csv").exists()


def test_gp_convergence_writes_every_arm_against_iterations_and_time(tmp_path):
    def shrink(script):
        script.QUICK = script.Settings(steps=4, every=2, width=8, precision="float32", n_fid=120)

    d = _run_tiny("gp-convergence", tmp_path, shrink)
    table = pd.read_csv(d / "gp-convergence.csv")
    assert table.groupby("arm").step.apply(list).to_dict() == {arm: [0, 2, 4] for arm in (
        "Weight clipping", "Gradient penalty (RMSprop)", "Gradient penalty (Adam)", "DCGAN")}
    assert table[["fid", "score", "wall_time"]].notna().all().all()
    assert (table[table.step == 0].wall_time == 0).all() and (table[table.step > 0].wall_time > 0).all()
    claims = pd.read_csv(d / "claims.csv")
    assert len(claims) == 4 and claims.control.str.contains("null").all()
    assert (d / "gp-convergence.png").exists()


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_MNIST / "MNIST").is_dir(), reason="real MNIST not at ../shared/data")
def test_mnist_quick_on_real_mnist_under_ten_minutes(tmp_path, run_cli):
    start = time.time()
    r = run_cli("reproduce", "mnist", "--quick", "--out", str(tmp_path), "--data-root",
                str(REAL_MNIST))
    assert r.returncode == 0, r.stderr
    assert time.time() - start < 600
    for f in ("mnist.png", "mnist.csv", "claims.csv", "samples_wgan-gp_seed0.gif"):
        assert (tmp_path / "mnist" / f).exists()
