"""WGAN paper §4.2 (negative result): weight-clipped WGAN is unstable with a momentum
optimiser or a high learning rate, stable with RMSprop at 5e-5.

The paper (§4.2, on LSUN): "WGAN training becomes unstable at times when one uses a momentum
based optimizer such as Adam [...] on the critic, or when one uses high learning rates", the
critic's loss being nonstationary; hence RMSprop (WGAN Alg. 1: alpha = 5e-5). No numbers or
figure are given. We test it on 8 Gaussians, where the exact W1 of the samples is known.

Arms (WGAN Alg. 1 otherwise: c = 0.01, m = 64, n_critic = 5; PyTorch's RMSprop as the
authors' ``main.py``):
- RMSprop 5e-5, the paper's default;
- Adam 5e-5, betas (0.5, 0.999): ``main.py --adam``, the momentum optimiser;
- Adam 5e-5, betas (0, 0.999): Adam without momentum, which isolates momentum from Adam's
  other differences (bias correction, beta2 0.999 against RMSprop's 0.99);
- RMSprop 1e-3, a high learning rate (20x; the paper gives none).
Settings fixed before running: the toy MLP with 3 hidden ReLU layers at width 128 (``gan_toy.py``
has 512: four arms x 5 seeds at 512 do not fit our budget), 1000 generator iterations,
evaluation (exact W1 and the critic's estimate on 1000 fresh samples a side) every 20.
``--quick``: width 32, 40 iterations, 300 samples a side (a smoke run).

Measures per run. Instability: the relative jitter of the critic's estimate over the second
half of training (iterations 500 to 1000, after the critic has grown into its scale),
J = mean |change between evaluations| / mean |estimate|; nonstationary critic losses make J
large. Outcome: the exact W1 at the end against the untrained generator's.

Claims, per seed (5 seeds), thresholds fixed before running:
- RMSprop 5e-5 learns: W1 end / W1 start < 1; control: the untrained generator (ratio 1);
- Adam with momentum is unstable: J(Adam (0.5)) / J(RMSprop 5e-5), same seed, >= 2;
- a high learning rate is unstable: J(RMSprop 1e-3) / J(RMSprop 5e-5), same seed, >= 2;
- Adam with momentum ends worse: W1 end (Adam (0.5)) / W1 end (RMSprop 5e-5) >= 1.2.
Controls of the three comparisons: the null ratio of two RMSprop 5e-5 runs (seed s against
seed s + 1: what chaotic training alone gives), and for the momentum claims Adam without
momentum measured the same way. A run that diverges (the runner stops it: a loss or weight
beyond 1e18 or not finite) counts as unstable without bound (jitter and final W1 infinite, so
its ratios pass and it is named under diverged runs); a diverging RMSprop 5e-5 run fails its
seed. An untrained network has no trajectory to be unstable on,
so these ratio claims have the null ratio, not an untrained network, as their first control.
"""

import numpy as np
import pandas as pd

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "Weight clipping with momentum or a high learning rate (WGAN §4.2)"
CAPTION = """Weight-clipped WGAN on 8 Gaussians with four optimisers (mean over seeds, band:
range). Left: the critic's estimate over training; right: the exact W1 of the generated
samples. The claims table compares each arm's jitter of the estimate (second half of
training) and final W1 with RMSprop 5e-5's, seed by seed, against the null ratio of two RMSprop
runs."""

ARMS = {
    "RMSprop 5e-5": dict(optimizer="rmsprop", lr=5e-5),
    "Adam 5e-5 (0.5, 0.999)": dict(optimizer="adam", lr=5e-5, betas=(0.5, 0.999)),
    "Adam 5e-5 (0, 0.999)": dict(optimizer="adam", lr=5e-5, betas=(0.0, 0.999)),
    "RMSprop 1e-3": dict(optimizer="rmsprop", lr=1e-3),
}
LABELS = {"RMSprop 5e-5": "rmsprop5e-5", "Adam 5e-5 (0.5, 0.999)": "adam0.5",
          "Adam 5e-5 (0, 0.999)": "adam0", "RMSprop 1e-3": "rmsprop1e-3"}
DEFAULT_SEEDS = 5
SCALE = "1000 generator iterations, width 128, on 8 Gaussians; the paper: LSUN, no numbers"
PAPER = "§4.2: unstable with Adam (momentum) or high learning rates; RMSprop is stable"


def config(arm, seed, quick):
    steps, width, every = (40, 32, 10) if quick else (1000, 128, 20)
    extra = dict(eval_samples=300) if quick else {}
    return TrainConfig(objective="wgan-clip", dataset="8gaussians", steps=steps, width=width,
                       seed=seed, log_every=every, eval_every=every, **ARMS[arm], **extra)


