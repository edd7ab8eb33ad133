"""WGAN-GP Fig 3 on MNIST: convergence of weight clipping, the gradient penalty (RMSprop and
Adam) and DCGAN, against generator iterations and against wall-clock time.

Experiment (WGAN-GP §5.3, Fig 3, on CIFAR-10): the Inception score over 200,000 generator
iterations and over wall-clock seconds for four arms of ``gan_cifar.py``: weight clipping
(RMSprop 5e-5, c = 0.01, batch norm in the critic), the gradient penalty with the same
RMSprop, the gradient penalty with Adam (1e-4, (0.5, 0.9)) and DCGAN (Adam 2e-4, beta1 0.5,
one discriminator step per generator step). The paper's reading: the penalty beats clipping
with the same optimiser, Adam does better still, DCGAN converges faster in wall-clock time but
is less stable at convergence. No final scores are given.

Ours: the same four arms with the WGAN-GP authors' MNIST networks (``gan_mnist.py``: batch 50,
``mnist-dcgan``, batch norm for weight clipping only, lambda 10, 5 critic steps for the WGAN
arms), on all 60,000 MNIST digits. Scores at every stage (every ``every`` iterations, and the
untrained generator): FID of ``n_fid`` samples against as many test digits and the
Inception-style score, both with the shipped MNIST classifier (``mnist-lenet``); wall-clock is
each run's training time (``Trainer.wall_time``: iterations only, no evaluation).

Claims, per seed, thresholds fixed before running (ratios of FID at the end of training, lower
is better; a ratio of 0.9 is a 10% improvement):
- the penalty beats clipping with the same optimiser: FID(GP, RMSprop) / FID(clipping) <= 0.9;
- Adam does better still: FID(GP, Adam) / FID(GP, RMSprop) <= 0.9;
- DCGAN is faster in wall-clock early on: at a quarter of the GP-Adam run's training time,
  FID(DCGAN) / FID(GP, Adam), each read at its last stage within that time, <= 0.9;
- DCGAN is less stable at convergence: the relative jitter of its FID over the second half
  of training (mean |change between stages| / mean FID) / GP-Adam's >= 2.
Controls of each: the same networks untrained (the ratio of the two arms' untrained
generators' FIDs; the stability claim has none, an untrained network having no trajectory),
and the null ratio of chaotic training alone: the same measure with the denominator arm's
seed s+1 in place of the numerator arm (two runs of one recipe).

Scale, fixed before running from a budget of about an hour for four arms and 2 seeds:
``FULL`` (DIM 32 instead of 64 and bfloat16 autocast, the declared levers; ``steps`` generator
iterations against the paper's 200,000 on CIFAR-10). ``--paper-scale``: DIM 64, float32,
the paper's 200,000 iterations. ``--quick``: a smoke run whose claims are not expected to hold.
Cost basis (``results/throughput.csv``, MNIST at batch 50, DIM 64, 2 threads: WGAN-GP 0.95
it/s, weight clipping 1.56 it/s, GAN 5.64 it/s; DIM 32 about 3.5x fewer FLOPs, bf16 1.2-1.4x
faster): about 25 min per seed for the four arms, plus the scores at 20 stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "Convergence on MNIST: clipping, penalty (RMSprop, Adam), DCGAN (WGAN-GP Fig 3)"
CAPTION = """FID (lower is better) and the Inception-style score of the MNIST classifier
(higher is better) against generator iterations (left) and training wall-clock (right), mean
and range over seeds; the untrained generators at 0. The claims table compares the arms'
final FID, FID at a quarter of the GP-Adam run's time, and the jitter at convergence."""
IN_ALL = False  # needs MNIST on disk, and an hour at default scale
PAPER_SCALE = True

