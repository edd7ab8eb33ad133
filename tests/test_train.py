"""End-to-end training through the CLI: files, columns, determinism, resume, convergence."""

import csv
import json
import math
import signal
import subprocess
import sys
import time

import pytest
import torch

from wganbench.cli import main
from wganbench.runner import METRIC_COLUMNS, load_checkpoint

from conftest import ROOT

SMALL = ["--width", "64", "--log-every", "5", "--eval-every", "25", "--eval-samples", "200",
         "--no-progress"]


def read_metrics(run):
    with open(run / "metrics.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("objective", ["gan", "gan-ns", "wgan-clip", "wgan-gp", "lsgan"])
def test_train_300_steps_writes_the_four_files(tmp_path, objective):
    out = tmp_path / objective
    assert main(["train", "--objective", objective, "--dataset", "8gaussians", "--steps", "300",
                 "--seed", "0", "--out", str(out), "--no-progress"]) == 0
    for name in ("config.json", "metrics.csv", "checkpoint.pt", "samples.png", "provenance.json"):
        assert (out / name).stat().st_size > 0, name
    rows = read_metrics(out)
    assert tuple(rows[0]) == METRIC_COLUMNS
    assert [int(r["step"]) for r in rows] == list(range(0, 301, 10))
    last = rows[-1]
    for col in ("critic_loss", "gen_loss", "w_estimate", "penalty", "grad_norm", "w1"):
        assert math.isfinite(float(last[col])), col
    n_critic = 1 if objective in ("gan", "gan-ns", "lsgan") else 5
    assert int(last["critic_steps"]) == 300 * n_critic
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["objective"] == objective and cfg["steps"] == 300
    assert None not in (cfg["lr"], cfg["n_critic"], cfg["batch_size"], cfg["optimizer"])
    prov = json.loads((out / "provenance.json").read_text())
    for key in ("git_commit", "git_dirty", "wganbench_version", "torch_version", "cuda_version",
                "device_name", "seed", "config_hash", "start_time"):
        assert key in prov, key
    if objective == "wgan-gp":
        assert float(last["penalty"]) > 0
    else:
        assert float(last["penalty"]) == 0


def test_paper_defaults_are_resolved_into_the_config(tmp_path):
    expected = {
        "wgan-clip": dict(optimizer="rmsprop", lr=5e-5, clip=0.01, clip_mode="after", n_critic=5,
                          batch_size=64, betas=None, gp_lambda=None),
        "wgan-gp": dict(optimizer="adam", lr=1e-4, betas=[0.0, 0.9], gp_lambda=10.0,
                        gp_one_sided=False, n_critic=5, batch_size=64, clip=None),
        "gan": dict(loss="minimax", lipschitz="none", optimizer="adam", lr=2e-4, n_critic=1),
        "gan-ns": dict(loss="non-saturating", lipschitz="none"),
    }
    for objective, values in expected.items():
        out = tmp_path / objective
        assert main(["train", "--objective", objective, "--steps", "1", "--out", str(out),
                     *SMALL]) == 0
        cfg = json.loads((out / "config.json").read_text())
        for key, value in values.items():
            assert cfg[key] == value, (objective, key)


def test_same_seed_same_metrics(tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["train", "--objective", "wgan-gp", "--steps", "50", "--seed", "3",
                     "--out", str(out), *SMALL]) == 0
        runs.append(read_metrics(out))
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]
    assert strip(runs[0]) == strip(runs[1])
    out = tmp_path / "other-seed"
    main(["train", "--objective", "wgan-gp", "--steps", "50", "--seed", "4", "--out", str(out),
          *SMALL])
    assert strip(read_metrics(out)) != strip(runs[0])


