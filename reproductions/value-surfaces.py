"""WGAN-GP paper, Figure 1a: value surfaces of critics trained with weight clipping vs gradient
penalty (§3.1).

Experiment. On 8 Gaussians, 25 Gaussians and Swiss Roll, the generator is held fixed at the
real data plus unit-variance Gaussian noise, and a critic without batch norm is trained "to
optimality", once with weight clipping (top row) and once with the gradient penalty (bottom
row). The paper's point: the clipped critic learns an overly simple function and misses the
higher moments of the data, the penalised critic follows it.

What an optimal critic is, we can compute: the exact transport problem between the 1000 real
and 1000 fake evaluation samples has a Kantorovich potential (``KantorovichPotential``: POT's
dual potentials, c-transformed into a 1-Lipschitz function defined everywhere), drawn as a
third row. The claims compare each critic's *shape* with it, scale-free (a clipped critic's
scale is set by c, not by the data), per dataset and seed:
- rank (Spearman) correlation of the critic's values with the potential on the 2000
  evaluation samples >= 0.9: the critic orders the samples as an optimal critic does, up to a
  tenth of the ordering;
- its estimate E f(real) - E f(fake) divided by (its effective Lipschitz constant x exact W1)
  >= 0.8, the Lipschitz constant measured as the largest input-gradient norm over the real,
  fake and interpolated samples: an optimal 1-Lipschitz critic attains 1 (WGAN eq. 2);
- (penalty only) the mean input-gradient norm at interpolates is within 0.5 of 1, the
  penalty's target (the earlier version's threshold).
Thresholds are fixed here before the runs. Controls of every claim: the same critic untrained
(its seed's initialisation, clamped once for clipping), and the arm the paper contrasts
(the clipped critic for the penalised one's claims and back). Both methods get the two shape
claims; the paper expects the penalised critic to pass them and the clipped one to fall short.

Settings (``gan_toy.py`` with ``FIXED_GENERATOR``, paper-facts §4): critic MLP 2-512-512-512-1,
ReLU, He init (width 64 with ``--quick``); 5 critic updates per iteration, 1000 iterations
(5000 critic updates; 40 quick) where the paper's code runs 100k, on batches of 64 where
``gan_toy.py`` has 256: the most updates that fit our budget for 5 seeds x 3 data sets x 2
methods (at batch 256 the same updates cost about four times as much); clipping: TF1's RMSprop (``rmsprop-tf``, as
``gan_toy.py``) 5e-5, c = 0.01; penalty: Adam 1e-4, betas (0.5, 0.9) as ``gan_toy.py``, with
the paper's lambda = 10 (the public ``gan_toy.py`` has 0.1). Contours as ``gan_toy.py``:
128 x 128 grid on [-3, 3]^2, matplotlib's default levels, real samples as orange '+'.
"""

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

from wganbench.config import TrainConfig
from wganbench.metrics.ot import KantorovichPotential
from wganbench.objectives.lipschitz import input_gradient_norms, interpolate
from wganbench.plotting import plt

TITLE = "Critic value surfaces: weight clipping vs gradient penalty (WGAN-GP Fig 1a)"
CAPTION = """Critics trained with the generator fixed at real data + N(0, I), first seed.
Top: weight clipping (c = 0.01); middle: gradient penalty (lambda = 10); bottom: the exact
Kantorovich potential of the 1000 real vs 1000 fake evaluation samples (an optimal critic).
Contours of each function on [-3, 3]^2 at matplotlib's default levels, real samples as orange
crosses. The claims table gives, over seeds, how closely each critic's ordering of the samples
follows the potential's."""

DATASETS = ("8gaussians", "25gaussians", "swissroll")
METHODS = {
    "clipping": dict(objective="wgan-clip", optimizer="rmsprop-tf"),
    "gradient penalty": dict(objective="wgan-gp", betas=(0.5, 0.9)),
}
GRID, RADIUS, EVAL = 128, 3.0, 1000
DEFAULT_SEEDS = 5
SCALE = "5000 critic updates of gan_toy.py's 500,000 (1%), batch 64 (gan_toy.py: 256), width 512"


def config(dataset, kw, seed, quick):
    width, steps = (64, 40) if quick else (512, 1000)
    return TrainConfig(dataset=dataset, fixed_fake="data+noise:1", batch_size=64, width=width,
                       steps=steps, seed=seed, log_every=50, eval_every=10**9, **kw)


