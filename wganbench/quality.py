"""``wganbench bench-quality``: sample quality of every objective on the toy sets, over training.

Each *row* (an objective at its paper's defaults, or a labelled recipe: ``ROWS``) trains on each
dataset over ``seeds`` seeds for a declared budget of generator iterations, and is read at fixed,
log-spaced checkpoints (:func:`checkpoints`: step 0, the untrained generator, then ``n_checkpoints``
steps up to the budget), never at a best one. At each checkpoint, per run: the exact W1 between
``eval_samples`` generated and as many real samples, the critic's estimate on the same samples and,
for the Wasserstein loss, its error (``w_bias`` = estimate - W1, ``w_abs_error``); on the Gaussian
mixtures the VEEGAN / PacGAN mode metrics of the same generated samples (modes covered, fraction
of high-quality samples, reverse KL of the mode histogram), on the Swiss roll their mean distance
to the noise-free roll (:mod:`wganbench.metrics.modes`).

Outputs: ``quality_runs.csv`` (one row per row x dataset x seed x checkpoint, configuration
flattened in); ``quality.csv`` (one row per row x dataset x checkpoint: mean, standard deviation
and 95% percentile-bootstrap interval over seeds, seeds diverged); ``quality_time.csv`` (time to
quality: per row x dataset, how many seeds reach the W1 threshold, the median first checkpoint at
which they do and its wall-clock); ``quality.png`` / ``.pdf`` (W1 over training, mean and band);
``provenance.json``. The W1 threshold of a dataset is stated, not tuned: twice the median exact
W1 between two independent real sample sets of ``eval_samples`` points (the finite-sample floor;
:func:`w1_threshold`), recorded in the tables.

Wall-clock: the seeds of one row x dataset train together as one vectorised ensemble, so the one
measured time is the ensemble's; the tables report it (``ensemble_wall_time``) and its share per
run (``wall_time_per_run`` = ensemble / seeds), a single measurement with no interval.

MNIST joins the default datasets when it is on disk (``--data-root``, ``$WGANBENCH_DATA`` or
``./data``): its runs are read at the final checkpoint only, by FID and KID against the test
digits (``n_fid`` samples a side, wganbench's MNIST classifier features; the ``fid_protocol``
column says so) instead of the exact W1.
"""

from __future__ import annotations

import datetime as _dt
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from wganbench import provenance
from wganbench.config import TrainConfig, config_hash, resolve
from wganbench.ensemble import train_or_reuse_seeds
from wganbench.errors import UserError
from wganbench.locking import lock_file
from wganbench.metrics.modes import sample_quality
from wganbench.metrics.ot import exact_w1
from wganbench.objectives import OBJECTIVES
from wganbench.results import atomic_write_text, write_json
from wganbench.runner import Trainer, resolve_device, sample_images
from wganbench.stats import summarize

DEFAULT_DATASETS = ("8gaussians", "25gaussians", "swissroll", "gaussian-1d")
IMAGE_DATASETS = ("mnist",)
SAMPLE_METRICS = ("modes_covered", "high_quality", "reverse_kl", "manifold_distance")
SUMMARY_VALUES = ("w1", "w_estimate", "w_bias", "w_abs_error", *SAMPLE_METRICS, "fid", "kid")
#: checkpoints after step 0 (log-spaced up to the budget)
N_CHECKPOINTS = 10


@dataclass(frozen=True)
class QualityRow:
    """One row of the benchmark: an objective with settings that differ from its defaults."""

    objective: str
    overrides: dict = field(default_factory=dict)
    source: str = "the paper's defaults (wganbench list)"


#: the benchmark's rows: every objective at its paper's defaults, and two labelled WGAN-GP
#: recipes (the toy script's settings, WGAN-GP App. C's one-sided penalty)
ROWS: dict[str, QualityRow] = {name: QualityRow(name) for name in OBJECTIVES.names()}
ROWS["wgan-gp-toy-recipe"] = QualityRow(
    "wgan-gp", dict(batch_size=256, betas=(0.5, 0.9), gp_lambda=0.1),
    "gan_toy.py: batch 256, Adam (0.5, 0.9), lambda 0.1 (paper-facts §5)")
