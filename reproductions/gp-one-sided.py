"""WGAN-GP paper, App. C: the one-sided penalty max(0, ||grad|| - 1)^2 against the paper's
two-sided (||grad|| - 1)^2.

The paper (App. C) trained 174 random architectures with each penalty on CIFAR-10: the
two-sided penalty had the higher Inception score in 100, the one-sided in 77, "not
significant at p < 0.05"; it keeps the two-sided penalty. We compare them on the toy sets,
where the exact W1 of the samples is known, including the 1-D set on which ``gaussian-1d``
shows the two-sided penalty trapping the critic.

Settings fixed before running: WGAN-GP Alg. 1 defaults (lambda 10, Adam 1e-4 (0, 0.9),
m = 64, n_critic 5) for both arms; MLPs of width 128 (3 hidden layers on the 2-D sets, the
report's 2 on gaussian-1d; ``gan_toy.py``'s 512 for 2 arms x 4 sets x 10 seeds does not fit
our budget), 1000 generator iterations, exact W1 on 1000 samples a side
at the start and the end. 10 seeds, each arm a seed ensemble. ``--quick``: width 32,
30 iterations, 300 samples a side (a smoke run).

Claims, thresholds fixed before running:
- per data set, one test over the seeds: no significant difference between the penalties'
  final exact W1 (two-sided Mann-Whitney U test, p >= 0.05), as App. C found; control: the
  same test between the untrained generators and the trained two-sided arm, which must find a
  difference (p < 0.05), or the test had no power to see one;
- per data set and arm, per seed: training helps, exact W1 at the end / at the start < 1;
  control: the untrained generator (ratio 1).
"""

import pandas as pd
from scipy.stats import mannwhitneyu

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "One-sided vs two-sided gradient penalty (WGAN-GP App. C)"
CAPTION = """Final exact W1 of the generated samples of each seed (dots) for the two-sided
penalty (the paper's) and the one-sided one, on each toy set, with the untrained generators'
W1 (crosses). The claims table gives the rank test between the penalties and, as its control,
between untrained and trained generators."""

DATASETS = ("8gaussians", "25gaussians", "swissroll", "gaussian-1d")
ARMS = {"two-sided": False, "one-sided": True}
DEFAULT_SEEDS = 10
SCALE = ("1000 generator iterations per toy set, width 128, 10 seeds a penalty; the paper: "
         "174 CIFAR-10 architectures, 200k iterations")
PAPER = "App. C: no significant difference (two-sided better in 100 of 177 comparisons)"


def config(dataset, arm, seed, quick):
    steps = 30 if quick else 1000
    extra = dict(width=32, eval_samples=300) if quick else dict(width=128)
    return TrainConfig(objective="wgan-gp", dataset=dataset, steps=steps, seed=seed,
                       gp_one_sided=ARMS[arm], log_every=max(1, steps // 10), eval_every=steps,
                       **extra)


def run(ctx):
    for dataset in DATASETS:  # all seeds of an arm at once (a seed ensemble)
        for arm in ARMS:
            ctx.train_seeds(lambda s, d=dataset, a=arm: f"{d}_{a}_seed{s}",
                            config(dataset, arm, 0, ctx.quick))
    rows = []
    for dataset in DATASETS:
        for seed in ctx.seeds:
            for arm in ARMS:
                trainer = ctx.train(f"{dataset}_{arm}_seed{seed}", config(dataset, arm, seed,
                                                                         ctx.quick))
                metrics = pd.read_csv(trainer.out / "metrics.csv").dropna(subset=["w1"])
                end = float(metrics.w1.iloc[-1]) if trainer.diverged is None else float("nan")
                start = float(metrics.w1.iloc[0])
                rows.append({"dataset": dataset, "seed": seed, "arm": arm, "w1_start": start,
                             "w1_end": end, "diverged": trainer.diverged is not None})
                ctx.claim(f"{dataset}, {arm}: exact W1 at the end / at the start", end / start,
                          "<", 1.0, controls={"untrained": 1.0}, paper=PAPER, scale=SCALE)
        df = pd.DataFrame([r for r in rows if r["dataset"] == dataset])
        two, one = (df[df.arm == a].set_index("seed") for a in ARMS)
        ctx.claim_over_seeds(
            f"{dataset}: no significant difference in final W1 between the penalties "
            "(Mann-Whitney p, two-sided)", _p(two.w1_end, one.w1_end), ">=", 0.05,
            controls={"untrained vs trained two-sided": _p(two.w1_start, two.w1_end)},
            paper=PAPER, scale=SCALE)
    table = pd.DataFrame(rows)
    ctx.write_table(table)
    ctx.save_figure(plot(table))


def _p(a, b) -> float:
    a, b = a.dropna(), b.dropna()  # a diverged seed has no W1
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def plot(table):
    fig, axes = plt.subplots(1, len(DATASETS), figsize=(10.0, 2.8))
    for ax, dataset in zip(axes, DATASETS):
        df = table[table.dataset == dataset]
        for i, (arm, color) in enumerate(zip(ARMS, ("tab:purple", "tab:orange"))):
            rows = df[df.arm == arm]
            jitter = (rows.seed - rows.seed.mean()) / max(1, len(rows)) * 0.5
            ax.scatter(i + jitter, rows.w1_end, s=12, color=color)
            ax.scatter(i + jitter, rows.w1_start, s=12, marker="x", color="tab:gray")
        ax.set_xticks(range(len(ARMS)), list(ARMS), fontsize=8)
        ax.set_xlim(-0.6, len(ARMS) - 0.4)
        ax.set_yscale("log")
        ax.set_title(dataset, fontsize=9)
    axes[0].set_ylabel("exact W1 (dots: end, crosses: start)", fontsize=8)
    fig.tight_layout()
    return fig