ARMS = {  # gan_mnist.py's modes, WGAN-GP Fig 3's legend
    "Weight clipping": dict(objective="wgan-clip", optimizer="rmsprop", lr=5e-5),
    "Gradient penalty (RMSprop)": dict(objective="wgan-gp", optimizer="rmsprop", lr=5e-5),
    "Gradient penalty (Adam)": dict(objective="wgan-gp", optimizer="adam", lr=1e-4,
                                    betas=(0.5, 0.9)),
    "DCGAN": dict(objective="gan-ns", optimizer="adam", lr=2e-4, betas=(0.5, 0.999), n_critic=1),
}
LABELS = {"Weight clipping": "clip", "Gradient penalty (RMSprop)": "gp-rmsprop",
          "Gradient penalty (Adam)": "gp-adam", "DCGAN": "dcgan"}
BETTER, EARLY_FRACTION, LESS_STABLE = 0.9, 0.25, 2.0
DEFAULT_SEEDS = 2
PAPER = "Fig 3: GP > clipping (same optimiser); Adam better still; DCGAN faster in wall-clock"


@dataclass
class Settings:
    steps: int  # generator iterations
    every: int  # stage interval: the scores are read there
    width: int  # DIM of gan_mnist.py's networks
    precision: str  # "float32" or "bf16"
    n_fid: int  # samples per side for FID and the score


FULL = Settings(steps=2000, every=100, width=32, precision="bf16", n_fid=2000)
PAPER_SETTINGS = Settings(steps=200_000, every=2000, width=64, precision="float32", n_fid=10_000)
QUICK = Settings(steps=60, every=20, width=8, precision="float32", n_fid=500)


def run(ctx):
    from wganbench.metrics.fidelity import MetricOptions, compute_metrics, real_images

    s = ctx.scale(FULL, QUICK, PAPER_SETTINGS)
    scale = (f"{s.steps:,} iterations on MNIST, DIM {s.width}, {s.precision}; the paper: "
             "200k on CIFAR-10")
    test = real_images("mnist", "test", s.n_fid, ctx.data_root)
    opts = MetricOptions(metrics=("fid", "is"), n_fake=s.n_fid, n_real=s.n_fid,
                         extractor="mnist-lenet")

    def scores(trainer) -> dict[str, float]:
        m = compute_metrics(trainer.generator, dataset="mnist", latent_dim=trainer.cfg.latent_dim,
                            value_range=(0.0, 1.0), opts=opts, real=test, device=trainer.device)
        return {"fid": m["fid"], "score": m["is_mean"]}

    stages = list(range(s.every, s.steps + 1, s.every))
    rows = []
    for seed in ctx.seeds:
        for arm, recipe in ARMS.items():
            cfg = TrainConfig(dataset="mnist", data_root=ctx.data_root, seed=seed, batch_size=50,
                              steps=s.steps, width=s.width, precision=s.precision,
                              log_every=s.every, eval_every=s.steps, eval_samples=50,
                              checkpoint_every=s.every, **recipe)
            base = {"seed": seed, "arm": arm}
            rows.append({**base, "step": 0, "wall_time": 0.0, **scores(ctx.untrained(cfg))})
            for trainer in ctx.train_stages(f"{LABELS[arm]}_seed{seed}", cfg, stages):
                rows.append({**base, "step": trainer.step, "wall_time": trainer.wall_time,
                             **scores(trainer)})
    table = pd.DataFrame(rows)
    ctx.write_table(table)
    claims(ctx, table, scale)
    ctx.save_figure(plot(table, ctx.seeds))


def measures(df: pd.DataFrame, early_time: float) -> dict[str, float]:
    """fid_end; fid_early: FID at the last stage within ``early_time`` training seconds (the
    untrained generator's when none is); jitter: mean |change between stages| / mean FID over
    the second half; fid_untrained."""
    d = df.sort_values("step")
    trained = d[d.step > 0]
    late = trained[trained.step > trained.step.max() / 2].fid.to_numpy()
    within = d[d.wall_time <= early_time]
    return {"fid_end": float(d.fid.iloc[-1]), "fid_untrained": float(d.fid.iloc[0]),
            "fid_early": float(within.fid.iloc[-1]),
            "jitter": (float(np.abs(np.diff(late)).mean() / np.abs(late).mean())
                       if len(late) >= 2 else float("nan"))}