def measures(metrics: pd.DataFrame, steps: int, diverged: bool) -> dict[str, float]:
    """jitter: relative jitter of the estimate over the second half; w1_end, w1_ratio."""
    if diverged:  # unstable without bound; no W1
        return {"jitter": float("inf"), "w1_end": float("inf"), "w1_ratio": float("nan")}
    late = metrics[metrics.step >= steps // 2]["w_estimate_eval"].to_numpy()
    jitter = float(np.abs(np.diff(late)).mean() / np.abs(late).mean())
    return {"jitter": jitter, "w1_end": float(metrics.w1.iloc[-1]),
            "w1_ratio": float(metrics.w1.iloc[-1] / metrics.w1.iloc[0])}


def run(ctx):
    for arm in ARMS:  # all seeds of an arm at once (a seed ensemble)
        ctx.train_seeds(lambda s, a=arm: f"{LABELS[a]}_seed{s}", config(arm, 0, ctx.quick))
    frames, stats = [], {}
    for seed in ctx.seeds:
        for arm in ARMS:
            cfg = config(arm, seed, ctx.quick)
            trainer = ctx.train(f"{LABELS[arm]}_seed{seed}", cfg)
            metrics = pd.read_csv(trainer.out / "metrics.csv").dropna(subset=["w_estimate_eval"])
            stats[(arm, seed)] = measures(metrics, cfg.steps, trainer.diverged is not None)
            frames.append(metrics.assign(seed=seed, arm=arm)[
                ["seed", "arm", "step", "w_estimate_eval", "w1"]])
    base = "RMSprop 5e-5"
    for i, seed in enumerate(ctx.seeds):
        other = ctx.seeds[(i + 1) % len(ctx.seeds)]

        def ratio(arm, key, against=seed, s=seed):
            return stats[(arm, s)][key] / stats[(base, against)][key]

        null = "null: RMSprop 5e-5, seed s+1 against seed s"
        ctx.claim("RMSprop 5e-5 learns: exact W1 at the end / at the start",
                  stats[(base, seed)]["w1_ratio"], "<", 1.0, controls={"untrained": 1.0},
                  paper="Alg. 1 defaults train stably", scale=SCALE)
        ctx.claim("Adam (0.5, 0.999) is unstable: jitter of the estimate / RMSprop 5e-5's",
                  ratio("Adam 5e-5 (0.5, 0.999)", "jitter"), ">=", 2.0, paper=PAPER, scale=SCALE,
                  controls={null: ratio(base, "jitter", s=other),
                            "Adam without momentum (0, 0.999)": ratio("Adam 5e-5 (0, 0.999)",
                                                                       "jitter")})
        ctx.claim("a high learning rate (RMSprop 1e-3) is unstable: jitter / RMSprop 5e-5's",
                  ratio("RMSprop 1e-3", "jitter"), ">=", 2.0, paper=PAPER, scale=SCALE,
                  controls={null: ratio(base, "jitter", s=other)})
        ctx.claim("Adam (0.5, 0.999) ends worse: exact W1 at the end / RMSprop 5e-5's",
                  ratio("Adam 5e-5 (0.5, 0.999)", "w1_end"), ">=", 1.2, paper=PAPER, scale=SCALE,
                  controls={null: ratio(base, "w1_end", s=other),
                            "Adam without momentum (0, 0.999)": ratio("Adam 5e-5 (0, 0.999)",
                                                                       "w1_end")})
    table = pd.concat(frames, ignore_index=True)
    ctx.write_table(table)
    ctx.write_extra_table("measures", pd.DataFrame(
        [{"arm": arm, "seed": seed, **values} for (arm, seed), values in stats.items()]))
    ctx.save_figure(plot(table, ctx.seeds))


def plot(table, seeds):
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.2))
    colors = ("tab:blue", "tab:red", "tab:orange", "tab:purple")
    for arm, color in zip(ARMS, colors):
        df = table[table.arm == arm]
        for ax, col in zip(axes, ("w_estimate_eval", "w1")):
            # the estimate from the first evaluation after step 0 (an unclipped, untrained
            # critic there, on another scale)
            rows = df[df.step > 0] if col == "w_estimate_eval" else df
            values = rows.pivot(index="step", columns="seed", values=col)
            ax.plot(values.index, values.mean(axis=1), color=color, label=arm, lw=1.2)
            if len(seeds) > 1:
                ax.fill_between(values.index, values.min(axis=1), values.max(axis=1),
                                color=color, alpha=0.15, lw=0)
    axes[0].set_ylabel("critic estimate (after step 0)")
    axes[1].set_ylabel("exact W1 of samples")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xlabel("Generator iterations")
    axes[1].legend(fontsize=7, frameon=False)
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    fig.suptitle(f"Weight clipping: optimiser and learning rate ({seed_text})", fontsize=10)
    fig.tight_layout()
    return fig
