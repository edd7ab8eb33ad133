"""WGAN paper, Figure 1: learning parallel lines (§2, Example 1).

Experiment. P_0 is the distribution of (0, Z) and P_theta of (theta, Z), Z ~ U[0, 1]. The paper
plots, against theta in [-1, 1], the Wasserstein distance W(P_0, P_theta) = |theta| (continuous,
with a usable gradient) and the Jensen-Shannon divergence, log 2 for every theta != 0 and 0 at
theta = 0 (discontinuous, no usable gradient). Both curves are analytic.

Beyond the paper we also estimate both quantities by training, at each theta, a WGAN-GP critic
(its estimate E f(P_0) - E f(P_theta) should track |theta|) and a GAN discriminator (its JS
estimate 1/2 L + log 2 of WGAN Fig 4 should sit near log 2 wherever the lines differ).

Settings the paper does not give (they do not exist there), chosen here: theta on a grid of 21
points (9 with ``--quick``); critics are MLPs with 3 hidden layers of 128 units (64 quick);
WGAN-GP: Adam 1e-4 (0, 0.9), lambda 10, 300 iterations of 5 critic updates (60 quick); GAN:
Adam 2e-4 (0.5, 0.999), 1500 updates (300 quick); batch 64; the fake side is fixed
(``--fixed-fake shift:THETA,0``). Estimates are read on 4096 fresh samples of each side.
Seeds: 5 (``DEFAULT_SEEDS``), each a seed ensemble of the 2 x 21 networks.

Claims (thresholds of the earlier versions, unchanged) and their controls, per seed:
- the critic's estimate tracks W = |theta| (mean absolute error <= 0.15, Pearson correlation
  >= 0.95 over the grid); controls: the same critics untrained, and the trained GAN
  discriminator's JS estimate measured the same way (it does not track |theta|: it jumps);
- the discriminator's JS estimate sits at log 2 wherever the lines differ (min over
  |theta| >= 0.2 and mean over theta != 0, as fractions of log 2); controls: the same
  discriminators untrained, and the trained critic's W estimate measured the same way (it
  falls to 0 continuously).
"""

import math

import numpy as np
import pandas as pd
import torch

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "Parallel lines: W and JS against theta (WGAN Fig 1)"
CAPTION = """P_0 = (0, Z) and P_theta = (theta, Z), Z ~ U[0, 1]. Left: W(P_0, P_theta) = |theta|
(line) and the estimate of a WGAN-GP critic trained at each theta (dots). Right: JS(P_0,
P_theta) = log 2 for theta != 0 (line) and the JS estimate of a GAN discriminator trained at
each theta (dots). Grey crosses: the same networks untrained (the control). The Wasserstein
distance is continuous in theta, the JS divergence jumps."""

EVAL_SAMPLES = 4096


def settings(quick: bool) -> tuple[np.ndarray, dict, dict]:
    thetas = np.round(np.linspace(-1, 1, 9 if quick else 21), 4)
    width = 64 if quick else 128
    critic = dict(objective="wgan-gp", steps=60 if quick else 300, width=width)
    disc = dict(objective="gan", steps=300 if quick else 1500, width=width)
    return thetas, critic, disc


def config(kw: dict, theta: float, seed: int) -> TrainConfig:
    return TrainConfig(dataset="parallel-lines", fixed_fake=f"shift:{theta},0", seed=seed,
                       log_every=50, eval_every=10**9, progress=False, **kw)


DEFAULT_SEEDS = 5
SCALE = ("21 values of theta (the paper's curves are analytic, dots every 0.025); critics "
         "trained 300 x 5 (GP) / 1500 (GAN) updates")


def estimate(trainer, seed):
    rng = torch.Generator().manual_seed(seed)
    real = trainer.sampler.sample_eval(EVAL_SAMPLES, rng)
    return trainer.critic_estimate(real, trainer.generate(EVAL_SAMPLES, rng))


def statistics(df: pd.DataFrame, col: str) -> dict[str, float]:
    """The claims' numbers for one column of estimates over the theta grid (one seed)."""
    off = df[df.theta != 0]
    return {"mae": float((df[col] - df.w_exact).abs().mean()),
            "pearson": float(np.corrcoef(df[col], df.w_exact)[0, 1]),
            "js_min": float(off[off.theta.abs() >= 0.2][col].min() / math.log(2)),
            "js_mean": float(off[col].mean() / math.log(2))}


