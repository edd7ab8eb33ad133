"""WGAN paper, Figures 3 and 4, on toy data: does the critic's estimate follow sample quality?

Experiment (WGAN §4.2). Fig 3: during WGAN training on LSUN, the critic's Wasserstein estimate
falls as the samples improve, so it can serve as a training curve. Fig 4: the GAN
discriminator's JS estimate 1/2 L + log 2 does not; it sits near log 2 whatever the samples
look like. On toy data we can measure sample quality exactly: the exact W1 between generated
and real samples. We train WGAN-clip, WGAN-GP and a GAN on 8 Gaussians and correlate, over
training, each critic's estimate (on 1000 vs 1000 fresh samples) with the exact W1 (Spearman's
rank correlation), leaving out the first fifth of training for all three alike: there the
critics are still far from optimal (the clipped critic's estimate rises as it grows into its
Lipschitz scale while the samples already improve), and the paper's argument assumes a critic
trained to optimality. ``correlations.csv`` also gives the correlation over the whole run.

Settings: the toy MLP (512 x 3), 1500 generator iterations, evaluated every 30. ``--quick``
narrows the MLPs to 128 and evaluates every 75, but keeps the 1500 iterations (about 65 s on
2 cores): the claim is about a trend over training, and shorter runs do not have one. With
RMSprop at 5e-5 the clipped arm's exact W1 leaves its early plateau (about 0.7) only after
several hundred iterations, and the lambda = 0.1 GP critic grows into its scale (its estimate
rises) until about iteration 600; in the shorter runs we tried (200 and 1000 iterations) the
WGAN correlations were noise. Each method as its authors ran it: WGAN-clip with WGAN Alg. 1
defaults (batch 64, RMSprop 5e-5, c = 0.01) and the critic schedule of ``main.py``, which made
Fig 3 (100 critic steps for the first 25 generator iterations and every 500th: the critic must
be near optimal for its value to mean anything); WGAN-GP with the recipe of the authors' toy
script ``gan_toy.py`` (batch 256, Adam 1e-4 (0.5, 0.9), lambda 0.1 as in the public file; with
the paper's lambda 10 and Adam (0, 0.9) the toy run oscillates and its estimate does not settle);
the GAN with the -log D generator loss and the DCGAN optimiser, as the paper's baseline. The
paper's median filter is not needed: the estimates are read on 1000 fresh samples of each side
rather than on training batches.
"""

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "Critic estimate vs sample quality over training (WGAN Figs 3, 4, toy data)"
CAPTION = """Over training on 8 Gaussians, the critic's estimate (solid) against the exact W1
between 1000 generated and 1000 real samples (dashed, right axis). Once the critics are trained
(after the first fifth of training), the WGAN critics' estimates fall with the exact distance;
the GAN discriminator's JS estimate does not (it rises as the samples improve). Early on, the
clipped critic's estimate rises while it grows into its Lipschitz scale."""

OBJECTIVES = {"WGAN-clip": "wgan-clip", "WGAN-GP": "wgan-gp", "GAN": "gan-ns"}
RECIPES = {
    "wgan-clip": dict(critic_burst=True),  # WGAN authors' main.py
    "wgan-gp": dict(batch_size=256, betas=(0.5, 0.9), gp_lambda=0.1),  # gan_toy.py
    "gan-ns": {},
}


def config(objective, seed, quick):
    steps, every, width = (1500, 75, 128) if quick else (1500, 30, 512)
    return TrainConfig(objective=objective, dataset="8gaussians", steps=steps, seed=seed,
                       width=width, log_every=every, eval_every=every, **RECIPES[objective])


def run(ctx):
    for objective in OBJECTIVES.values():  # all seeds of a method at once (a seed ensemble)
        ctx.train_seeds(lambda s: f"{objective}_seed{s}", config(objective, 0, ctx.quick))
    frames, correlations = [], []
    for seed in ctx.seeds:
        for name, objective in OBJECTIVES.items():
            cfg = config(objective, seed, ctx.quick)
            steps = cfg.steps
            trainer = ctx.train(f"{objective}_seed{seed}", cfg)
            metrics = pd.read_csv(trainer.out / "metrics.csv").dropna(subset=["w1"])
            metrics = metrics[metrics.step > 0]  # the untrained critic's estimate means nothing
            trained = metrics[metrics.step > steps // 5]
            rho = spearmanr(trained.w_estimate_eval, trained.w1).statistic
            correlations.append({"seed": seed, "objective": name,
                                 "spearman_after_first_fifth": rho,
                                 "spearman_whole_run": spearmanr(metrics.w_estimate_eval,
                                                                 metrics.w1).statistic})
            if objective == "gan-ns":
                ctx.claim("GAN: Spearman correlation of the JS estimate with the exact W1 "
                          "(after the first fifth of training)", rho, "<=", 0.3)
            else:
                ctx.claim(f"{name}: Spearman correlation of the critic's estimate with the exact "
                          "W1 (after the first fifth of training)", rho, ">=", 0.6)
            frames.append(metrics.assign(seed=seed, objective=name)[
                ["seed", "objective", "step", "w_estimate_eval", "w1"]])
    table = pd.concat(frames, ignore_index=True)
    ctx.write_table(table)
    ctx.write_extra_table("correlations", pd.DataFrame(correlations))
    ctx.save_figure(plot(table, ctx.seeds))


def plot(table, seeds):
    fig, axes = plt.subplots(1, 3, figsize=(9.0, 2.8))
    for ax, name in zip(axes, OBJECTIVES):
        df = table[table.objective == name]
        est = df.pivot(index="step", columns="seed", values="w_estimate_eval")
        w1 = df.pivot(index="step", columns="seed", values="w1")
        ax.plot(est.index, est.mean(axis=1), color="tab:blue",
                label="JS estimate" if name == "GAN" else "W estimate")
        twin = ax.twinx()
        twin.plot(w1.index, w1.mean(axis=1), color="tab:orange", ls="--", label="exact W1")
        if len(seeds) > 1:
            ax.fill_between(est.index, est.min(axis=1), est.max(axis=1), color="tab:blue", alpha=0.2)
            twin.fill_between(w1.index, w1.min(axis=1), w1.max(axis=1), color="tab:orange", alpha=0.2)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("Generator iterations")
        ax.set_ylabel("JS estimate" if name == "GAN" else "Wasserstein estimate", color="tab:blue")
        twin.set_ylabel("exact W1 of samples", color="tab:orange")
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    fig.suptitle(f"Critic estimate vs exact W1 on 8 Gaussians ({seed_text})", fontsize=10)
    fig.tight_layout()
    return fig