def claims(ctx, table: pd.DataFrame, scale: str) -> None:
    def arm(name, seed):
        return table[(table.arm == name) & (table.seed == seed)]

    clip, gp_rms, gp_adam, dcgan = ARMS
    for i, seed in enumerate(ctx.seeds):
        other = ctx.seeds[(i + 1) % len(ctx.seeds)]
        early = EARLY_FRACTION * arm(gp_adam, seed).wall_time.max()
        m = {(name, s): measures(arm(name, s), early) for name in ARMS for s in (seed, other)}

        def ratio(a, b, key, sb=seed, sa=seed):
            return m[(a, sa)][key] / m[(b, sb)][key]

        def null(b, key):  # two runs of the denominator's recipe: chaos alone
            return {f"null: {b}, seed s+1 against seed s": ratio(b, b, key, sa=other)}

        ctx.claim(f"{gp_rms} beats {clip.lower()}: final FID ratio", ratio(gp_rms, clip, "fid_end"),
                  "<=", BETTER, paper=PAPER, scale=scale,
                  controls={"untrained": ratio(gp_rms, clip, "fid_untrained"),
                            **null(clip, "fid_end")})
        ctx.claim(f"{gp_adam} does better still: final FID / {gp_rms}'s",
                  ratio(gp_adam, gp_rms, "fid_end"), "<=", BETTER, paper=PAPER, scale=scale,
                  controls={"untrained": ratio(gp_adam, gp_rms, "fid_untrained"),
                            **null(gp_rms, "fid_end")})
        ctx.claim(f"DCGAN is faster in wall-clock early on: FID at {EARLY_FRACTION:g} of the "
                  f"{gp_adam} run's training time / that run's", ratio(dcgan, gp_adam, "fid_early"),
                  "<=", BETTER, paper=PAPER, scale=scale,
                  controls={"untrained": ratio(dcgan, gp_adam, "fid_untrained"),
                            **null(gp_adam, "fid_early")})
        ctx.claim(f"DCGAN is less stable at convergence: FID jitter over the second half / "
                  f"{gp_adam}'s", ratio(dcgan, gp_adam, "jitter"), ">=", LESS_STABLE,
                  paper="Fig 3: DCGAN less stable at convergence", scale=scale,
                  controls=null(gp_adam, "jitter"))


def plot(table: pd.DataFrame, seeds: list[int]):
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 6.0), sharey="row")
    colors = dict(zip(ARMS, ("tab:purple", "tab:green", "tab:blue", "tab:red")))
    for row, (col, label) in enumerate((("fid", "FID (MNIST classifier)"),
                                        ("score", "Inception-style score (MNIST classifier)"))):
        for k, x in enumerate(("step", "wall_time")):
            ax = axes[row, k]
            for arm in ARMS:
                d = table[table.arm == arm]
                pivot = d.pivot(index="step", columns="seed", values=col)
                xs = d.groupby("step")[x].mean().loc[pivot.index] if x == "wall_time" else pivot.index
                ax.plot(xs, pivot.mean(axis=1), color=colors[arm], label=arm, lw=1.2)
                if len(seeds) > 1:
                    ax.fill_between(xs, pivot.min(axis=1), pivot.max(axis=1), color=colors[arm],
                                    alpha=0.15, lw=0)
            if col == "fid":
                ax.set_yscale("log")
            ax.set_ylabel(label if k == 0 else "", fontsize=8)
            ax.set_xlabel("generator iterations" if x == "step" else "training wall-clock (s)",
                          fontsize=8)
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=7, frameon=False)
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    fig.suptitle(f"Convergence on MNIST ({seed_text})", fontsize=10)
    fig.tight_layout()
    return fig
