"""WGAN paper, Figure 2 (our figure 1): optimal GAN discriminator vs WGAN critic, two Gaussians.

Experiment (WGAN §3, Fig 2). Real data N(-5, 1), fake data N(+5, 1), both fixed. A GAN
discriminator and a WGAN critic are trained "till optimality" against them. The discriminator
saturates: D = 1 on the real mode, 0 on the fake one, so its gradient over the fake samples
vanishes. The critic is close to linear between the modes, and its slope over the fake samples
is of the order of its Lipschitz constant: a generator would always get a useful gradient.

Settings the paper does not give, chosen here (each is a TrainConfig field):
- models: the toy MLP of ``gan_toy.py`` (3 hidden ReLU layers of 512, He init), batch 64;
- optimisers: each objective's paper default (GAN: Adam 2e-4 (0.5, 0.999); WGAN-clip: RMSprop
  5e-5, c = 0.01; WGAN-GP: Adam 1e-4 (0, 0.9), lambda 10);
- "till optimality": 2000 discriminator updates, 3000 clipped-critic updates, 2000 GP-critic
  updates (600 and 400 iterations of n_critic = 5), with the generator fixed (``--fixed-fake
  normal:5:1``). ``--quick``: width 64 and about a fifth of the updates.
Beyond the paper we add the WGAN-GP critic, whose Lipschitz bound (1) is known.

Controls (every claim): the same networks untrained (their seed's initialisation, clamped once
for clipping); and for the slope claims, the arm the paper contrasts, measured the same way
(the discriminator's vanishing slope against a critic's, and back). The claims and thresholds
are those of earlier versions, unchanged; the controls say which of them only trained networks
meet.
"""

import numpy as np
import pandas as pd
import torch

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "Optimal discriminator vs critic on two Gaussians (WGAN Fig 2)"
#: seeds of the committed result (issue 13: several seeds, not one; trained as ensembles)
DEFAULT_SEEDS = 5
CAPTION = """Real N(-5, 1) and fake N(+5, 1), fixed. The GAN discriminator D(x), trained to
optimality, is flat (saturated) over both modes, so its gradient over the fake samples
vanishes. The WGAN critics (weight clipping, as in the paper, and gradient penalty) are nearly
linear between the modes and keep a slope over the fake samples of the order of their
Lipschitz constant. Critics are drawn rescaled to [-1, 1]; our critics score real samples high
(the paper's equations), the paper's figure uses its code's opposite sign."""

REAL, FAKE = -5.0, 5.0
FAKE_MODE = (4.0, 6.0)


def settings(quick: bool) -> dict[str, dict]:
    width = 64 if quick else 512
    return {
        "gan": dict(objective="gan", steps=1000 if quick else 2000, width=width),
        "wgan-clip": dict(objective="wgan-clip", steps=150 if quick else 600, width=width),
        "wgan-gp": dict(objective="wgan-gp", steps=100 if quick else 400, width=width),
    }


def value_and_slope(net, x, squash=False):
    x = x.clone().requires_grad_(True)
    out = net(x.unsqueeze(1)).squeeze(1)
    if squash:
        out = torch.sigmoid(out)
    (slope,) = torch.autograd.grad(out.sum(), x)
    return out.detach(), slope


def config(kw: dict, seed: int) -> TrainConfig:
    return TrainConfig(dataset="two-gaussians", fixed_fake=f"normal:{FAKE}:1", seed=seed,
                       log_every=50, eval_every=10**9, **kw)


def measure(nets: dict, x: torch.Tensor) -> tuple[dict[str, float], dict]:
    """The claims' statistics of one set of networks (trained or a control), and the curves."""
    on_fake = (x >= FAKE_MODE[0]) & (x <= FAKE_MODE[1])
    between = (x >= REAL) & (x <= FAKE)
    d, d_slope = value_and_slope(nets["gan"], x, squash=True)
    stats = {"gan_fake_slope": float(d_slope[on_fake].abs().max()),
             "gan_real_value": float(d[(x >= -6) & (x <= -4)].min())}
    curve = {"D": d.numpy(), "dD_dx": d_slope.numpy()}
    for label in ("wgan-clip", "wgan-gp"):
        f, slope = value_and_slope(nets[label], x)
        stats[f"{label}_fake_slope"] = float(slope[on_fake].abs().mean())
        stats[f"{label}_slope_ratio"] = float(slope[on_fake].abs().mean() / slope.abs().max())
        stats[f"{label}_monotone"] = float((slope[between] < 0).float().mean())
        curve[f"f_{label}"] = f.numpy()
        curve[f"df_dx_{label}"] = slope.numpy()
    return stats, curve