def test_n_critic_and_the_burst_schedule_are_counted(tmp_path):
    out = tmp_path / "n3"
    main(["train", "--objective", "wgan-clip", "--n-critic", "3", "--steps", "10", "--out",
          str(out), *SMALL])
    assert [int(r["critic_steps"]) for r in read_metrics(out)] == [0, 15, 30]
    out = tmp_path / "burst"
    main(["train", "--objective", "wgan-clip", "--critic-burst", "--steps", "30", "--out",
          str(out), *SMALL])
    by_step = {int(r["step"]): int(r["critic_steps"]) for r in read_metrics(out)}
    # main.py: 100 critic steps for generator iterations 0..24, then 5
    assert by_step[5] == 500 and by_step[25] == 2500 and by_step[30] == 2525


def test_checkpoint_loads_without_pickle_code(tmp_path):
    out = tmp_path / "run"
    main(["train", "--objective", "wgan-clip", "--steps", "5", "--out", str(out), *SMALL])
    ckpt = load_checkpoint(out / "checkpoint.pt")  # weights_only=True inside
    assert ckpt["step"] == 5 and ckpt["critic_steps"] == 25
    assert set(ckpt["rng"]) >= {"data", "noise", "penalty", "torch"}
    torch.load(out / "checkpoint.pt", weights_only=True)
    # every critic parameter was clipped after the last critic step
    for name, p in ckpt["critic"].items():
        assert p.abs().max() <= 0.01, name


