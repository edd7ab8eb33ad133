"""wganbench sweep: a 4-run local sweep survives a kill and a restart without repeating finished
runs; the submitit path runs through submitit's local executor."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from wganbench.runner import load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
TOML = """
[sweep]
out = "{out}"
executor = "{executor}"
workers = 2

[grid]
objective = ["wgan-gp", "wgan-clip"]
seed = {seeds}

[fixed]
dataset = "8gaussians"
steps = {steps}
width = 32
log_every = 20
eval_every = {steps}
eval_samples = 100
checkpoint_every = 20
device = "cpu"
"""


def _write(tmp_path: Path, executor: str, seeds: list[int], steps: int) -> Path:
    path = tmp_path / "sweep.toml"
    path.write_text(TOML.format(out=tmp_path / "sw", executor=executor, seeds=seeds, steps=steps))
    return path


def _finished(run: Path, steps: int) -> bool:
    try:
        return load_checkpoint(run / "checkpoint.pt")["step"] >= steps
    except Exception:  # noqa: BLE001 - not there yet, or being replaced
        return False


def _sweep_cmd(path: Path) -> list[str]:
    return [sys.executable, "-m", "wganbench", "sweep", str(path)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_local_sweep_killed_and_restarted_loses_and_repeats_nothing(tmp_path):
    steps = 200
    path = _write(tmp_path, "local", [0, 1], steps)
    runs = tmp_path / "sw" / "runs"
    proc = subprocess.Popen(_sweep_cmd(path), env=_env(), start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    done_before: dict[str, float] = {}
    while time.time() < deadline and not done_before:
        time.sleep(0.2)
        if runs.exists():
            done_before = {r.name: (r / "metrics.csv").stat().st_mtime
                           for r in runs.iterdir() if _finished(r, steps)}
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, mid-sweep
    proc.wait()
    assert done_before, "no run finished before the kill"
    unfinished = [r for r in runs.iterdir() if not _finished(r, steps)] if runs.exists() else []
    assert len(done_before) < 4 or not unfinished

    r = subprocess.run(_sweep_cmd(path), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(table) == 4 and (table.status == "finished").all()
    assert (table.step == steps).all() and table.w1.notna().all()
    assert {"cfg_objective", "cfg_seed", "cfg_lr", "git_commit"} <= set(table)
    for name, mtime in done_before.items():  # finished runs were not touched again
        assert (runs / name / "metrics.csv").stat().st_mtime == mtime, name
        assert "resumed" not in json.loads((runs / name / "provenance.json").read_text())
    for run in runs.iterdir():  # every run has each logged step exactly once
        steps_logged = list(pd.read_csv(run / "metrics.csv").step)
        assert steps_logged == list(range(0, steps + 1, 20)), run.name


def test_submitit_local_executor(tmp_path):
    path = _write(tmp_path, "submitit-local", [0], 40)
    r = subprocess.run(_sweep_cmd(path), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    table = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert len(table) == 2 and (table.status == "finished").all()
    assert "job" in r.stdout
    # a second call finds everything finished and trains nothing
    r = subprocess.run(_sweep_cmd(path), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "2 finished, 0 to resume, 0 new" in r.stdout


def test_sweep_bad_input(tmp_path, run_cli):
    bad = tmp_path / "bad.toml"
    bad.write_text('[grid]\nobjektive = ["wgan-gp"]\n')
    r = run_cli("sweep", str(bad))
    assert r.returncode == 2 and "'objektive' is not a training option" in r.stderr
    r = run_cli("sweep", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("sweep", str(_write(tmp_path, "local", [0], 10)), "--executor", "pbs")
    assert r.returncode == 2 and "--executor 'pbs'" in r.stderr
