"""WGAN Figs 3 and 4 (and App. E Fig 8) on MNIST: does the critic's estimate follow sample
quality, on images, where the GAN's does not?

Experiment (WGAN §4.2). Fig 3: the weight-clipped critic's Wasserstein estimate against
generator iterations on LSUN for (a) a DCGAN generator and critic, (b) an MLP generator (4
layers of 512 ReLU units, ``main.py --mlp_G``) with the DCGAN critic, (c) MLP generator and
MLP critic at a "substantially high" learning rate, the failing run (a flat estimate, constant
samples). The estimate falls as the samples improve in (a) and (b). Fig 4 (App. E Fig 8 with
the -log D generator loss): the GAN discriminator's JS estimate 1/2 L + log 2 on the same
setups does not. The authors median-filter the curves; we read sample quality as FID.

Ours, on all 60,000 MNIST digits with the WGAN-GP authors' MNIST networks (``gan_mnist.py``:
``mnist-dcgan``, batch norm in both for weight clipping) as "DCGAN", and ``main.py``'s MLP_G /
MLP_D (``wgan-mlp``, no output squashing) at width 512. WGAN arms: Alg. 1 (RMSprop 5e-5,
c = 0.01, m = 64, n_critic = 5) with ``main.py``'s critic schedule (100 critic steps for the
first 25 generator iterations and every 500th), which made Fig 3. Setup (c): RMSprop 1e-3, 20x
Alg. 1's (the paper gives no value; ``wgan-optimizers`` uses the same factor). GAN arms: the
same networks with the -log D generator loss and the DCGAN optimiser (Adam 2e-4, (0.5,
0.999), one discriminator step per generator step; paper-facts: Fig 4's optimiser is not
stated). Sample quality: FID of ``n_fid`` samples against as many test digits with the shipped
MNIST classifier's features (``mnist-lenet``), at every stage (every ``every`` iterations) and
for the untrained generator. Each estimate is read at every stage on one fixed set of
``n_fid`` training digits and ``n_fid`` generated digits. The figure's training curve is the
mean batch estimate of each logged window (10 iterations) median-filtered over 11 windows (the
paper does not give its filter).

Claims, per seed, thresholds fixed before running (those of ``em-vs-quality``, the toy
version):
- (a), (b): the estimate's levels follow FID (Spearman over the stages >= 0.6), and so do its
  step-to-step changes (one-sided permutation p of their Spearman correlation <= 0.05).
  Controls: the same critic untrained, read on the trained generator's samples at each stage
  (separates "the critic measures quality" from "any fixed function of the samples moves with
  them"); the GAN discriminator's JS estimate on the same setup;
- (a), (b), Fig 4: the WGAN estimate follows FID better than the GAN's JS estimate does
  (difference of their levels' Spearman correlations >= 0.3); control: the same difference for
  the untrained critic and discriminator;
- (c): the samples do not improve (FID at the end / FID of the untrained generator >= 0.8) and
  the estimate stays flat (|median over the last fifth / median over the first fifth - 1| <=
  0.2). These say a run fails, which an untrained network trivially "does"; their controls
  are the setups that should learn, measured the same way: (a) and (b) at the paper's rate.

Scale, fixed before running from a budget of about an hour for six arms and 2 seeds: ``FULL``
(DIM 32 instead of 64 for the DCGAN networks and bfloat16 autocast, the declared levers;
``steps`` generator iterations against the paper's 600,000 on LSUN). ``--paper-scale``: DIM 64,
float32, 100,000 iterations (MNIST needs fewer than LSUN; the paper's count is for LSUN).
``--quick``: a smoke run whose claims are not expected to hold.
Cost basis (``results/throughput.csv``, MNIST at batch 50, DIM 64, 2 threads: weight clipping
1.56 it/s, GAN 5.64 it/s; DIM 32 about 3.5x fewer FLOPs): about 20 min per seed for the six
arms, with ``main.py``'s 100-step critic bursts, plus FID at 20 stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.signal import medfilt
from scipy.stats import spearmanr

from wganbench.config import TrainConfig
from wganbench.plotting import image_grid, plt
from wganbench.stats import spearman_permutation_p

TITLE = "Critic estimate vs sample quality on MNIST (WGAN Figs 3, 4)"
CAPTION = """Per setup (columns): top, the weight-clipped critic's estimate over training (the
batch estimate, median-filtered) and FID of the samples (dashed, right axis); middle, the GAN
discriminator's JS estimate with its own FID; bottom, the WGAN samples at three stages (first
seed). The claims table says whether each estimate rises and falls with FID."""
IN_ALL = False  # needs MNIST on disk, and an hour at default scale
PAPER_SCALE = True

SETUPS = {
    "DCGAN": dict(generator="mnist-dcgan", critic="mnist-dcgan"),
    "MLP G": dict(generator="wgan-mlp", gen_width=512, critic="mnist-dcgan"),
    "MLP G, MLP D": dict(generator="wgan-mlp", critic="wgan-mlp", width=512),
}
LEARNING = ("DCGAN", "MLP G")  # the setups Fig 3 shows learning
FAILING = "MLP G, MLP D"
WGAN = dict(objective="wgan-clip", critic_burst=True)  # WGAN Alg. 1 with main.py's schedule
HIGH_LR = 1e-3
GAN = dict(objective="gan-ns", optimizer="adam", lr=2e-4, betas=(0.5, 0.999))
LEVELS, CHANGES_P, BETTER, NO_IMPROVEMENT, FLAT = 0.6, 0.05, 0.3, 0.8, 0.2
LOG_EVERY, MEDIAN_WINDOWS = 10, 11
DEFAULT_SEEDS = 2
PAPER = "Figs 3-4: the WGAN estimate falls as LSUN samples improve; the JS estimate does not"


@dataclass
class Settings:
    steps: int  # generator iterations
    every: int  # stage interval: FID and the estimates read there
    width: int  # DIM of the DCGAN networks
    precision: str  # "float32" or "bf16"
    n_fid: int  # samples per side for FID and for the estimates


FULL = Settings(steps=2000, every=100, width=32, precision="bf16", n_fid=2000)
PAPER_SETTINGS = Settings(steps=100_000, every=2000, width=64, precision="float32", n_fid=10_000)
QUICK = Settings(steps=60, every=20, width=8, precision="float32", n_fid=500)


def config(ctx, s: Settings, setup: str, kind: str, seed: int) -> TrainConfig:
    recipe = dict(WGAN if kind == "WGAN" else GAN)
    if kind == "WGAN" and setup == FAILING:
        recipe["lr"] = HIGH_LR
    nets = {"width": s.width, **SETUPS[setup]}
    return TrainConfig(dataset="mnist", data_root=ctx.data_root, seed=seed, steps=s.steps,
                       precision=s.precision, log_every=LOG_EVERY, eval_every=s.steps,
                       eval_samples=64, checkpoint_every=s.every, **nets, **recipe)


def run(ctx):
    from wganbench.metrics.fidelity import MetricOptions, compute_metrics, real_images

    s = ctx.scale(FULL, QUICK, PAPER_SETTINGS)
    scale = f"{s.steps:,} iterations on MNIST, DIM {s.width}, {s.precision}; the paper: 600k on LSUN"
    test = real_images("mnist", "test", s.n_fid, ctx.data_root)
    fid_opts = MetricOptions(metrics=("fid",), n_fake=s.n_fid, n_real=s.n_fid,
                             extractor="mnist-lenet")

    def fid(trainer) -> float:
        return compute_metrics(trainer.generator, dataset="mnist", latent_dim=trainer.cfg.latent_dim,
                               value_range=(0.0, 1.0), opts=fid_opts, real=test,
                               device=trainer.device)["fid"]

    stages = list(range(s.every, s.steps + 1, s.every))
    shown = {stages[0], stages[len(stages) // 2], stages[-1]}
    rows, curves, grids = [], [], {}
    noise = torch.randn(16, 128, generator=torch.Generator().manual_seed(1234))
    for seed in ctx.seeds:
        for setup in SETUPS:
            for kind in ("WGAN", "GAN"):
                cfg = config(ctx, s, setup, kind, seed)
                untrained = ctx.untrained(cfg)
                base = {"seed": seed, "setup": setup, "kind": kind}
                rows.append({**base, "step": 0, "fid": fid(untrained),
                             **estimates(untrained, untrained, s.n_fid, seed)})
                trainer = None
                for trainer in ctx.train_stages(f"{kind}_{setup}_seed{seed}".replace(" ", "")
                                                .replace(",", "_"), cfg, stages):
                    rows.append({**base, "step": trainer.step, "fid": fid(trainer),
                                 **estimates(trainer, untrained, s.n_fid, seed)})
                    if kind == "WGAN" and seed == ctx.seeds[0] and trainer.step in shown:
                        grids[(setup, trainer.step)] = sample_grid(trainer, noise)
                metrics = pd.read_csv(trainer.out / "metrics.csv")
                curves.append(metrics[["step", "w_estimate_mean"]].dropna().assign(**base))
    table = pd.DataFrame(rows)
    ctx.write_table(table)
    ctx.write_extra_table("training_estimate", pd.concat(curves, ignore_index=True))
    claims(ctx, table, scale)
    ctx.save_figure(plot(table, pd.concat(curves, ignore_index=True), grids, ctx.seeds))


def estimates(trainer, untrained, n: int, seed: int) -> dict[str, float]:
    """The trained and the untrained critic's estimates on one fixed set of ``n`` training
    digits and ``n`` samples of ``trainer``'s generator (the same sets for both critics)."""
    rng = torch.Generator().manual_seed(seed)
    real = trainer.sampler.sample_eval(n, rng).to(trainer.device)
    fake = trainer.generate(n, rng)
    return {"estimate": trainer.critic_estimate(real, fake),
            "estimate_untrained": untrained.critic_estimate(real, fake)}


