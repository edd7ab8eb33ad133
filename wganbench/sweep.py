"""``wganbench sweep SWEEP.toml``: a grid of training runs on a local pool or a Slurm cluster.

A sweep file names a grid (every combination of the listed values of any TrainConfig field,
``seed`` included), fixed settings for all runs, and how to execute::

    [sweep]
    out = "results/sweeps/toy"      # runs in OUT/runs/<name>, the table in OUT/sweep.csv
    executor = "local"              # local | slurm | submitit-local
    workers = 2                     # local: parallel runs, one device each

    [grid]
    objective = ["wgan-gp", "wgan-clip"]
    dataset = ["8gaussians", "swissroll"]
    seed = [0, 1, 2]

    [fixed]
    steps = 2000

    [slurm]                         # passed to submitit for executor = "slurm"
    partition = "gpu"
    time_min = 120
    gpus_per_job = 1
    cpus_per_job = 8

Executors: ``local`` runs a pool of ``workers`` processes, each holding one device (CUDA device
i for worker i when the runs ask for CUDA, else the CPU); ``slurm`` submits one job per run
through submitit (a job array); ``submitit-local`` uses submitit's local executor (for testing
the submitit path without a cluster). Every run goes through :func:`wganbench.runner.train`:
a run that finished is skipped, a run that was killed resumes from its checkpoint, so a sweep
that is killed and started again loses nothing and repeats nothing finished. At the end every
run is collected into ``OUT/sweep.csv``: one row per run, the configuration flattened in
(``cfg_<field>``), its status and its final metrics row.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from wganbench.config import TrainConfig, resolve
from wganbench.errors import UserError

EXECUTORS = ("local", "slurm", "submitit-local")


@dataclass
class SlurmOptions:
    partition: str | None = None
    time_min: int = 60
    gpus_per_job: int = 0
    cpus_per_job: int = 2
    mem_gb: int | None = None


@dataclass
class Sweep:
    out: Path
    executor: str = "local"
    workers: int = 1
    grid: dict[str, list] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    slurm: SlurmOptions = field(default_factory=SlurmOptions)

    def run_configs(self) -> list[TrainConfig]:
        """The grid expanded, each run in OUT/runs/<key=value,...>; every value validated."""
        names = {f.name for f in fields(TrainConfig)}
        for key in list(self.grid) + list(self.fixed):
            if key not in names or key in ("out",):
                raise UserError(f"sweep field {key!r} is not a training option; choose from "
                                f"{', '.join(sorted(names - {'out'}))}")
        keys = list(self.grid)
        configs = []
        for values in itertools.product(*(self.grid[k] for k in keys)):
            setting = dict(zip(keys, values))
            label = ",".join(f"{k}={_label(v)}" for k, v in setting.items()) or "run"
            kw = {**self.fixed, **setting, "out": str(self.out / "runs" / label),
                  "progress": False}
            if "betas" in kw and kw["betas"] is not None:
                kw["betas"] = tuple(kw["betas"])
            configs.append(resolve(TrainConfig(**kw)))
        return configs


def _label(v: Any) -> str:
    return "-".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)


def load_sweep(path: str | Path, overrides: dict[str, Any] | None = None) -> Sweep:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except OSError as e:
        raise UserError(f"SWEEP {str(path)!r}: cannot read it ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"SWEEP {str(path)!r} is not valid TOML: {e}") from None
    unknown = set(data) - {"sweep", "grid", "fixed", "slurm"}
    if unknown:
        raise UserError(f"SWEEP {str(path)!r}: unknown table(s) {', '.join(sorted(unknown))}; "
                        "allowed: sweep, grid, fixed, slurm")
    head = {**data.get("sweep", {}), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    grid = data.get("grid", {})
    for k, v in grid.items():
        if not isinstance(v, list) or not v:
            raise UserError(f"[grid] {k} = {v!r}: give a non-empty list of values")
    try:
        slurm = SlurmOptions(**data.get("slurm", {}))
    except TypeError as e:
        raise UserError(f"[slurm]: {e}") from None
    out, workers, executor = (head.get("out", str(path.with_suffix(""))),
                              head.get("workers", 1), head.get("executor", "local"))
    if not isinstance(out, str) or not out:
        raise UserError(f"[sweep] out = {out!r}: give a folder path as a string")
    if not isinstance(workers, int) or isinstance(workers, bool) or not 1 <= workers <= 1024:
        raise UserError(f"--workers {workers!r}: must be an integer from 1 to 1024")
    if not isinstance(executor, str) or executor not in EXECUTORS:
        raise UserError(f"--executor {executor!r}: choose from {', '.join(EXECUTORS)}")
    fixed = data.get("fixed", {})
    if not isinstance(fixed, dict) or not isinstance(grid, dict):
        raise UserError(f"SWEEP {str(path)!r}: [grid] and [fixed] must be tables")
    return Sweep(out=Path(out), executor=executor, workers=workers, grid=grid, fixed=fixed,
                 slurm=slurm)


# ---- executing one run (in a worker process or a Slurm job) -------------------------------

def run_status(cfg: TrainConfig) -> str:
    """finished | partial (checkpoint, not done) | new | stale (the folder holds a run of
    another configuration than the grid's: a [fixed] or [grid] value changed since) |
    damaged (its checkpoint or config cannot be read)."""
    from wganbench.config import config_hash
    from wganbench.runfolder import read_config_dict
    from wganbench.runner import CHECKPOINT, load_checkpoint

    out = Path(cfg.out)
    if not (out / CHECKPOINT).exists():
        return "new"
    try:
        saved = TrainConfig.from_dict(read_config_dict(out))
        if (config_hash(resolve(saved.replace(steps=cfg.steps))) != config_hash(cfg)
                or saved.seed != cfg.seed):
            return "stale"
        step = int(load_checkpoint(out / CHECKPOINT)["step"])
    except (UserError, TypeError):
        return "damaged"
    return "finished" if step >= cfg.steps else "partial"


def stale_difference(cfg: TrainConfig) -> str:
    """The settings where the run in ``cfg.out`` differs from ``cfg`` (for the message)."""
    from wganbench.runfolder import read_config_dict

    saved = resolve(TrainConfig.from_dict(read_config_dict(Path(cfg.out))))
    diffs = [f"{k} {getattr(saved, k)!r} -> {v!r}" for k, v in cfg.to_dict().items()
             if k not in ("out", "progress", "steps", "device", "checkpoint_every")
             and saved.to_dict().get(k) != v]
    return ", ".join(diffs) or "seed"


def execute(cfg_dict: dict[str, Any], device: str | None = None) -> str:
    """Train one run of the sweep to its steps: skip it if finished, resume it if killed."""
    from wganbench.runner import train

    from wganbench.locking import lock_folder
    from wganbench.runfolder import clear_run_files, is_run

    cfg = TrainConfig.from_dict(cfg_dict)
    if device is not None:
        cfg = cfg.replace(device=device)
    with lock_folder(cfg.out):
        status = run_status(cfg)
        if status == "finished":
            return "skipped (finished)"
        if status in ("stale", "damaged") or (status == "new" and is_run(Path(cfg.out))):
            clear_run_files(Path(cfg.out))  # run_sweep allowed it (--retrain), or no checkpoint
        result = train(cfg, resume=status == "partial", on_divergence="return")
    if result.diverged is not None:
        return f"diverged ({result.diverged.what}, step {result.diverged.step})"
    return "resumed" if status == "partial" else "trained"


_WORKER_DEVICE: str | None = None


def _init_worker(devices, workers: int) -> None:
    global _WORKER_DEVICE
    _WORKER_DEVICE = devices.get()
    if _WORKER_DEVICE == "cpu":  # share the cores between the workers
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


def _execute_in_worker(cfg_dict: dict[str, Any]) -> str:
    return execute(cfg_dict, _WORKER_DEVICE)


def _run_local(sweep: Sweep, todo: list[TrainConfig], log) -> None:
    import multiprocessing as mp

    import torch

    use_cuda = any(c.device.startswith("cuda") or (c.device == "auto" and torch.cuda.is_available())
                   for c in todo)
    n_cuda = torch.cuda.device_count() if use_cuda else 0
    workers = min(sweep.workers, len(todo))
    if use_cuda and workers > n_cuda:
        raise UserError(f"--workers {workers}: one device each, but only {n_cuda} CUDA device(s)")
    ctx = mp.get_context("spawn")
    devices = ctx.Queue(maxsize=workers)
    for i in range(workers):
        devices.put(f"cuda:{i}" if use_cuda else "cpu")
    with ctx.Pool(workers, initializer=_init_worker, initargs=(devices, workers)) as pool:
        results = pool.imap(_execute_in_worker, [c.to_dict() for c in todo])
        for cfg, result in zip(todo, results):
            log(f"{Path(cfg.out).name}: {result}")


def _run_submitit(sweep: Sweep, todo: list[TrainConfig], log) -> None:
    try:
        import submitit
    except ModuleNotFoundError:
        raise UserError("--executor slurm needs submitit (pip install submitit)") from None
    folder = sweep.out / "submitit" / "%j"
    if sweep.executor == "submitit-local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=sweep.slurm.time_min)
    else:
        executor = submitit.AutoExecutor(folder=folder, cluster="slurm")
        params = dict(timeout_min=sweep.slurm.time_min, gpus_per_node=sweep.slurm.gpus_per_job,
                      cpus_per_task=sweep.slurm.cpus_per_job, slurm_array_parallelism=sweep.workers)
        if sweep.slurm.partition:
            params["slurm_partition"] = sweep.slurm.partition
        if sweep.slurm.mem_gb:
            params["mem_gb"] = sweep.slurm.mem_gb
        executor.update_parameters(**params)
    jobs = executor.map_array(execute, [c.to_dict() for c in todo])
    for cfg, job in zip(todo, jobs):
        log(f"{Path(cfg.out).name}: {job.result()} (job {job.job_id})")


# ---- the command ---------------------------------------------------------------------------

def run_sweep(sweep: Sweep, log=print, retrain: bool = False) -> pd.DataFrame:
    """Train the grid's runs that are not finished and collect every run into sweep.csv.
    Runs whose folder holds another configuration (stale) or an unreadable one (damaged) are
    neither skipped nor retrained silently: without ``retrain`` the sweep stops before any
    training with one line naming them; with it they are trained again from scratch."""
    from wganbench.locking import lock_folder

    with lock_folder(sweep.out, f"sweep folder {str(sweep.out)!r}"):
        return _run_sweep(sweep, log, retrain)


def _run_sweep(sweep: Sweep, log, retrain: bool) -> pd.DataFrame:
    from wganbench.results import atomic_write_text, write_json

    configs = sweep.run_configs()
    status = {c.out: run_status(c) for c in configs}
    changed = [c for c in configs if status[c.out] in ("stale", "damaged")]
    if changed and not retrain:
        first = changed[0]
        why = (stale_difference(first) if status[first.out] == "stale"
               else "its checkpoint or config.json cannot be read")
        raise UserError(f"{len(changed)} run(s) hold results of another configuration than the "
                        f"grid's (e.g. {Path(first.out).name}: {why}); pass --retrain to train "
                        "them again (their results are replaced), or restore the sweep file")
    todo = [c for c in configs if status[c.out] != "finished"]
    log(f"{len(configs)} runs: {len(configs) - len(todo)} finished, "
        f"{sum(s == 'partial' for s in status.values())} to resume, "
        f"{sum(s == 'new' for s in status.values())} new"
        + (f", {len(changed)} to retrain (configuration changed)" if changed else ""))
    sweep.out.mkdir(parents=True, exist_ok=True)
    write_json(sweep.out / "sweep.json", {
        "executor": sweep.executor, "workers": sweep.workers, "grid": sweep.grid,
        "fixed": sweep.fixed, "slurm": sweep.slurm.__dict__, "argv": sys.argv})
    if todo:
        (_run_local if sweep.executor == "local" else _run_submitit)(sweep, todo, log)
    table = collect(configs)
    atomic_write_text(sweep.out / "sweep.csv", table.to_csv(index=False))
    return table


def collect(configs: list[TrainConfig]) -> pd.DataFrame:
    """One row per run: status, the configuration flattened in, the final metrics row."""
    rows = []
    for cfg in configs:
        out = Path(cfg.out)
        row: dict[str, Any] = {"run": out.name, "status": run_status(cfg)}
        if row["status"] in ("stale", "damaged"):  # never a row of another run's metrics
            rows.append(row)
            continue
        row.update({f"cfg_{k}": (str(v) if isinstance(v, (list, tuple)) else v)
                    for k, v in cfg.to_dict().items() if k not in ("out", "progress")})
        if (out / "metrics.csv").exists():
            try:
                metrics = pd.read_csv(out / "metrics.csv")
            except (OSError, ValueError):
                row["status"] = "damaged"
                metrics = pd.DataFrame()
            if len(metrics):
                last = metrics.iloc[-1].to_dict()
                if str(last.get("note", "")).startswith("diverged"):
                    row["status"] = "diverged"
                row.update(last)
        try:
            prov = json.loads((out / "provenance.json").read_text())
            row.update({k: prov.get(k) for k in ("git_commit", "device_name", "start_time")})
        except (OSError, ValueError, AttributeError):
            pass  # no (readable) provenance: the columns stay empty
        rows.append(row)
    return pd.DataFrame(rows)