ROWS["wgan-gp-one-sided"] = QualityRow(
    "wgan-gp", dict(gp_one_sided=True), "WGAN-GP App. C: max(0, ||grad|| - 1)^2, else the defaults")


@dataclass
class QualityConfig:
    out: str = "results"
    seeds: int = 5
    steps: int = 1000  # the declared budget, in generator iterations
    objectives: tuple[str, ...] = field(default_factory=lambda: tuple(ROWS))  # row labels
    datasets: tuple[str, ...] | None = None  # None: the toy sets, and MNIST when it is on disk
    quick: bool = False  # a reduced run for tests: 40 iterations, width 64, 300 eval samples
    device: str = "cpu"
    data_root: str | None = None
    n_fid: int = 10_000  # generated and real samples per FID / KID on image datasets

    def dataset_names(self) -> tuple[str, ...]:
        if self.datasets is not None:
            return self.datasets
        return DEFAULT_DATASETS + tuple(d for d in IMAGE_DATASETS if _on_disk(d, self.data_root))


def _on_disk(dataset: str, data_root: str | None) -> bool:
    from wganbench.data import DataOptions
    from wganbench.data.images import load_images

    try:
        load_images(dataset, DataOptions(root=data_root, split="test"))
        return True
    except UserError:
        return False


def checkpoints(steps: int, n: int = N_CHECKPOINTS) -> list[int]:
    """0, then ``n`` log-spaced steps from steps / 100 (at least 1) to ``steps`` (distinct)."""
    first = max(1, steps // 100)
    points = np.unique(np.round(np.geomspace(first, steps, n)).astype(int))
    return [0] + [int(p) for p in points]


def run_config(q: QualityConfig, label: str, dataset: str, seed: int) -> TrainConfig:
    steps = 40 if q.quick else q.steps
    image = dataset in IMAGE_DATASETS
    extra = dict(width=16 if image else 64, eval_samples=300) if q.quick else {}
    if image:
        extra.update(data_root=q.data_root, eval_samples=min(1000, q.n_fid))
    row = ROWS[label]
    return TrainConfig(objective=row.objective, dataset=dataset, steps=steps, seed=seed,
                       device=q.device, eval_every=steps, log_every=max(1, steps // 20),
                       progress=not q.quick, **row.overrides,
                       out=str(Path(q.out) / "quality" / ("quick" if q.quick else "full") /
                               f"{label}_{dataset}_seed{seed}"), **extra)


def w1_threshold(dataset: str, n: int, repeats: int = 5) -> float:
    """Twice the median exact W1 between two independent sets of ``n`` real samples (seeded):
    the distance a perfect generator still shows at this sample size, doubled."""
    from wganbench.data import DataOptions, get_dataset

    sampler = get_dataset(dataset).make(DataOptions())
    values = []
    for r in range(repeats):
        g = torch.Generator().manual_seed(7_000 + r)
        values.append(exact_w1(sampler.sample_eval(n, g), sampler.sample_eval(n, g)))
    return 2 * float(np.median(values))


def _logged_evaluation(trainer) -> tuple[float, float] | None:
    """(exact W1, critic estimate) of the evaluation the run itself made at its final step (the
    runner evaluates at the end of every run), when this trainer still holds its samples: just
    trained, not reloaded. The runner draws them from a generator seeded by (seed, step), so
    they are the samples :meth:`Trainer.diagnostics` would draw again; reading them back
    saves a second exact transport problem per checkpoint."""
    if trainer._last_eval is None or trainer.step == 0:
        return None
    try:
        metrics = pd.read_csv(trainer.out / "metrics.csv")
    except (OSError, ValueError):
        return None
    rows = metrics[(metrics["step"] == trainer.step) & metrics["w_estimate_eval"].notna()]
    if rows.empty:
        return None
    return float(rows["w1"].iloc[-1]), float(rows["w_estimate_eval"].iloc[-1])


def evaluate(trainer, dataset: str) -> dict[str, Any]:
    """The metrics of one run at its current step (diverged: every value NaN)."""
    nan = math.nan
    out: dict[str, Any] = {"w1": nan, "w_estimate": nan, **dict.fromkeys(SAMPLE_METRICS, nan)}
    if trainer.diverged is not None:
        return out
    logged = _logged_evaluation(trainer)
    if logged is not None:  # the run evaluated itself at this step: the same samples, no rerun
        out["w1"], out["w_estimate"] = logged
    else:
        diag = trainer.diagnostics(with_w1=True)  # the run's own evaluation samples at this step
        out["w1"], out["w_estimate"] = diag["w1"], diag["w_estimate_eval"]
    if dataset not in IMAGE_DATASETS:
        _, fake = trainer._last_eval
        out.update({k: v for k, v in sample_quality(dataset, fake).items() if k in SAMPLE_METRICS})
    return out


def bench_quality(q: QualityConfig) -> pd.DataFrame:
    started = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    if not 1 <= q.seeds <= 1000:
        raise UserError(f"--seeds {q.seeds}: must be an integer from 1 to 1000")
    if not 1 <= q.steps <= 10**9:
        raise UserError(f"--steps {q.steps}: must be a positive integer up to 1,000,000,000")
    if not 2 <= q.n_fid <= 10**6:
        raise UserError(f"--n-fid {q.n_fid}: must be an integer from 2 to 1,000,000")
    for label in q.objectives:
        if label not in ROWS:
            raise UserError(f"--objectives {label!r}: choose from {', '.join(ROWS)}")
    check_outputs(Path(q.out))
    datasets = q.dataset_names()
    groups = [[resolve(run_config(q, label, d, s)) for s in range(q.seeds)]
              for label in q.objectives for d in datasets]  # validates every name first
    labels = [label for label in q.objectives for _ in datasets]
    rows, real = [], {}
    for label, configs in zip(labels, groups):
        cfg0 = configs[0]
        image = cfg0.dataset in IMAGE_DATASETS
        stages = [cfg0.steps] if image else checkpoints(cfg0.steps)
        diverged: set[int] = set()
        for step in stages:
            if step == 0:  # the untrained networks (same seed, same init): nothing to train
                trainers = [Trainer(c) for c in configs]
            else:
                # the seeds of one row x dataset train together (a vectorised ensemble on toy
                # data), stage by stage, each stage continuing the previous one
                with sample_images(step == stages[-1]):
                    trainers = train_or_reuse_seeds([c.replace(steps=step) for c in configs])
            for cfg, trainer in zip(configs, trainers):
                if step == 0:
                    metrics = evaluate(trainer, cfg.dataset)
                else:
                    if trainer.diverged is not None:
                        diverged.add(cfg.seed)
                    metrics = evaluate(trainer, cfg.dataset)
                    if cfg.seed in diverged:
                        metrics = {k: math.nan for k in metrics}
                row = {"row": label, "objective": cfg.objective, "dataset": cfg.dataset,
                       "seed": cfg.seed, "step": step, "diverged": cfg.seed in diverged,
                       "budget_steps": cfg.steps,
                       "estimate_kind": trainer.objective.loss.estimate_kind, **metrics,
                       "ensemble_wall_time": 0.0 if step == 0 else float(trainer.wall_time),
                       "config_hash": config_hash(cfg)}
                wasserstein = row["estimate_kind"] == "wasserstein"
                row["w_bias"] = row["w_estimate"] - row["w1"] if wasserstein else math.nan
                row["w_abs_error"] = abs(row["w_bias"])
                row.update({"fid": math.nan, "kid": math.nan})
                if image and cfg.seed not in diverged:
                    row.update(image_quality(trainer, q, real))
                row.update({f"cfg_{k}": (str(v) if isinstance(v, (list, tuple)) else v)
                            for k, v in cfg.to_dict().items() if k not in ("out", "progress")})
                rows.append(row)
    runs = pd.DataFrame(rows)
    n_runs = runs.groupby(["row", "dataset", "step"], sort=False)["seed"].transform("count")
    runs["wall_time_per_run"] = runs["ensemble_wall_time"] / n_runs
    prov = provenance.collect(resolve_device(q.device), extra={
        "seeds": list(range(q.seeds)), "budget_steps": groups[0][0].steps, "quick": q.quick,
        "checkpoints": "step 0, then log-spaced to the budget (wganbench.quality.checkpoints)",
        "eval_samples": groups[0][0].eval_samples,
        "interval": "95% percentile bootstrap of the mean over seeds (10,000 resamples, seed 0)",
        "wall_time": "one ensemble per row x dataset; wall_time_per_run = ensemble / seeds",
        "rows": {label: ROWS[label].source for label in q.objectives},
        # this invocation's training and evaluation; runs reused from OUT/quality/ cost nothing
        "start_time": started, "runtime_s": round(time.perf_counter() - t0, 1)})
    key = ["row", "dataset", "step"]
    summary = summarize(runs, key, SUMMARY_VALUES)
    meta = runs.groupby(key, sort=False).agg(
        objective=("objective", "first"), budget_steps=("budget_steps", "first"),
        estimate_kind=("estimate_kind", "first"), seeds_diverged=("diverged", "sum"),
        ensemble_wall_time=("ensemble_wall_time", "first"),
        wall_time_per_run=("wall_time_per_run", "first")).reset_index()
    summary = meta.merge(summary, on=key)
    if "fid_protocol" in runs:
        summary = summary.merge(runs.groupby(key, sort=False)["fid_protocol"].first()
                                .reset_index(), on=key, how="left")
    times = time_to_quality(runs)
    for table in (summary, runs, times):
        for k in ("device_name", "cpu_threads", "torch_version", "git_commit", "git_dirty"):
            table[k] = prov[k]
    out = Path(q.out)
    out.mkdir(parents=True, exist_ok=True)
    prov.pop("seed")
    prov.pop("config_hash")
    prov["written_by"] = "wganbench bench-quality"
    with lock_file(out / "quality.csv"):
        check_outputs(out)  # nothing of the user's appeared while training
        atomic_write_text(out / "quality_runs.csv", runs.to_csv(index=False))
        atomic_write_text(out / "quality.csv", summary.to_csv(index=False))
        atomic_write_text(out / "quality_time.csv", times.to_csv(index=False))
        write_json(out / "provenance.json", prov)
        plot_quality(summary, times, out / "quality")
    return summary


def time_to_quality(runs: pd.DataFrame) -> pd.DataFrame:
    """Per row x dataset with an exact W1: the stated threshold, how many seeds reach it (W1 at
    or below it at some checkpoint), the median first such checkpoint over those seeds, and
    the wall-clock per run to get there."""
    out = []
    for (label, dataset), group in runs.groupby(["row", "dataset"], sort=False):
        if dataset in IMAGE_DATASETS or group["w1"].isna().all():
            continue
        threshold = w1_threshold(dataset, int(group["cfg_eval_samples"].iloc[0]))
        firsts, seconds = [], []
        for _, seed_rows in group.groupby("seed"):
            hit = seed_rows[(seed_rows["step"] > 0) & (seed_rows["w1"] <= threshold)]
            if len(hit):
                firsts.append(int(hit["step"].iloc[0]))
                seconds.append(float(hit["wall_time_per_run"].iloc[0]))
        n = group["seed"].nunique()
        out.append({"row": label, "dataset": dataset, "w1_threshold": threshold,
                    "threshold_rule": "2 x median W1 between two real sample sets of "
                                      "eval_samples points",
                    "seeds_reaching": len(firsts), "seeds_run": n,
                    "median_steps_to_threshold": float(np.median(firsts)) if firsts else math.nan,
                    "median_seconds_per_run_to_threshold": (float(np.median(seconds))
                                                            if seconds else math.nan),
                    "budget_steps": int(group["budget_steps"].iloc[0])})
    return pd.DataFrame(out)


def plot_quality(summary: pd.DataFrame, times: pd.DataFrame, path: Path) -> None:
    """W1 over training per dataset: the mean over seeds with its 95% interval, one line per
    row (step 0 is drawn at half the first checkpoint, the left edge of the log axis), and
    the dataset's stated W1 threshold dotted."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from wganbench.plotting import save_figure

    data = summary[summary["w1_mean"].notna()]
    datasets = list(dict.fromkeys(data["dataset"]))
    if not datasets:
        return
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.6), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        part = data[data["dataset"] == dataset]
        left = part["step"][part["step"] > 0].min() / 2 if (part["step"] > 0).any() else 0.5
        for label, rows in part.groupby("row", sort=False):
            x = rows["step"].clip(lower=left).to_numpy(float)
            ax.plot(x, rows["w1_mean"], marker="o", ms=3, label=label)
            ax.fill_between(x, rows["w1_ci_low"], rows["w1_ci_high"], alpha=0.2)
        threshold = times[times["dataset"] == dataset]["w1_threshold"] if len(times) else []
        if len(threshold):
            ax.axhline(float(threshold.iloc[0]), color="k", ls=":", lw=1,
                       label="threshold (2 x real-vs-real W1)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(dataset)
        ax.set_xlabel("generator iterations (step 0 drawn at the left)")
        ax.set_ylabel("exact W1 (mean, 95% CI over seeds)")
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.tight_layout()
    save_figure(fig, path, formats=("png", "pdf"))


def check_outputs(out: Path) -> None:
    """``bench-quality`` replaces OUT/quality.csv, quality_runs.csv, quality_time.csv and
    provenance.json only when they are its own (or absent); anything else is refused with one
    line, before any training."""
    import json

    for name, marks in (("quality.csv", ("dataset", "budget_steps")),
                        ("quality_runs.csv", ("dataset", "seed")),
                        ("quality_time.csv", ("dataset", "w1_threshold"))):
        path = out / name
        if path.exists():
            try:
                header = pd.read_csv(path, nrows=0).columns
            except (OSError, ValueError):
                header = []
            if not all(m in header for m in marks):
                raise UserError(f"--out {str(out)!r}: {str(path)!r} is not a bench-quality table; "
                                "it would be overwritten. Choose another --out or move it")
    path = out / "provenance.json"
    if path.exists():
        try:
            prov = json.loads(path.read_text())
        except (OSError, ValueError):
            prov = None
        ours = isinstance(prov, dict) and (prov.get("written_by") == "wganbench bench-quality"
                                           or "budget_steps" in prov)
        if not ours:
            raise UserError(f"--out {str(out)!r}: {str(path)!r} is not bench-quality's provenance; "
                            "it would be overwritten. Choose another --out or move it")


def image_quality(trainer, q: QualityConfig, real: dict) -> dict:
    """FID and KID of the final generator (domain extractor), with the protocol in words."""
    from wganbench.metrics.fidelity import MetricOptions, compute_metrics, real_images

    cfg = trainer.cfg
    n = 500 if q.quick else q.n_fid
    if cfg.dataset not in real:
        real[cfg.dataset] = real_images(cfg.dataset, "test", n, q.data_root)
    opts = MetricOptions(metrics=("fid", "kid"), n_fake=n, n_real=n, extractor="mnist-lenet",
                         kid_subset_size=min(1000, n))
    m = compute_metrics(trainer.generator, dataset=cfg.dataset, latent_dim=cfg.latent_dim,
                        value_range=trainer.dataset.value_range, opts=opts,
                        real=real[cfg.dataset], device=trainer.device)
    return {"fid": m["fid"], "kid": m["kid_mean"],
            "fid_protocol": f"{m['extractor']} {m['weights_sha256'][:12]}, {n} generated vs {n} "
                            f"{m['split']} images, sampling seed {m['sampling_seed']}"}