def sample_grid(trainer, noise: torch.Tensor) -> torch.Tensor:
    from wganbench.models import preserved_buffers

    with torch.no_grad(), preserved_buffers(trainer.generator):
        images = trainer.generator(noise.to(trainer.device)).float().clamp(0, 1).cpu()
    return image_grid(images, (0.0, 1.0), nrow=4)


def _levels(estimate, fid) -> float:
    estimate, fid = np.asarray(estimate, float), np.asarray(fid, float)
    if len(fid) < 3 or not (np.isfinite(estimate).all() and np.isfinite(fid).all()):
        return float("nan")
    return float(spearmanr(estimate, fid).statistic)


def follows(df: pd.DataFrame, col: str, seed: int) -> dict[str, float]:
    """levels: Spearman(estimate, FID) over the trained stages; changes_p: the one-sided
    permutation p of the first differences' Spearman correlation."""
    d = df[df.step > 0].sort_values("step")
    return {"levels": _levels(d[col], d.fid),
            "changes_p": spearman_permutation_p(np.diff(d[col]), np.diff(d.fid), seed)}


def failure(df: pd.DataFrame) -> dict[str, float]:
    """fid_ratio: FID at the end / FID of the untrained generator; flatness: |median estimate
    over the last fifth / over the first fifth - 1| (trained stages)."""
    d = df.sort_values("step")
    trained = d[d.step > 0]
    k = max(1, len(trained) // 5)
    first, last = trained.estimate.iloc[:k].median(), trained.estimate.iloc[-k:].median()
    return {"fid_ratio": float(d.fid.iloc[-1] / d.fid.iloc[0]),
            "flatness": float(abs(last / first - 1)) if first != 0 else float("inf")}


def claims(ctx, table: pd.DataFrame, scale: str) -> None:
    for seed in ctx.seeds:
        def arm(setup, kind):
            return table[(table.seed == seed) & (table.setup == setup) & (table.kind == kind)]

        for setup in LEARNING:
            wgan, gan = arm(setup, "WGAN"), arm(setup, "GAN")
            trained, untrained = follows(wgan, "estimate", seed), follows(wgan, "estimate_untrained", seed)
            js, js_untrained = follows(gan, "estimate", seed), follows(gan, "estimate_untrained", seed)
            ctx.claim(f"{setup}: the WGAN estimate's levels follow FID (Spearman over the stages)",
                      trained["levels"], ">=", LEVELS, paper=PAPER, scale=scale,
                      controls={"untrained": untrained["levels"],
                                "trained GAN's JS estimate": js["levels"]})
            ctx.claim(f"{setup}: its step-to-step changes follow FID's (one-sided permutation p)",
                      trained["changes_p"], "<=", CHANGES_P, paper=PAPER, scale=scale,
                      controls={"untrained": untrained["changes_p"],
                                "trained GAN's JS estimate": js["changes_p"]})
            ctx.claim(f"{setup}: the WGAN estimate follows FID better than the GAN's JS estimate "
                      f"(difference of the levels' Spearman correlations)",
                      trained["levels"] - js["levels"], ">=", BETTER, paper=PAPER, scale=scale,
                      controls={"untrained": untrained["levels"] - js_untrained["levels"]})
        failing = failure(arm(FAILING, "WGAN"))
        learning = {setup: failure(arm(setup, "WGAN")) for setup in LEARNING}
        paper_c = "Fig 3 (bottom): MLP G and D at a high learning rate: flat estimate, no learning"
        ctx.claim(f"{FAILING}, lr {HIGH_LR:g}: the samples do not improve (FID at the end / "
                  "untrained)", failing["fid_ratio"], ">=", NO_IMPROVEMENT, paper=paper_c,
                  scale=scale, controls={f"{k} at lr 5e-5": v["fid_ratio"]
                                         for k, v in learning.items()})
        ctx.claim(f"{FAILING}, lr {HIGH_LR:g}: the estimate stays flat (|last fifth / first "
                  "fifth - 1|)", failing["flatness"], "<=", FLAT, paper=paper_c, scale=scale,
                  controls={f"{k} at lr 5e-5": v["flatness"] for k, v in learning.items()})


def plot(table: pd.DataFrame, curves: pd.DataFrame, grids: dict, seeds: list[int]):
    setups = list(SETUPS)
    shown = sorted({step for _, step in grids})
    fig = plt.figure(figsize=(10.5, 8.4))
    outer = fig.add_gridspec(3, len(setups), height_ratios=[1.0, 1.0, 0.75], wspace=0.55)
    for j, setup in enumerate(setups):
        for i, kind in enumerate(("WGAN", "GAN")):
            ax = fig.add_subplot(outer[i, j])
            train = curves[(curves.setup == setup) & (curves.kind == kind) & (curves.step > 0)]
            for seed, d in train.groupby("seed"):
                values = d.sort_values("step").w_estimate_mean.to_numpy()
                k = min(MEDIAN_WINDOWS, len(values) - (1 - len(values) % 2))
                smooth = medfilt(values, max(1, k)) if len(values) >= 3 else values
                ax.plot(d.sort_values("step").step, smooth, lw=1, color="tab:blue",
                        alpha=1.0 if seed == seeds[0] else 0.5)
            ax.set_ylabel("WGAN estimate" if kind == "WGAN" else "JS estimate", fontsize=8)
            twin = ax.twinx()
            q = table[(table.setup == setup) & (table.kind == kind)].groupby("step").fid.mean()
            twin.plot(q.index, q.to_numpy(), "--", color="tab:red", lw=1)
            twin.set_ylabel("FID (dashed)", fontsize=8, color="tab:red")
            twin.ticklabel_format(axis="y", useOffset=False, style="plain")
            title = setup + (f", lr {HIGH_LR:g}" if setup == FAILING and kind == "WGAN" else "")
            ax.set_title(f"{kind}: {title}", fontsize=9)
            ax.tick_params(labelsize=7)
            twin.tick_params(labelsize=7)
            if i == 1:
                ax.set_xlabel("generator iterations", fontsize=8)
        inner = outer[2, j].subgridspec(1, max(1, len(shown)), wspace=0.08)
        for k, step in enumerate(shown):
            ax = fig.add_subplot(inner[0, k])
            if (setup, step) in grids:
                ax.imshow(grids[(setup, step)].numpy().squeeze(), cmap="gray")
            ax.set_title(f"WGAN, it. {step:,}" if k == 0 else f"{step:,}", fontsize=7)
            ax.axis("off")
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds, first dark"
    fig.suptitle(f"Estimate vs sample quality on MNIST ({seed_text}; FID: mean over seeds)",
                 fontsize=10)
    fig.subplots_adjust(left=0.06, right=0.94, top=0.93, bottom=0.03, hspace=0.45)
    return fig
