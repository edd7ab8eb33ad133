"""Data-parallel training: 2 gloo processes on CPU take the steps of one process with the
doubled batch, and `torchrun -m wganbench train` writes and resumes like a single process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from wganbench.config import TrainConfig, resolve
from wganbench.runner import build_parts, load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
M, STEPS = 16, 3  # per-rank batch, iterations


def _batches(world: int):
    """Fixed real batches and noise for ``STEPS`` iterations of batch world * M."""
    g = torch.Generator().manual_seed(123)
    real = [[torch.randn(world * M, 2, generator=g) for _ in range(5)] for _ in range(STEPS)]
    noise = [[torch.randn(world * M, 2, generator=g) for _ in range(6)] for _ in range(STEPS)]
    return real, noise


def _eps_from_samples(real, fake, generator):
    """Interpolation weights that depend only on each sample, so that splitting a batch over
    ranks draws the same eps per sample as one process (the random streams differ by rank)."""
    eps = torch.frac(real.sum(dim=1, keepdim=True).abs() * 977.0)
    return eps * real + (1 - eps) * fake


def _run(objective: str, rank: int, world: int) -> dict:
    import wganbench.objectives.lipschitz as lip

    original = lip.interpolate
    lip.interpolate = _eps_from_samples  # restored below: the single-process run is in pytest's
    try:
        return _steps(objective, rank, world)
    finally:
        lip.interpolate = original


def _steps(objective: str, rank: int, world: int) -> dict:
    from wganbench import distributed

    cfg = resolve(TrainConfig(objective=objective, dataset="8gaussians", width=32, out="x"))
    parts = build_parts(cfg, torch.device("cpu"))
    if world > 1:
        parts.objective.grad_sync = distributed.average_gradients
    real, noise = _batches(2)
    rows = slice(rank * M, (rank + 1) * M) if world > 1 else slice(0, 2 * M)
    rng = torch.Generator().manual_seed(0)  # unused by the patched interpolation
    for it in range(STEPS):
        for k in range(cfg.n_critic):
            with torch.no_grad():
                fake = parts.generator(noise[it][k][rows])
            parts.objective.critic_step(parts.critic, parts.opt_c, real[it][k][rows], fake, rng)
        parts.objective.generator_step(parts.generator, parts.critic, parts.opt_g,
                                       noise[it][5][rows])
    return {"generator": parts.generator.state_dict(), "critic": parts.critic.state_dict()}


def _worker(rank: int, world: int, objective: str, init_file: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank,
                            world_size=world)
    try:
        state = _run(objective, rank, world)
        if rank == 0:
            torch.save(state, out)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("objective", ["wgan-gp", "wgan-clip"])
def test_two_gloo_ranks_equal_one_process_with_double_batch(tmp_path, objective):
    mp.spawn(_worker, args=(2, objective, str(tmp_path / "rdv"), str(tmp_path / "ddp.pt")),
             nprocs=2, join=True)
    ddp = torch.load(tmp_path / "ddp.pt", weights_only=True)
    single = _run(objective, 0, 1)
    for net in ("generator", "critic"):
        for k, v in single[net].items():
            torch.testing.assert_close(ddp[net][k], v, rtol=1e-5, atol=1e-6, msg=f"{net}.{k}")


def _torchrun(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "wganbench", "train", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def test_torchrun_trains_writes_on_rank_0_and_resumes(tmp_path):
    out = tmp_path / "run"
    common = ["--objective", "wgan-gp", "--dataset", "25gaussians", "--width", "32",
              "--batch-size", "32", "--log-every", "2", "--eval-every", "4",
              "--checkpoint-every", "2", "--device", "cpu", "--no-progress", "--out", str(out)]
    r = _torchrun("--steps", "4", *common)
    assert r.returncode == 0, r.stderr[-3000:]
    state = load_checkpoint(out / "checkpoint.pt")
    assert state["world_size"] == 2 and len(state["ranks"]) == 2
    # every rank's own streams are saved, and they differ between the ranks
    for stream in ("data", "noise", "penalty"):
        assert not torch.equal(state["ranks"][0]["rng"][stream], state["ranks"][1]["rng"][stream])
    metrics = pd.read_csv(out / "metrics.csv")
    assert list(metrics.step) == [0, 2, 4]  # one writer: no duplicated rows

    r = _torchrun("--steps", "6", "--resume", *common)
    assert r.returncode == 0, r.stderr[-3000:]
    assert list(pd.read_csv(out / "metrics.csv").step) == [0, 2, 4, 6]
    assert load_checkpoint(out / "checkpoint.pt")["step"] == 6


def test_ranks_share_an_ordered_dataset_without_overlap():
    """25gaussians is read in a fixed order: 2 ranks with batch m read, between them, what one
    process with batch 2m reads, and never the same points."""
    from wganbench.data import DataOptions, get_dataset

    spec = get_dataset("25gaussians")
    single = spec.make(DataOptions())
    ranks = [spec.make(DataOptions(rank=r, world_size=2)) for r in range(2)]
    g = torch.Generator()
    for _ in range(3):
        joint = torch.cat([s.sample(64, g) for s in ranks])
        torch.testing.assert_close(joint, single.sample(128, g), rtol=0, atol=0)
