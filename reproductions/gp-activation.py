"""WGAN-GP paper, App. D: with the gradient penalty, a critic with ELU nonlinearities fails to
train, and the smooth softplus(2x + 2) / 2 - 1 works.

The paper (App. D) found, in its architecture sweep, that ELU networks could not be trained
with the penalty, and that softplus(2x + 2) / 2 - 1 (which is smooth, and tends to -1 and to
x like the ELU) fixed it. We test it on the toy sets, where the exact W1 of the samples is
known, against ReLU (``gan_toy.py``'s nonlinearity) as the reference arm.

Settings fixed before running: WGAN-GP Alg. 1 defaults (lambda 10, Adam 1e-4 (0, 0.9),
m = 64, n_critic 5); the toy MLPs (3 hidden layers) at width 128, not ``gan_toy.py``'s 512:
the ELU and softplus networks do not run as vectorised seed ensembles (our fast paths are
for piecewise-linear networks), so each seed trains alone, and 5 seeds x 3 sets x 3
nonlinearities at width 512 do not fit our budget. ``--activation`` sets both networks'
nonlinearity (the paper's sweep varied G and D; only the critic is penalised). 1000 generator
iterations; exact W1 on 1000 samples a side every 100. ``--quick``: width 32, 20 iterations,
300 samples a side (a smoke run).

Claims, per data set and seed (5 seeds), thresholds fixed before running:
- softplus trains: exact W1 at the end / at the start <= 0.5 (it halves its distance to the
  data); controls: the untrained generator (ratio 1), and the ELU arm, which the paper says
  fails;
- ELU fails: the same ratio > 0.5; controls: the softplus and ReLU arms, which must not fail.
  (A failure claim is always met by untrained networks, so they are no control for it.)
"""

import pandas as pd

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "ELU vs softplus critics under the gradient penalty (WGAN-GP App. D)"
CAPTION = """Exact W1 of the generated samples over training (log scale; mean over seeds, band:
range) for WGAN-GP with ReLU, ELU and softplus(2x + 2) / 2 - 1 networks on each toy set. The
claims table says, per set, whether the ELU runs fail to halve their distance to the data
while the softplus runs do."""

DATASETS = ("8gaussians", "25gaussians", "swissroll")
ACTIVATIONS = {"ReLU": "relu", "ELU": "elu", "softplus": "softplus2"}
DEFAULT_SEEDS = 5
SCALE = "1000 generator iterations, width 128; the paper: its image architecture sweep"
PAPER = "App. D: ELU could not be trained with the penalty; softplus(2x + 2) / 2 - 1 could"


def config(dataset, activation, seed, quick):
    steps, width = (20, 32) if quick else (1000, 128)
    return TrainConfig(objective="wgan-gp", dataset=dataset, steps=steps, seed=seed, width=width,
                       activation=ACTIVATIONS[activation], log_every=max(1, steps // 20),
                       eval_every=max(1, steps // 10), eval_samples=300 if quick else 1000)


def run(ctx):
    for dataset in DATASETS:
        for name in ACTIVATIONS:
            ctx.train_seeds(lambda s, d=dataset, a=name: f"{d}_{ACTIVATIONS[a]}_seed{s}",
                            config(dataset, name, 0, ctx.quick))
    frames = []
    for dataset in DATASETS:
        for seed in ctx.seeds:
            ratio = {}
            for name, activation in ACTIVATIONS.items():
                trainer = ctx.train(f"{dataset}_{activation}_seed{seed}",
                                    config(dataset, name, seed, ctx.quick))
                metrics = pd.read_csv(trainer.out / "metrics.csv").dropna(subset=["w1"])
                frames.append(metrics.assign(dataset=dataset, seed=seed, activation=name)[
                    ["dataset", "activation", "seed", "step", "w1", "w_estimate_eval"]])
                ratio[name] = (float(metrics.w1.iloc[-1] / metrics.w1.iloc[0])
                               if trainer.diverged is None else float("inf"))
            ctx.claim(f"{dataset}, softplus trains: exact W1 at the end / at the start",
                      ratio["softplus"], "<=", 0.5, paper=PAPER, scale=SCALE,
                      controls={"untrained": 1.0, "trained ELU": ratio["ELU"]})
            ctx.claim(f"{dataset}, ELU fails: exact W1 at the end / at the start",
                      ratio["ELU"], ">", 0.5, paper=PAPER, scale=SCALE,
                      controls={"trained softplus": ratio["softplus"],
                                "trained ReLU": ratio["ReLU"]})
    table = pd.concat(frames, ignore_index=True)
    ctx.write_table(table)
    ctx.save_figure(plot(table, ctx.seeds))


def plot(table, seeds):
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(10.0, 3.0))
    for ax, dataset in zip(axes, DATASETS):
        for name, color in zip(ACTIVATIONS, ("tab:blue", "tab:red", "tab:green")):
            values = table[(table.dataset == dataset) & (table.activation == name)].pivot(
                index="step", columns="seed", values="w1")
            ax.plot(values.index, values.mean(axis=1), color=color, label=name)
            if len(seeds) > 1:
                ax.fill_between(values.index, values.min(axis=1), values.max(axis=1),
                                color=color, alpha=0.15, lw=0)
        ax.set_yscale("log")
        ax.set_title(dataset, fontsize=9)
        ax.set_xlabel("Generator iterations")
    axes[0].set_ylabel("exact W1 of samples")
    axes[0].legend(fontsize=7, frameon=False)
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    fig.suptitle(f"WGAN-GP with ReLU, ELU and softplus networks ({seed_text})", fontsize=10)
    fig.tight_layout()
    return fig
