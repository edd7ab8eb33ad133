"""Hostile and unlucky input (issue 14): divergence is a failure, nothing the user has is
overwritten, one writer per folder, every failure recoverable, data loading runs no code, sweeps
never mix configurations, and every error is one line.

Most cases call ``wganbench.cli.main`` in this process (fast); those about processes (locks,
kills, resource limits) run the CLI in a subprocess, as a user would.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import ROOT, run_cli
from wganbench.cli import main
from wganbench.errors import EXIT_DIVERGED, EXIT_RESOURCE, EXIT_USAGE
from wganbench.runner import load_checkpoint

TINY = ["--width", "16", "--no-progress", "--eval-samples", "50"]


def run_main(args, capsys):
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    captured = capsys.readouterr()
    return code, captured.err


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def train_ok(out: Path, *extra) -> None:
    assert main(["train", "--steps", "4", "--checkpoint-every", "2", "--log-every", "2",
                 "--eval-every", "2", "--out", str(out), *TINY, *map(str, extra)]) == 0


def finite_state(path: Path) -> bool:
    state = load_checkpoint(path)
    return all(bool(torch.isfinite(v).all()) for k in ("generator", "critic")
               for v in state[k].values() if v.is_floating_point())


# ---- divergence is a result, not a success ---------------------------------------------------

NON_FINITE = [
    (["--lr", "inf"], "--lr inf"), (["--lr", "1e400"], "--lr inf"), (["--lr", "-inf"], "--lr -inf"),
    (["--lr", "nan"], "--lr nan"), (["--gp-lambda", "inf"], "--gp-lambda inf"),
    (["--latent", "uniform:0:inf"], "--latent 'uniform:0:inf'"),
    (["--fixed-fake", "normal:nan:1"], "--fixed-fake 'normal:nan:1'"),
    (["--fixed-fake", "normal:0:inf"], "--fixed-fake 'normal:0:inf'"),
    (["--fixed-fake", "shift:nan,0"], "--fixed-fake 'shift:nan,0'"),
    (["--fixed-fake", "shift:1,2,3"], "--fixed-fake 'shift:1,2,3'"),
    (["--objective", "wgan-clip", "--clip", "inf"], "--clip inf"),
    (["--objective", "gan-ns", "--betas", "0.5", "nan"], "--betas"),
]


@pytest.mark.parametrize("args,fragment", NON_FINITE, ids=[" ".join(a) for a, _ in NON_FINITE])
def test_non_finite_settings_are_refused_before_anything_is_written(tmp_path, capsys, args, fragment):
    code, err = run_main(["train", "--out", tmp_path / "r", "--steps", "2", *TINY, *args], capsys)
    assert code == EXIT_USAGE
    assert fragment in one_line(err)
    assert not (tmp_path / "r").exists()


def test_a_real_divergence_exits_3_and_writes_no_checkpoint_from_it(tmp_path, capsys):
    """lr 1e15: NaN within the first iteration. The run says so, in one line; metrics.csv ends
    with a row whose note says what diverged; no checkpoint holds the non-finite state."""
    out = tmp_path / "r"
    code, err = run_main(["train", "--objective", "wgan-gp", "--lr", "1e15", "--steps", "40",
                          "--checkpoint-every", "1", "--log-every", "1", "--out", out, *TINY],
                         capsys)
    assert code == EXIT_DIVERGED
    line = one_line(err)
    assert "diverged" in line and "no checkpoint was written" in line
    last = pd.read_csv(out / "metrics.csv").iloc[-1]
    assert last["step"] == 1 and str(last["note"]).startswith("diverged: critic_loss")
    assert math.isnan(last["critic_loss_mean"])  # written as 'nan', never as a number
    assert not (out / "checkpoint.pt").exists()


def test_divergence_keeps_the_last_finite_checkpoint_and_records_the_step(tmp_path, capsys,
                                                                          monkeypatch):
    """NaN put into the critic during iteration 5 (checkpoints every 2): the run stops at the
    next check (step 5), checkpoint.pt stays the finite one of step 4, resuming from it works."""
    from wganbench import runner

    original = runner.Trainer.train_iteration

    def poisoned(self):
        out = original(self)
        if self.step == 5:
            with torch.no_grad():
                next(self.critic.parameters()).fill_(math.nan)
        return out

    monkeypatch.setattr(runner.Trainer, "train_iteration", poisoned)
    out = tmp_path / "r"
    code, err = run_main(["train", "--steps", "10", "--checkpoint-every", "2", "--log-every", "1",
                          "--out", out, *TINY], capsys)
    assert code == EXIT_DIVERGED
    line = one_line(err)
    assert "critic parameter nan" in line and "in step 5" in line
    assert "checkpoint.pt keeps step 4, the last finite state" in line
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4 and finite_state(out / "checkpoint.pt")
    metrics = pd.read_csv(out / "metrics.csv")
    assert metrics["step"].tolist() == [0, 1, 2, 3, 4, 5]
    assert metrics.iloc[:-1]["note"].isna().all() and metrics.iloc[-1]["note"].startswith("diverged")
    assert not list(out.glob(".*.tmp"))
    monkeypatch.undo()
    assert main(["train", "--resume", "--out", str(out)]) == 0  # from step 4, finite again
    assert pd.read_csv(out / "metrics.csv")["step"].tolist() == list(range(11))


def test_runaway_finite_losses_count_as_divergence(tmp_path, capsys):
    code, err = run_main(["train", "--objective", "gan", "--lr", "1e3", "--steps", "200",
                          "--out", tmp_path / "r", *TINY], capsys)
    assert code == EXIT_DIVERGED and "diverged" in one_line(err)


def test_exact_w1_of_non_finite_samples_is_nan_never_zero():
    from wganbench.metrics.ot import exact_w1

    real = torch.randn(20, 2)
    assert math.isnan(exact_w1(torch.full((20, 2), math.nan), real))
    assert math.isnan(exact_w1(real * math.inf, real))
    assert math.isnan(exact_w1(torch.full((20, 1), math.nan), real[:, :1]))


def test_fid_of_a_nan_generator_is_nan_with_a_note(tmp_path, monkeypatch):
    from wganbench.metrics.fidelity import MetricOptions, compute_metrics

    monkeypatch.setenv("WGANBENCH_CACHE", str(tmp_path / "cache"))

    class NanGenerator(torch.nn.Module):
        def forward(self, z):
            return torch.full((len(z), 1, 28, 28), math.nan)

    real = torch.randint(0, 256, (20, 1, 28, 28), dtype=torch.uint8)
    row = compute_metrics(NanGenerator(), dataset="mnist", latent_dim=8, value_range=(0.0, 1.0),
                          opts=MetricOptions(metrics=("fid",), n_fake=20, n_real=20,
                                             extractor="mnist-lenet"), real=real)
    assert math.isnan(row["fid"]) and "non-finite" in row["note"]


def test_a_diverged_seed_stops_alone_and_the_others_train_unaffected(tmp_path, monkeypatch):
    """NaN put into seed 1's stacked critic at iteration 3: seed 1 ends as a diverged run
    (no checkpoint past its last finite one), seed 0 ends as its separate run does."""
    from wganbench.config import TrainConfig
    from wganbench.ensemble import Ensemble, train_configs
    from wganbench.runner import train

    kw = dict(objective="wgan-gp", dataset="8gaussians", steps=6, width=16, log_every=2,
              eval_every=2, eval_samples=50, checkpoint_every=2, progress=False)
    original = Ensemble.train_iteration

    def poisoned(self):
        out = original(self)
        if self.step == 3:
            with torch.no_grad():
                self.critic.weights[0][1].fill_(math.nan)
        return out

    monkeypatch.setattr(Ensemble, "train_iteration", poisoned)
    results = train_configs([TrainConfig(seed=s, out=str(tmp_path / f"e{s}"), **kw)
                             for s in (0, 1)])
    assert results[0].diverged is None and results[1].diverged is not None
    assert results[1].diverged.step == 4 and load_checkpoint(tmp_path / "e1" / "checkpoint.pt")["step"] == 2
    assert str(pd.read_csv(tmp_path / "e1" / "metrics.csv").iloc[-1]["note"]).startswith("diverged")
    monkeypatch.setattr(Ensemble, "train_iteration", original)
    alone = train(TrainConfig(seed=0, out=str(tmp_path / "alone"), **kw))
    ours = pd.read_csv(tmp_path / "e0" / "metrics.csv")
    theirs = pd.read_csv(tmp_path / "alone" / "metrics.csv")
    assert len(ours) == len(theirs) and alone.step == 6
    assert ours["w1"].to_numpy() == pytest.approx(theirs["w1"].to_numpy(), rel=1e-4)


def test_train_seeds_reports_diverged_seeds_and_exits_3(tmp_path, capsys):
    code, err = run_main(["train", "--objective", "wgan-gp", "--lr", "1e15", "--seeds", "0-1",
                          "--steps", "10", "--out", tmp_path / "s{seed}", *TINY], capsys)
    assert code == EXIT_DIVERGED
    assert "2 of 2 seeds diverged" in err and "Traceback" not in err


# ---- never overwrite what the user has -------------------------------------------------------

def test_train_refuses_a_folder_of_the_users_own_files(tmp_path, capsys):
    out = tmp_path / "proj"
    out.mkdir()
    (out / "config.json").write_text('{"mine": true}')
    (out / "samples.png").write_bytes(b"my picture")
    code, err = run_main(["train", "--steps", "2", "--out", out, *TINY], capsys)
    assert code == EXIT_USAGE and "not a wganbench run" in one_line(err)
    assert (out / "config.json").read_text() == '{"mine": true}'
    assert (out / "samples.png").read_bytes() == b"my picture"


def test_a_run_whose_metrics_are_gone_is_not_overwritten(tmp_path, capsys):
    out = tmp_path / "r"
    train_ok(out)
    (out / "metrics.csv").unlink()
    before = (out / "checkpoint.pt").read_bytes()
    code, err = run_main(["train", "--steps", "4", "--out", out, *TINY], capsys)
    assert code == EXIT_USAGE and "already holds a run" in one_line(err)
    assert (out / "checkpoint.pt").read_bytes() == before


def test_resume_after_metrics_were_deleted_says_so(tmp_path, capsys):
    out = tmp_path / "r"
    train_ok(out)
    capsys.readouterr()
    (out / "metrics.csv").unlink()
    code, err = run_main(["train", "--resume", "--steps", "6", "--out", out], capsys)
    assert code == 0 and "metrics.csv" in err and "lost" in err
    assert pd.read_csv(out / "metrics.csv")["step"].tolist() == [6]


def test_reproduce_leaves_a_foreign_readme_and_folder_alone(tmp_path, capsys):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "README.md").write_text("# my project\n")
    code, err = run_main(["reproduce", "figure1", "--quick", "--out", proj], capsys)
    assert code == EXIT_USAGE and "README.md" in one_line(err)
    assert (proj / "README.md").read_text() == "# my project\n"
    assert not (proj / "figure1").exists()  # refused before any work
    other = tmp_path / "other"
    (other / "figure1").mkdir(parents=True)
    (other / "figure1" / "notes.txt").write_text("mine")
    code, err = run_main(["reproduce", "figure1", "--quick", "--out", other], capsys)
    assert code == EXIT_USAGE and "not a figure1 reproduction" in one_line(err)
    assert sorted(p.name for p in (other / "figure1").iterdir()) == ["notes.txt"]


def test_bench_refuses_a_foreign_throughput_csv_before_measuring(tmp_path, capsys):
    (tmp_path / "throughput.csv").write_text("name,score\nmine,1\n")
    start = time.perf_counter()
    code, err = run_main(["bench", "--quick", "--out", tmp_path], capsys)
    assert code == EXIT_USAGE and "not a wganbench throughput table" in one_line(err)
    assert time.perf_counter() - start < 5  # no minutes of measuring first
    assert (tmp_path / "throughput.csv").read_text() == "name,score\nmine,1\n"


def test_bench_quality_refuses_foreign_outputs(tmp_path, capsys):
    (tmp_path / "provenance.json").write_text('{"paper": "mine"}')
    code, err = run_main(["bench-quality", "--quick", "--out", tmp_path], capsys)
    assert code == EXIT_USAGE and "provenance.json" in one_line(err)
    assert (tmp_path / "provenance.json").read_text() == '{"paper": "mine"}'


# ---- safe data loading -----------------------------------------------------------------------

class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_cifar_pickle_runs_nothing(tmp_path, capsys):
    from image_fixtures import make_fake_cifar10

    root = make_fake_cifar10(tmp_path / "data")
    marker = tmp_path / "PWNED"
    with open(root / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump({"data": _Payload(marker), "labels": []}, f)
    code, err = run_main(["train", "--dataset", "cifar10", "--data-root", root, "--steps", "1",
                          "--out", tmp_path / "r", *TINY], capsys)
    assert code == EXIT_USAGE and "data_batch_3" in one_line(err) and "refused" in err
    assert not marker.exists()


def test_real_cifar_layout_bytes_keys_and_protocol_2_still_load(tmp_path):
    import numpy as np

    from wganbench.data.safe_pickle import load_batch

    path = tmp_path / "batch"
    data = np.arange(2 * 3072, dtype=np.uint8).reshape(2, 3072)
    with open(path, "wb") as f:  # as CIFAR's python 2 pickles come out in Python 3
        pickle.dump({b"batch_label": b"x", b"labels": [1, 2], b"data": data}, f, protocol=2)
    entry = load_batch(path)
    assert (entry["data"] == data).all() and entry["labels"] == [1, 2]


def test_unreadable_file_in_an_image_folder_is_named(tmp_path, capsys):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (70, 70), (40 * i, 10, 200)).save(folder / f"{i}.png")
    (folder / "2.png").write_text("not an image")
    code, err = run_main(["train", "--dataset", "image-folder", "--data-root", folder,
                          "--batch-size", "4", "--steps", "1", "--out", tmp_path / "r",
                          "--width", "8", "--no-progress", "--eval-samples", "4"], capsys)
    assert code == EXIT_USAGE and "2.png" in one_line(err)


def test_damaged_mnist_files_are_one_line(tmp_path, capsys):
    from image_fixtures import make_fake_mnist

    root = make_fake_mnist(tmp_path / "data")
    images = next((root / "MNIST" / "raw").glob("train-images*"))
    images.write_bytes(images.read_bytes()[:1000])
    code, err = run_main(["train", "--dataset", "mnist", "--data-root", root, "--steps", "1",
                          "--out", tmp_path / "r", *TINY], capsys)
    assert code == EXIT_USAGE and "damaged" in one_line(err)


# ---- one writer per folder -------------------------------------------------------------------

def test_two_concurrent_trains_on_one_folder_leave_one_intact_run(tmp_path):
    out = tmp_path / "r"
    args = [sys.executable, "-m", "wganbench", "train", "--steps", "30", "--out", str(out),
            *TINY]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen(args, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes == [0, EXIT_USAGE], results
    err = next(e for c, e in results if c == EXIT_USAGE)
    line = one_line(err)
    assert "in use by another wganbench process" in line or "already holds a run" in line
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 30
    assert pd.read_csv(out / "metrics.csv")["step"].iloc[-1] == 30
    assert main(["train", "--resume", "--steps", "32", "--out", str(out)]) == 0


def test_a_held_lock_refuses_and_a_dead_holders_lock_is_taken_over(tmp_path, capsys):
    out = tmp_path / "r"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; sys.path.insert(0, sys.argv[1]);"
         "from wganbench.locking import lock_folder\n"
         "with lock_folder(sys.argv[2]):\n print('held', flush=True); time.sleep(600)",
         str(ROOT), str(out)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, err = run_main(["train", "--steps", "2", "--out", out, *TINY], capsys)
        assert code == EXIT_USAGE and "in use by another wganbench process" in one_line(err)
        assert f"pid {holder.pid}" in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    code, err = run_main(["train", "--steps", "2", "--out", out, *TINY], capsys)
    assert code == 0, err


def test_concurrent_bench_merges_keep_both_tables_rows(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-m", "wganbench", "bench", "--quick",
                               "--objectives", obj, "--phases", "critic_step", "--out",
                               str(tmp_path)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for obj in ("gan", "wgan-clip")]
    assert [p.wait(timeout=600) for p in procs] == [0, 0], [p.stderr.read() for p in procs]
    table = pd.read_csv(tmp_path / "throughput.csv")
    assert sorted(table.objective.unique()) == ["gan", "wgan-clip"]


# ---- recoverable from any failure ------------------------------------------------------------

def test_a_run_killed_before_its_first_checkpoint_starts_again(tmp_path):
    out = tmp_path / "r"
    proc = subprocess.Popen([sys.executable, "-m", "wganbench", "train", "--steps", "100000",
                             "--checkpoint-every", "100000", "--log-every", "1", "--out",
                             str(out), *TINY], env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        if (out / "metrics.csv").exists() and len((out / "metrics.csv").read_text().splitlines()) > 3:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "checkpoint.pt").exists()
    (out / ".checkpoint.pt.abc123.tmp").write_bytes(b"half a checkpoint")
    r = run_cli("train", "--steps", "3", "--out", str(out), *TINY)
    assert r.returncode == 0 and "starting it again" in r.stderr
    assert not (out / ".checkpoint.pt.abc123.tmp").exists()
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 3


def test_resume_of_a_run_without_checkpoint_is_a_fresh_start(tmp_path, capsys):
    out = tmp_path / "r"
    train_ok(out)
    (out / "checkpoint.pt").unlink()
    code, err = run_main(["train", "--resume", "--out", out], capsys)
    assert code == 0 and "starting it from the beginning" in err
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 4


def test_interrupted_checkpoint_temp_files_are_removed_on_resume(tmp_path):
    out = tmp_path / "r"
    train_ok(out)
    (out / ".checkpoint.pt.x1y2.tmp").write_bytes(b"partial")
    assert main(["train", "--resume", "--steps", "6", "--out", str(out)]) == 0
    assert not list(out.glob(".*.tmp"))


def test_a_resumed_run_cannot_go_back_in_steps(tmp_path, capsys):
    out = tmp_path / "r"
    train_ok(out)
    before = (out / "config.json").read_text()
    code, err = run_main(["train", "--resume", "--steps", "2", "--out", out], capsys)
    assert code == EXIT_USAGE and "--steps 2" in one_line(err) and "step 4" in err
    assert (out / "config.json").read_text() == before


def test_a_full_disk_or_file_size_limit_loses_nothing(tmp_path):
    """A file-size limit below the checkpoint's size: the write fails, the previous checkpoint
    and the metrics stay as they were, no temp file is left, exit 4 with one line."""
    out = tmp_path / "r"
    train_ok(out, "--width", "256")
    before = (out / "checkpoint.pt").read_bytes()
    limit = len(before) // 2

    def cap():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    r = subprocess.run([sys.executable, "-m", "wganbench", "train", "--resume", "--steps", "6",
                        "--out", str(out)], preexec_fn=cap, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)
    assert r.returncode == EXIT_RESOURCE, r.stderr
    assert "file-size limit" in one_line(r.stderr) and "nothing was lost" in r.stderr
    assert (out / "checkpoint.pt").read_bytes() == before
    assert not list(out.glob(".*.tmp"))
    assert main(["train", "--resume", "--steps", "6", "--out", str(out)]) == 0


def test_out_of_memory_is_one_line_exit_4(tmp_path, capsys, monkeypatch):
    from wganbench import runner

    def oom(self):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't "
                           "allocate memory: you tried to allocate 1 bytes.\nmore text")

    monkeypatch.setattr(runner.Trainer, "train_iteration", oom)
    code, err = run_main(["train", "--steps", "2", "--out", tmp_path / "r", *TINY], capsys)
    assert code == EXIT_RESOURCE and "out of memory" in one_line(err)
    # the folder holds no checkpoint: the same command starts it again
    monkeypatch.undo()
    code, err = run_main(["train", "--steps", "2", "--out", tmp_path / "r", *TINY], capsys)
    assert code == 0, err


# ---- sweeps ----------------------------------------------------------------------------------

def _sweep_file(path: Path, lr: str, extra: str = "") -> Path:
    path.write_text(f'[sweep]\nout = "{path.parent / "sw"}"\n{extra}\n[grid]\nseed = [0, 1]\n'
                    f'[fixed]\nsteps = 2\nwidth = 16\neval_samples = 50\nlr = {lr}\n')
    return path


def test_a_sweep_with_a_changed_fixed_value_neither_skips_nor_silently_retrains(tmp_path, capsys):
    toml = _sweep_file(tmp_path / "s.toml", "1e-4")
    assert main(["sweep", str(toml)]) == 0
    capsys.readouterr()
    _sweep_file(toml, "1e-3")
    code, err = run_main(["sweep", toml], capsys)
    assert code == EXIT_USAGE and "lr 0.0001 -> 0.001" in one_line(err) and "--retrain" in err
    run = tmp_path / "sw" / "runs" / "seed=0"
    assert json.loads((run / "config.json").read_text())["lr"] == 1e-4  # untouched
    assert main(["sweep", str(toml), "--retrain"]) == 0
    assert json.loads((run / "config.json").read_text())["lr"] == 1e-3
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert (table.cfg_lr == 1e-3).all() and (table.status == "finished").all()


@pytest.mark.parametrize("extra,fragment", [('workers = "abc"', "--workers 'abc'"),
                                            ("workers = 0", "--workers 0")])
def test_bad_sweep_settings_are_one_line(tmp_path, capsys, extra, fragment):
    code, err = run_main(["sweep", _sweep_file(tmp_path / "s.toml", "1e-4", extra)], capsys)
    assert code == EXIT_USAGE and fragment in one_line(err)


def test_sweep_out_that_is_not_a_string(tmp_path, capsys):
    toml = tmp_path / "s.toml"
    toml.write_text("[sweep]\nout = 5\n[grid]\nseed = [0]\n")
    code, err = run_main(["sweep", toml], capsys)
    assert code == EXIT_USAGE and "out = 5" in one_line(err)


# ---- one line, not a traceback ---------------------------------------------------------------

def _damage(out: Path, how: str) -> None:
    ckpt = out / "checkpoint.pt"
    if how == "truncated":
        ckpt.write_bytes(ckpt.read_bytes()[:500])
    elif how == "random":
        ckpt.write_bytes(os.urandom(4000))
    elif how == "empty":
        ckpt.write_bytes(b"")
    elif how == "wrong-shapes":
        other = out.parent / "other"
        train_ok(other, "--width", "24")
        ckpt.write_bytes((other / "checkpoint.pt").read_bytes())
    elif how == "metrics":
        (out / "metrics.csv").write_text("step,critic_steps\nabc,1\n")
    elif how == "config-list":
        (out / "config.json").write_text("[1, 2]")
    elif how == "config-type":
        cfg = json.loads((out / "config.json").read_text())
        (out / "config.json").write_text(json.dumps({**cfg, "width": "wide"}))
    elif how == "provenance":
        (out / "provenance.json").write_text("{not json")


DAMAGE = ["truncated", "random", "empty", "wrong-shapes", "metrics", "config-list",
          "config-type", "provenance"]


@pytest.mark.parametrize("how", DAMAGE)
def test_resume_of_a_damaged_run_is_one_line(tmp_path, capsys, how):
    out = tmp_path / "r"
    train_ok(out)
    _damage(out, how)
    code, err = run_main(["train", "--resume", "--steps", "6", "--out", out], capsys)
    assert code == EXIT_USAGE
    line = one_line(err)
    assert str(out) in line


def test_fid_on_a_damaged_checkpoint_is_one_line(tmp_path, capsys):
    from image_fixtures import make_fake_mnist

    root = make_fake_mnist(tmp_path / "data")
    out = tmp_path / "r"
    assert main(["train", "--dataset", "mnist", "--data-root", str(root), "--steps", "1",
                 "--batch-size", "16", "--width", "8", "--eval-samples", "16", "--no-progress",
                 "--out", str(out)]) == 0
    _damage(out, "truncated")
    code, err = run_main(["fid", out], capsys)
    assert code == EXIT_USAGE and "checkpoint.pt" in one_line(err)


TOO_BIG = [
    (["train", "--batch-size", "2000000"], "--batch-size 2000000"),
    (["train", "--width", "100000"], "--width 100000"),
    (["train", "--eval-samples", "1000000"], "--eval-samples 1000000"),
    (["train", "--steps", "100000000000000000000"], "--steps"),
    (["train", "--n-critic", "1000000000000"], "--n-critic 1000000000000"),
    (["train", "--seeds", "0-100000000"], "--seeds '0-100000000'"),
    (["reproduce", "figure1", "--seeds", "1000000000"], "--seeds 1000000000"),
    (["bench", "--warmup", "-1"], "--warmup -1"),
    (["bench", "--repeats", "1"], "--repeats 1"),
    (["bench-quality", "--seeds", "100000"], "--seeds 100000"),
]


@pytest.mark.parametrize("args,fragment", TOO_BIG, ids=[" ".join(a) for a, _ in TOO_BIG])
def test_absurd_sizes_are_one_line_and_quick(tmp_path, capsys, args, fragment):
    start = time.perf_counter()
    code, err = run_main([*args, "--out", tmp_path / "o"], capsys)
    assert code == EXIT_USAGE and fragment in one_line(err)
    assert time.perf_counter() - start < 10


def test_table_errors_are_one_line(tmp_path, capsys):
    good = tmp_path / "t.csv"
    good.write_text("a,b\n1,2\n")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3,4,5,6\n")
    code, err = run_main(["table", ragged], capsys)
    assert code == EXIT_USAGE and "ragged.csv" in one_line(err)
    code, err = run_main(["table", good, "--out", tmp_path], capsys)
    assert code == EXIT_USAGE and "is a folder" in one_line(err)
    code, err = run_main(["table", good, "--out", tmp_path / "missing" / "t.md"], capsys)
    assert code == EXIT_USAGE and "does not exist" in one_line(err)
    (tmp_path / "provenance.json").write_text("[1]")
    code, err = run_main(["table", good], capsys)
    assert code == EXIT_USAGE and "provenance.json" in one_line(err)
    assert run_main(["table", good, "--caption", "mine"], capsys)[0] == 0


def test_fid_weights_from_bad_files_is_one_line(tmp_path, capsys):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(os.urandom(3000))
    code, err = run_main(["fid-weights", "--from", garbage, "--to", tmp_path / "w.pth"], capsys)
    assert code == EXIT_USAGE and "garbage.pt" in one_line(err)
    partial = tmp_path / "partial.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(32, 3, 3, 3)}, partial)
    code, err = run_main(["fid-weights", "--from", partial, "--to", tmp_path / "w.pth"], capsys)
    assert code == EXIT_USAGE and "partial.pth" in one_line(err)
    assert not (tmp_path / "w.pth").exists()


def test_fid_on_an_image_folder_run(tmp_path, run_cli):
    """FID of an image-folder run, against the folder it trained on (no split there)."""
    from PIL import Image

    from image_fixtures import make_torchscript_inception

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(12):
        Image.new("RGB", (70 + i, 66), (20 * i, 10, 200 - 10 * i)).save(folder / f"{i}.png")
    out = tmp_path / "r"
    assert main(["train", "--dataset", "image-folder", "--data-root", str(folder), "--steps", "1",
                 "--batch-size", "4", "--width", "8", "--eval-samples", "4", "--no-progress",
                 "--out", str(out)]) == 0
    weights = tmp_path / "inception.pth"
    ts = make_torchscript_inception(tmp_path / "ts.pt", stripped=True)
    assert run_cli("fid-weights", "--from", str(ts), "--to", str(weights)).returncode == 0
    r = run_cli("fid", str(out), "--n-fake", "12", "--n-real", "12", "--metrics", "fid",
                env={"WGANBENCH_INCEPTION_WEIGHTS": str(weights),
                     "WGANBENCH_CACHE": str(tmp_path / "cache")})
    assert r.returncode == 0, r.stderr
    row = pd.read_csv(out / "fidelity.csv").iloc[-1]
    assert row.split == "folder" and math.isfinite(row.fid)
