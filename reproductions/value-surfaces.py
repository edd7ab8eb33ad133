"""WGAN-GP paper, Figure 1a: value surfaces of critics trained with weight clipping vs gradient
penalty (§3.1).

Experiment. On 8 Gaussians, 25 Gaussians and Swiss Roll, the generator is held fixed at the
real data plus unit-variance Gaussian noise, and a critic without batch norm is trained "to
optimality", once with weight clipping (top row) and once with the gradient penalty (bottom
row). The paper's point: the clipped critic learns an overly simple function and misses the
higher moments of the data, the GP critic follows it. We make that measurable: on 1000 vs 1000
fresh samples, (i) the GP critic's estimate E f(real) - E f(fake) is closer to the exact W1
than the clipped critic's, (ii) the GP critic's input-gradient norm between data and noise is
near 1, (iii) the clipped critic's is far below it.

Settings (``gan_toy.py`` with ``FIXED_GENERATOR``, paper-facts §4): critic MLP 2-512-512-512-1,
ReLU, He init (width 64 with ``--quick``); batch 256; 5 critic updates per iteration, 500
iterations (40 quick) where the paper's code runs 100k; clipping: RMSprop 5e-5, c = 0.01;
penalty: Adam 1e-4, betas (0.5, 0.9) as ``gan_toy.py``, with the paper's lambda = 10 (the
public ``gan_toy.py`` has 0.1). Contours as ``gan_toy.py``: 128 x 128 grid on [-3, 3]^2,
matplotlib's default levels, real samples as orange '+'.
"""

import numpy as np
import pandas as pd
import torch

from wganbench.config import TrainConfig
from wganbench.metrics.ot import exact_w1
from wganbench.objectives.lipschitz import input_gradient_norms, interpolate
from wganbench.plotting import plt

TITLE = "Critic value surfaces: weight clipping vs gradient penalty (WGAN-GP Fig 1a)"
CAPTION = """Critics trained to (near) optimality with the generator fixed at real data +
N(0, I). Top: weight clipping (c = 0.01); bottom: gradient penalty (lambda = 10). Contours of
the critic's value on [-3, 3]^2, real samples as orange crosses. The clipped critic's surface is
a gentle, nearly linear slope; the penalised critic's follows the modes and the roll."""

DATASETS = ("8gaussians", "25gaussians", "swissroll")
METHODS = {
    "clipping": dict(objective="wgan-clip"),
    "gradient penalty": dict(objective="wgan-gp", betas=(0.5, 0.9)),
}
GRID, RADIUS, EVAL = 128, 3.0, 1000


def run(ctx):
    width, steps = (64, 40) if ctx.quick else (512, 500)
    grid_1d = torch.linspace(-RADIUS, RADIUS, GRID)
    xx, yy = torch.meshgrid(grid_1d, grid_1d, indexing="ij")
    points = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    def config(dataset, kw, seed):
        return TrainConfig(dataset=dataset, fixed_fake="data+noise:1", batch_size=256,
                           width=width, steps=steps, seed=seed, log_every=50,
                           eval_every=10**9, **kw)

    for dataset in DATASETS:  # all seeds of a critic at once (a seed ensemble)
        for kw in METHODS.values():
            ctx.train_seeds(lambda s, d=dataset, o=kw["objective"]: f"{d}_{o}_seed{s}",
                            config(dataset, kw, 0))
    surfaces, rows = {}, []
    for seed in ctx.seeds:
        for dataset in DATASETS:
            stats = {}
            for method, kw in METHODS.items():
                trainer = ctx.train(f"{dataset}_{kw['objective']}_seed{seed}",
                                    config(dataset, kw, seed))
                rng = torch.Generator().manual_seed(seed)
                real = trainer.sampler.sample_eval(EVAL, rng)
                fake = trainer.generate(EVAL, rng)
                x_hat = interpolate(real, fake, rng)
                stats[method] = {
                    "estimate": trainer.critic_estimate(real, fake),
                    "w1": exact_w1(real, fake),
                    "grad_norm": float(input_gradient_norms(trainer.critic, x_hat, False).mean()),
                }
                with torch.no_grad():
                    surfaces[(seed, dataset, method)] = (trainer.critic(points).view(GRID, GRID),
                                                         real[:256])
                rows.append({"seed": seed, "dataset": dataset, "method": method, **stats[method]})
            clip, gp = stats["clipping"], stats["gradient penalty"]
            rel = {m: abs(s["estimate"] - s["w1"]) / s["w1"] for m, s in stats.items()}
            ctx.claim(f"{dataset}: relative error of the clipped critic's estimate of W1 minus "
                      "the GP critic's", rel["clipping"] - rel["gradient penalty"], ">", 0.0)
            ctx.claim(f"{dataset}: GP critic |mean input-gradient norm - 1| between data and noise",
                      abs(gp["grad_norm"] - 1), "<=", 0.5)
            ctx.claim(f"{dataset}: clipped critic's mean input-gradient norm / GP critic's",
                      clip["grad_norm"] / gp["grad_norm"], "<=", 0.5)
    ctx.write_table(pd.DataFrame(rows))
    ctx.save_figure(plot(surfaces, grid_1d.numpy(), ctx.seeds[0]))


def plot(surfaces, grid, seed):
    fig, axes = plt.subplots(2, 3, figsize=(7.2, 4.9))
    for col, dataset in enumerate(DATASETS):
        for row, method in enumerate(METHODS):
            ax = axes[row, col]
            values, real = surfaces[(seed, dataset, method)]
            ax.contour(grid, grid, values.numpy().T)
            ax.scatter(real[:, 0], real[:, 1], marker="+", c="tab:orange", s=12, lw=0.7)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_aspect("equal")
            if row == 0:
                ax.set_title(dataset, fontsize=9)
            if col == 0:
                ax.set_ylabel(method, fontsize=9)
    fig.suptitle(f"Critic value surfaces (seed {seed})", fontsize=10)
    fig.tight_layout()
    return fig