#: (claim, statistic, op, threshold, trained column, contrasting trained column, paper)
CLAIMS = [
    ("critic estimate tracks |theta|: mean |estimate - |theta|| over the grid", "mae", "<=", 0.15,
     "w_critic", ("GAN discriminator's JS estimate", "js_discriminator"),
     "W(P_0, P_theta) = |theta|: continuous"),
    ("critic estimate tracks |theta|: Pearson correlation over the theta grid", "pearson", ">=",
     0.95, "w_critic", ("GAN discriminator's JS estimate", "js_discriminator"),
     "W(P_0, P_theta) = |theta|: continuous"),
    ("discriminator JS estimate near log 2 for theta != 0: min over |theta| >= 0.2 (fraction "
     "of log 2)", "js_min", ">=", 0.85, "js_discriminator",
     ("WGAN-GP critic's W estimate", "w_critic"), "JS = log 2 for every theta != 0: it jumps"),
    ("discriminator JS estimate near log 2 for theta != 0: mean over theta != 0 (fraction of "
     "log 2)", "js_mean", ">=", 0.8, "js_discriminator",
     ("WGAN-GP critic's W estimate", "w_critic"), "JS = log 2 for every theta != 0: it jumps"),
]


def run(ctx):
    thetas, critic, disc = settings(ctx.quick)
    for theta in thetas:  # all seeds of a network at once (a seed ensemble)
        for name, kw in (("critic", critic), ("disc", disc)):
            ctx.train_seeds(lambda s, name=name, theta=theta: f"{name}_theta{theta}_seed{s}",
                            config(kw, theta, 0))
    rows = []
    for seed in ctx.seeds:
        for theta in thetas:
            row = {"seed": seed, "theta": theta, "w_exact": abs(theta),
                   "js_exact": math.log(2) if theta != 0 else 0.0}
            for col, name, kw in (("w_critic", "critic", critic),
                                  ("js_discriminator", "disc", disc)):
                cfg = config(kw, theta, seed)
                row[col] = estimate(ctx.train(f"{name}_theta{theta}_seed{seed}", cfg), seed)
                row[f"{col}_untrained"] = estimate(ctx.untrained(cfg), seed)
            rows.append(row)
        df = pd.DataFrame([r for r in rows if r["seed"] == seed])
        for claim, key, op, threshold, col, (contrast, other), paper in CLAIMS:
            ctx.claim(claim, statistics(df, col)[key], op, threshold,
                      controls={"untrained": statistics(df, f"{col}_untrained")[key],
                                f"trained {contrast}": statistics(df, other)[key]},
                      paper=paper, scale=SCALE)
    table = pd.DataFrame(rows)
    ctx.write_table(table)
    ctx.save_figure(plot(table, ctx.seeds))


def plot(table, seeds):
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.0, 3.0))
    fine = np.linspace(-1, 1, 401)
    left.plot(fine, np.abs(fine), color="tab:blue", label="W = |theta|")
    right.plot(fine[fine < 0], np.full((fine < 0).sum(), math.log(2)), color="tab:blue",
               label="JS = log 2 (theta != 0)")
    right.plot(fine[fine > 0], np.full((fine > 0).sum(), math.log(2)), color="tab:blue")
    right.plot([0], [0], "o", color="tab:blue", ms=4)
    mean = table.groupby("theta").mean(numeric_only=True)
    spread = table.groupby("theta").agg(["min", "max"])
    for ax, col, label in ((left, "w_critic", "WGAN-GP critic estimate"),
                           (right, "js_discriminator", "GAN discriminator estimate")):
        ax.plot(mean.index, mean[col], "o", color="tab:orange", ms=4, label=label)
        ax.plot(mean.index, mean[f"{col}_untrained"], "x", color="tab:gray", ms=4,
                label="the same, untrained (control)")
        if len(seeds) > 1:
            ax.vlines(spread.index, spread[(col, "min")], spread[(col, "max")], color="tab:orange")
        ax.set_xlabel(r"$\theta$")
        ax.set_xlim(-1.05, 1.05)
        ax.legend(fontsize=7, loc="upper center" if ax is left else "lower center", frameon=False)
    left.set_ylabel(r"$W(P_0, P_\theta)$")
    left.set_ylim(-0.6, 1.25)
    right.set_ylabel(r"$JS(P_0, P_\theta)$")
    right.set_ylim(-0.6, 0.85)
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    fig.suptitle(f"Parallel lines ({seed_text})", fontsize=10)
    fig.tight_layout()
    return fig