#: (claim, statistic, op, threshold, the contrasting arm's statistic, what the paper shows)
CLAIMS = [
    ("GAN discriminator: max |dD/dx| over the fake mode [4, 6]", "gan_fake_slope", "<=", 1e-6,
     ("WGAN-GP critic", "wgan-gp_fake_slope"), "D saturates: its gradient vanishes on the fake mode"),
    ("GAN discriminator: D(x) on the real mode (min over [-6, -4])", "gan_real_value", ">=", 0.99,
     None, "D = 1 on the real mode"),
    ("WGAN-clip critic: mean |f'| over the fake mode / max |f'| on [-8, 8]", "wgan-clip_slope_ratio",
     ">=", 0.25, ("GAN discriminator", None), "the critic keeps a slope on the fake mode"),
    ("wgan-clip critic is monotone between the modes: fraction of x in [-5, 5] with f'(x) < 0",
     "wgan-clip_monotone", ">=", 1.0, None, "the critic is nearly linear between the modes"),
    ("WGAN-GP critic: mean |f'| over the fake mode (Lipschitz target 1)", "wgan-gp_fake_slope",
     ">=", 0.5, ("GAN discriminator", "gan_fake_slope"), "(beyond the paper) slope near 1"),
    ("WGAN-GP critic: mean |f'| over the fake mode, upper side", "wgan-gp_fake_slope", "<=", 2.0,
     None, "(beyond the paper) slope near 1"),
    ("wgan-gp critic is monotone between the modes: fraction of x in [-5, 5] with f'(x) < 0",
     "wgan-gp_monotone", ">=", 1.0, None, "(beyond the paper) nearly linear between the modes"),
]


def run(ctx):
    for label, kw in settings(ctx.quick).items():  # all seeds of a network at once (an ensemble)
        ctx.train_seeds(lambda s, label=label: f"{label}_seed{s}", config(kw, 0))
    x = torch.linspace(-8, 8, 1601)
    on_fake = (x >= FAKE_MODE[0]) & (x <= FAKE_MODE[1])
    curves = []
    scale = ("2000 / 3000 / 2000 updates (GAN / clip / GP); the paper trains 'till optimality', "
             "count not given")
    for seed in ctx.seeds:
        trained, untrained = {}, {}
        for label, kw in settings(ctx.quick).items():
            trained[label] = ctx.train(f"{label}_seed{seed}", config(kw, seed)).critic
            untrained[label] = ctx.untrained(config(kw, seed)).critic
        stats, curve = measure(trained, x)
        control_stats, _ = measure(untrained, x)
        # the contrasting arm measured like the claimed one: the discriminator's slope ratio
        _, d_slope = value_and_slope(trained["gan"], x, squash=True)
        stats["gan_slope_ratio"] = float(d_slope[on_fake].abs().mean()
                                         / d_slope.abs().max().clamp_min(1e-30))
        for claim, key, op, threshold, contrast, paper in CLAIMS:
            controls = {"untrained": control_stats[key]}
            if contrast is not None:
                name, other = contrast
                other = other or key.replace("wgan-clip", "gan").replace("wgan-gp", "gan")
                controls[f"trained {name}"] = stats[other]
            ctx.claim(claim, stats[key], op, threshold, controls=controls, paper=paper,
                      scale=scale)
        curves.append(pd.DataFrame({"seed": seed, "x": x.numpy(), **curve}))
    table = pd.concat(curves, ignore_index=True)
    table["density_real"] = np.exp(-0.5 * (table["x"] - REAL) ** 2) / np.sqrt(2 * np.pi)
    table["density_fake"] = np.exp(-0.5 * (table["x"] - FAKE) ** 2) / np.sqrt(2 * np.pi)
    ctx.write_table(table)
    ctx.save_figure(plot(table, ctx.seeds))


def plot(table: pd.DataFrame, seeds: list[int]):
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    first = table[table.seed == seeds[0]]
    x = first["x"].to_numpy()
    ax.plot(x, first["density_real"], color="tab:blue", label="Density of real")
    ax.plot(x, first["density_fake"], color="tab:green", label="Density of fake")
    styles = {"D": ("tab:red", "GAN discriminator D(x)"),
              "f_wgan-clip": ("tab:cyan", "WGAN critic, clipping (rescaled)"),
              "f_wgan-gp": ("tab:purple", "WGAN-GP critic (rescaled)")}
    for col, (color, label) in styles.items():
        values = table.pivot(index="x", columns="seed", values=col)
        if col != "D":
            values = values / values.abs().max()  # per seed, to [-1, 1]
        mean = values.mean(axis=1)
        ax.plot(mean.index, mean, color=color, label=label, lw=1.8)
        if len(seeds) > 1:
            ax.fill_between(mean.index, values.min(axis=1), values.max(axis=1), color=color,
                            alpha=0.2, lw=0)
    rng = np.random.default_rng(0)
    ax.scatter(rng.normal(REAL, 1, 100), rng.normal(0, 0.01, 100), s=4, color="tab:blue")
    ax.scatter(rng.normal(FAKE, 1, 100), rng.normal(0, 0.01, 100), s=4, color="tab:green")
    ax.annotate("vanishing gradient of D", xy=(5, 0.0), xytext=(1.5, 0.55), fontsize=8,
                arrowprops=dict(arrowstyle="->", lw=0.8))
    ax.set_xlim(-8, 8)
    ax.set_ylim(-1.1, 1.1)
    ax.set_xlabel("x")
    ax.set_ylabel("density / D(x) / rescaled critic")
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    ax.set_title(f"Optimal discriminator vs critic ({seed_text})", fontsize=10)
    ax.legend(loc="lower left", fontsize=7, frameon=False)
    return fig
