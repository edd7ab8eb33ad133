"""``wganbench bench-quality``: sample quality of every objective on the toy sets, over seeds.

For each objective x dataset x seed, train for a declared budget of generator iterations and
read, at that final step (no best-checkpoint picking): the exact W1 between 1000 generated and
1000 real samples, the critic's estimate on the same samples, and, for the Wasserstein losses,
the estimate's error against the exact W1 (``w_bias`` = estimate - W1, ``w_abs_error``); on
the Gaussian mixtures the VEEGAN / PacGAN mode metrics of the final samples (modes covered,
fraction of high-quality samples, reverse KL of the mode histogram), on the Swiss roll their
mean distance to the noise-free roll (:mod:`wganbench.metrics.modes`). ``quality_runs.csv`` holds one row per run with its
configuration flattened in; ``quality.csv`` one row per objective x dataset with mean, standard
deviation and a 95% bootstrap interval over seeds, the budget in steps and in wall-clock seconds,
and the hardware.

MNIST joins the default datasets when it is on disk (``--data-root``, ``$WGANBENCH_DATA`` or
``./data``): its runs are read at the same declared final step by FID and KID against the test
digits (``n_fid`` samples a side, wganbench's MNIST classifier features; the protocol columns
say so) instead of the exact W1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from wganbench import provenance
from wganbench.config import TrainConfig, config_hash, resolve
from wganbench.errors import UserError
from wganbench.objectives import OBJECTIVES
from wganbench.locking import lock_file
from wganbench.metrics.modes import sample_quality
from wganbench.results import atomic_write_text, write_json
from wganbench.ensemble import train_or_reuse_seeds
from wganbench.runner import resolve_device
from wganbench.stats import summarize

DEFAULT_DATASETS = ("8gaussians", "25gaussians", "swissroll", "gaussian-1d")
IMAGE_DATASETS = ("mnist",)
SUMMARY_VALUES = ("w1_final", "w_estimate", "w_bias", "w_abs_error", "modes_covered",
                  "high_quality", "reverse_kl", "manifold_distance", "fid", "kid", "wall_time")
#: metrics of the final samples on the toy sets (wganbench.metrics.modes); NaN where they do not apply
SAMPLE_METRICS = ("modes_covered", "high_quality", "reverse_kl", "manifold_distance")


@dataclass
class QualityConfig:
    out: str = "results"
    seeds: int = 5
    steps: int = 2000  # the declared budget, in generator iterations
    objectives: tuple[str, ...] = field(default_factory=lambda: tuple(OBJECTIVES.names()))
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


def run_config(q: QualityConfig, objective: str, dataset: str, seed: int) -> TrainConfig:
    steps = 40 if q.quick else q.steps
    image = dataset in IMAGE_DATASETS
    extra = dict(width=16 if image else 64, eval_samples=300) if q.quick else {}
    if image:
        extra.update(data_root=q.data_root, eval_samples=min(1000, q.n_fid))
    return TrainConfig(objective=objective, dataset=dataset, steps=steps, seed=seed,
                       device=q.device, eval_every=steps, log_every=max(1, steps // 20),
                       progress=not q.quick,
                       out=str(Path(q.out) / "quality" / ("quick" if q.quick else "full") /
                               f"{objective}_{dataset}_seed{seed}"), **extra)


def bench_quality(q: QualityConfig) -> pd.DataFrame:
    if not 1 <= q.seeds <= 1000:
        raise UserError(f"--seeds {q.seeds}: must be an integer from 1 to 1000")
    if not 1 <= q.steps <= 10**9:
        raise UserError(f"--steps {q.steps}: must be a positive integer up to 1,000,000,000")
    if not 2 <= q.n_fid <= 10**6:
        raise UserError(f"--n-fid {q.n_fid}: must be an integer from 2 to 1,000,000")
    check_outputs(Path(q.out))
    configs = [resolve(run_config(q, o, d, s)) for o in q.objectives for d in q.dataset_names()
               for s in range(q.seeds)]  # validates every name before any training
    rows = []
    real = {}
    groups = [configs[i:i + q.seeds] for i in range(0, len(configs), q.seeds)]
    # the seeds of one objective x dataset train together (a vectorised ensemble on toy data)
    for cfg, trainer in ((c, t) for g in groups for c, t in zip(g, train_or_reuse_seeds(g))):
        metrics = pd.read_csv(trainer.out / "metrics.csv")
        first, last = metrics.iloc[0], metrics.iloc[-1]
        wasserstein = trainer.objective.loss.estimate_kind == "wasserstein"
        diverged = trainer.diverged is not None
        if diverged:  # a failed seed: its quality is no number, and the row says why
            last = last.copy()
            last[["w1", "w_estimate_eval"]] = math.nan
        row = {"objective": cfg.objective, "dataset": cfg.dataset, "seed": cfg.seed,
               "diverged": diverged, "budget_steps": cfg.steps, "final_step": int(last["step"]),
               "w1_initial": float(first["w1"]), "w1_final": float(last["w1"]),
               "w_estimate": float(last["w_estimate_eval"]),
               "estimate_kind": trainer.objective.loss.estimate_kind,
               # the critic's estimate minus the exact W1 (Wasserstein losses only)
               "w_bias": float(last["w_estimate_eval"] - last["w1"]) if wasserstein else math.nan,
               "wall_time": float(last["wall_time"]), "config_hash": config_hash(cfg)}
        row["w_abs_error"] = abs(row["w_bias"])
        row.update(image_quality(trainer, q, real) if cfg.dataset in IMAGE_DATASETS
                   and not diverged else {"fid": math.nan, "kid": math.nan})
        row.update(dict.fromkeys(SAMPLE_METRICS, math.nan))
        if not diverged and cfg.dataset not in IMAGE_DATASETS:  # the final generator's samples
            fake = trainer.generate(cfg.eval_samples, trainer._eval_rng())
            row.update({k: v for k, v in sample_quality(cfg.dataset, fake).items()
                        if k in SAMPLE_METRICS})
        row.update({f"cfg_{k}": (str(v) if isinstance(v, (list, tuple)) else v)
                    for k, v in cfg.to_dict().items() if k not in ("out", "progress")})
        rows.append(row)
    runs = pd.DataFrame(rows)
    prov = provenance.collect(resolve_device(q.device), extra={
        "seeds": list(range(q.seeds)), "budget_steps": configs[0].steps, "quick": q.quick})
    summary = summarize(runs, ["objective", "dataset"], SUMMARY_VALUES)
    meta = runs.groupby(["objective", "dataset"], sort=False)[
        ["budget_steps", "estimate_kind"]].first().reset_index()
    summary = meta.merge(summary, on=["objective", "dataset"])
    diverged = runs.groupby(["objective", "dataset"], sort=False)["diverged"].sum()
    summary.insert(summary.columns.get_loc("n_seeds") + 1, "seeds_diverged",
                   [int(diverged[(o, d)]) for o, d in zip(summary.objective, summary.dataset)])
    protocol = [c for c in ("fid_protocol",) if c in runs]
    if protocol:
        summary = summary.merge(runs.groupby(["objective", "dataset"], sort=False)[protocol]
                                .first().reset_index(), on=["objective", "dataset"])
    for key in ("device_name", "cpu_threads", "torch_version", "git_commit", "git_dirty"):
        summary[key] = prov[key]
        runs[key] = prov[key]
    out = Path(q.out)
    out.mkdir(parents=True, exist_ok=True)
    prov.pop("seed")
    prov.pop("config_hash")
    prov["written_by"] = "wganbench bench-quality"
    with lock_file(out / "quality.csv"):
        check_outputs(out)  # nothing of the user's appeared while training
        atomic_write_text(out / "quality_runs.csv", runs.to_csv(index=False))
        atomic_write_text(out / "quality.csv", summary.to_csv(index=False))
        write_json(out / "provenance.json", prov)
    return summary


def check_outputs(out: Path) -> None:
    """``bench-quality`` replaces OUT/quality.csv, quality_runs.csv and provenance.json only
    when they are its own (or absent); anything else is refused with one line, before any
    training."""
    import json

    for name, marks in (("quality.csv", ("objective", "dataset", "budget_steps")),
                        ("quality_runs.csv", ("objective", "dataset", "seed"))):
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