def measure(trainer, real, fake, x_hat, potential_values) -> dict[str, float]:
    """The claims' numbers for one critic on one seed's evaluation samples."""
    critic = trainer.critic
    points = torch.cat([real, fake, x_hat])
    norms = input_gradient_norms(critic, points, False).detach()
    with torch.no_grad():
        values = critic(torch.cat([real, fake])).view(-1).double().numpy()
    estimate = float(values[:len(real)].mean() - values[len(real):].mean())
    return {"estimate": estimate,
            "spearman_potential": float(spearmanr(values, potential_values).statistic),
            "lipschitz_eff": float(norms.max()),
            "grad_norm_interp": float(norms[-len(x_hat):].mean())}


def run(ctx):
    grid_1d = torch.linspace(-RADIUS, RADIUS, GRID)
    xx, yy = torch.meshgrid(grid_1d, grid_1d, indexing="ij")
    points = torch.stack([xx.flatten(), yy.flatten()], dim=1)
    label = {name: kw["objective"] for name, kw in METHODS.items()}
    for dataset in DATASETS:  # all seeds of a critic at once (a seed ensemble)
        for name, kw in METHODS.items():
            ctx.train_seeds(lambda s, d=dataset, o=label[name]: f"{d}_{o}_seed{s}",
                            config(dataset, kw, 0, ctx.quick))
    surfaces, rows = {}, []
    for seed in ctx.seeds:
        for dataset in DATASETS:
            stats = {}
            for name, kw in METHODS.items():
                cfg = config(dataset, kw, seed, ctx.quick)
                trainer = ctx.train(f"{dataset}_{label[name]}_seed{seed}", cfg)
                rng = torch.Generator().manual_seed(seed)
                real = trainer.sampler.sample_eval(EVAL, rng)
                fake = trainer.generate(EVAL, rng)  # data + N(0, I): the same for both methods
                x_hat = interpolate(real, fake, rng)
                potential = KantorovichPotential(real, fake)
                values = potential(torch.cat([real, fake]))
                for state, net in (("trained", trainer), ("untrained", ctx.untrained(cfg))):
                    stats[(name, state)] = measure(net, real, fake, x_hat, values)
                    stats[(name, state)]["w1"] = potential.w1
                    stats[(name, state)]["normalised_estimate"] = (
                        stats[(name, state)]["estimate"]
                        / (stats[(name, state)]["lipschitz_eff"] * potential.w1))
                    rows.append({"seed": seed, "dataset": dataset, "method": name,
                                 "state": state, **stats[(name, state)]})
                with torch.no_grad():
                    surfaces[(seed, dataset, name)] = (trainer.critic(points).view(GRID, GRID),
                                                       real[:256])
                surfaces[(seed, dataset, "Kantorovich potential")] = (
                    torch.from_numpy(potential(points)).view(GRID, GRID), real[:256])
            claim_shapes(ctx, dataset, stats)
    ctx.write_table(pd.DataFrame(rows))
    ctx.save_figure(plot(surfaces, grid_1d.numpy(), ctx.seeds[0]))


def claim_shapes(ctx, dataset, stats):
    paper = "the penalised critic follows the data; the clipped one is overly simple"
    for name, other in (("gradient penalty", "clipping"), ("clipping", "gradient penalty")):
        controls = lambda key: {"untrained": stats[(name, "untrained")][key],  # noqa: E731
                                f"trained {other}": stats[(other, "trained")][key]}
        ctx.claim(f"{dataset}, {name}: Spearman correlation of the critic with the exact "
                  "Kantorovich potential", stats[(name, "trained")]["spearman_potential"],
                  ">=", 0.9, controls=controls("spearman_potential"), paper=paper, scale=SCALE)
        ctx.claim(f"{dataset}, {name}: estimate / (effective Lipschitz constant x exact W1)",
                  stats[(name, "trained")]["normalised_estimate"], ">=", 0.8,
                  controls=controls("normalised_estimate"), paper=paper, scale=SCALE)
    gp = "gradient penalty"
    ctx.claim(f"{dataset}, gradient penalty: |mean input-gradient norm at interpolates - 1|",
              abs(stats[(gp, "trained")]["grad_norm_interp"] - 1), "<=", 0.5,
              controls={"untrained": abs(stats[(gp, "untrained")]["grad_norm_interp"] - 1),
                        "trained clipping": abs(stats[("clipping", "trained")]["grad_norm_interp"] - 1)},
              paper="the penalty holds the norm near 1 (WGAN-GP §4)", scale=SCALE)


def plot(surfaces, grid, seed):
    rows = (*METHODS, "Kantorovich potential")
    fig, axes = plt.subplots(len(rows), 3, figsize=(7.2, 7.2))
    for col, dataset in enumerate(DATASETS):
        for row, method in enumerate(rows):
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