def _train_proc(*args):
    return subprocess.Popen([sys.executable, "-m", "wganbench", "train", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


@pytest.mark.parametrize("dataset", ["8gaussians", "25gaussians"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, dataset):
    steps = 150  # the kill lands after the first checkpoint (step 20), well before the end
    common = ["--objective", "wgan-gp", "--dataset", dataset, "--steps", str(steps), "--seed", "1",
              "--checkpoint-every", "20", "--width", "128", "--log-every", "5",
              "--eval-every", "50", "--eval-samples", "200", "--no-progress"]
    killed = tmp_path / "killed"
    proc = _train_proc(*common, "--out", str(killed))
    deadline = time.time() + 120
    while not (killed / "checkpoint.pt").exists():
        assert proc.poll() is None and time.time() < deadline, proc.stderr.read().decode()
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    step_at_kill = load_checkpoint(killed / "checkpoint.pt")["step"]
    assert 0 < step_at_kill < steps

    resumed = subprocess.run([sys.executable, "-m", "wganbench", "train", "--resume", "--out",
                              str(killed), "--no-progress"], capture_output=True, text=True, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr

    straight = tmp_path / "straight"
    assert main(["train", *common, "--out", str(straight)]) == 0

    a = load_checkpoint(killed / "checkpoint.pt")
    b = load_checkpoint(straight / "checkpoint.pt")
    assert a["step"] == b["step"] == steps
    for net in ("generator", "critic"):
        for name in b[net]:
            assert torch.equal(a[net][name], b[net][name]), (net, name)
    strip = lambda rows: [{k: v for k, v in r.items() if k != "wall_time"} for r in rows]
    assert strip(read_metrics(killed)) == strip(read_metrics(straight))
    prov = json.loads((killed / "provenance.json").read_text())
    assert prov["resumed"][0]["from_step"] == step_at_kill


def test_resume_extends_a_finished_run(tmp_path):
    out = tmp_path / "run"
    main(["train", "--objective", "gan", "--steps", "10", "--out", str(out), *SMALL])
    assert main(["train", "--resume", "--out", str(out), "--steps", "20", "--no-progress"]) == 0
    rows = read_metrics(out)
    assert [int(r["step"]) for r in rows] == [0, 5, 10, 15, 20]
    assert json.loads((out / "config.json").read_text())["steps"] == 20


def test_wgan_gp_lowers_the_exact_w1_on_8gaussians(tmp_path):
    """gan_toy.py settings (batch 256, MLP 512x3, Adam 1e-4 (0.5, 0.9), lambda 0.1): 150
    generator iterations, about 20 s on 2 CPU cores."""
    out = tmp_path / "gp"
    assert main(["train", "--objective", "wgan-gp", "--dataset", "8gaussians", "--steps", "150",
                 "--batch-size", "256", "--betas", "0.5", "0.9", "--gp-lambda", "0.1",
                 "--eval-every", "50", "--out", str(out), "--no-progress"]) == 0
    w1 = {int(r["step"]): float(r["w1"]) for r in read_metrics(out) if r["w1"]}
    assert sorted(w1) == [0, 50, 100, 150]
    assert w1[0] > 2.0  # the initial generator is far from the 8 modes
    assert max(w1[50], w1[100], w1[150]) < 0.4 * w1[0]


def test_critic_refit_diagnostic_leaves_training_unchanged(tmp_path):
    """--eval-critic-steps adds w_estimate_refit at each W1 evaluation (a critic copy trained
    further against the frozen generator) and changes nothing else."""
    common = ["train", "--objective", "wgan-clip", "--steps", "6", "--log-every", "3",
              "--eval-every", "3", "--eval-samples", "200", "--no-progress"]
    assert main(common + ["--out", str(tmp_path / "a"), "--eval-critic-steps", "30"]) == 0
    assert main(common + ["--out", str(tmp_path / "b")]) == 0
    read = lambda p: list(csv.DictReader(open(p / "metrics.csv")))  # noqa: E731
    a, b = read(tmp_path / "a"), read(tmp_path / "b")
    for ra, rb in zip(a, b):
        for key in ("critic_loss", "gen_loss", "w_estimate", "w1", "w_estimate_eval"):
            assert ra[key] == rb[key]
        assert rb["w_estimate_refit"] == ""
        # the refit critic has trained further: its estimate differs from the running one
        assert float(ra["w_estimate_refit"]) != float(ra["w_estimate_eval"])
    assert main(common + ["--out", str(tmp_path / "c"), "--eval-critic-steps", "-1"]) == 2


def test_resume_keeps_rows_of_a_run_started_before_a_column_was_added(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--steps", "4", "--log-every", "2", "--checkpoint-every", "2",
                 "--eval-samples", "200", "--no-progress", "--out", str(out)]) == 0
    path = out / "metrics.csv"
    rows = list(csv.DictReader(open(path)))
    old_columns = [c for c in METRIC_COLUMNS if c != "w_estimate_refit"]
    with open(path, "w", newline="") as f:  # the file as an older wganbench wrote it
        writer = csv.DictWriter(f, fieldnames=old_columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    assert main(["train", "--steps", "6", "--no-progress", "--out", str(out), "--resume"]) == 0
    assert [int(r["step"]) for r in csv.DictReader(open(path))] == [0, 2, 4, 6]


def test_git_dirty_means_the_code_not_the_committed_results(tmp_path, monkeypatch):
    """Regenerating results/ modifies tracked files; that must not mark the code as changed."""
    from wganbench import provenance

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "table.csv").write_text("a\n1\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    monkeypatch.setattr(provenance, "_REPO", tmp_path)
    assert provenance.git_state()["git_dirty"] is False
    (tmp_path / "results" / "table.csv").write_text("a\n2\n")
    assert provenance.git_state()["git_dirty"] is False
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.git_state()["git_dirty"] is True


def test_sample_images_can_be_switched_off_for_intermediate_stages(tmp_path):
    """Staged runs (bench-quality, reproductions) draw samples.png at their last stage only:
    inside ``sample_images(False)`` a run writes no image, and the same run continued with
    images on writes it."""
    from wganbench.runner import sample_images

    out = tmp_path / "run"
    with sample_images(False):
        main(["train", "--objective", "gan", "--steps", "10", "--out", str(out), *SMALL])
    assert (out / "checkpoint.pt").exists() and not (out / "samples.png").exists()
    assert main(["train", "--resume", "--out", str(out), "--steps", "20", "--no-progress"]) == 0
    assert (out / "samples.png").exists()
