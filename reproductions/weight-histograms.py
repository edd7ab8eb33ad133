"""WGAN-GP paper, Figure 1c: histograms of critic weights under weight clipping and under the
gradient penalty (§3.2).

Experiment. The critics of Figure 1b (12-layer ReLU MLPs on Swiss Roll, trained as a WGAN) with
weight clipping at c = 0.01 and with the gradient penalty. Under clipping the weights pile up at
the two ends of the box, +-c; under the penalty they spread out. The claim in numbers: the
fraction of the clipped critic's weights within 1% of +-c, against the fraction of the GP
critic's weights within 1% of its own largest magnitude.

Settings: those of ``gradient-norms`` (see that script); only the weight matrices are counted
(biases are clipped too, but the paper plots weights).
"""

import numpy as np
import pandas as pd
import torch

from wganbench.plotting import plt
from wganbench.reproduce import load_script

TITLE = "Critic weights under clipping vs gradient penalty (WGAN-GP Fig 1c)"
CAPTION = """Histograms of the weights of the 12-layer Swiss Roll critic. Top: weight clipping
(c = 0.01): the weights pile up at +-c. Bottom: gradient penalty: the weights spread over their
range. After our 100 generator iterations the penalised critic's weights are still close to
their He-uniform initialisation; the bell shape of the paper's figure comes with longer
training."""

FIG1B = load_script("gradient-norms")
METHODS = {"weight clipping": "c = 0.01", "gradient penalty": "gradient penalty"}


def critic_weights(critic) -> np.ndarray:
    return torch.cat([m.weight.detach().flatten() for m in critic.modules()
                      if isinstance(m, torch.nn.Linear)]).numpy()


def run(ctx):
    for method in METHODS.values():  # all seeds of a critic at once (a seed ensemble)
        objective = FIG1B.METHODS[method]["objective"]
        ctx.train_seeds(lambda s, o=objective: f"{o}_seed{s}", FIG1B.config(method, 0, ctx.quick))
    rows, weights = [], {}
    for seed in ctx.seeds:
        for name, method in METHODS.items():
            kw = FIG1B.METHODS[method]
            trainer = ctx.train(f"{kw['objective']}_seed{seed}", FIG1B.config(method, seed, ctx.quick))
            w = critic_weights(trainer.critic)
            weights[(seed, name)] = w
            bound = trainer.cfg.clip if trainer.cfg.clip else np.abs(w).max()
            near = float(np.mean(np.abs(w) >= 0.99 * bound))
            rows.append({"seed": seed, "method": name, "bound": bound, "fraction_near_bound": near,
                         "std": float(w.std()), "n_weights": len(w)})
            if name == "weight clipping":
                ctx.claim("clipping: fraction of weights within 1% of +-c (c = 0.01)", near, ">=", 0.5)
            else:
                ctx.claim("gradient penalty: fraction of weights within 1% of +-max|w|", near, "<=", 0.05)
    table = pd.DataFrame(rows)
    hist_rows = []
    for (seed, name), w in weights.items():
        lim = 0.02 if name == "weight clipping" else 0.5
        counts, edges = np.histogram(w, bins=80, range=(-lim, lim))
        hist_rows += [{"seed": seed, "method": name, "bin_left": a, "bin_right": b, "count": c}
                      for a, b, c in zip(edges[:-1], edges[1:], counts)]
    ctx.write_table(pd.concat([pd.DataFrame(hist_rows), table], ignore_index=True))
    ctx.save_figure(plot(weights, ctx.seeds[0]))


def plot(weights, seed):
    fig, axes = plt.subplots(2, 1, figsize=(4.6, 4.2))
    for ax, (name, lim, color) in zip(axes, (("weight clipping", 0.02, "tab:blue"),
                                             ("gradient penalty", 0.5, "tab:purple"))):
        ax.hist(weights[(seed, name)], bins=80, range=(-lim, lim), color=color)
        ax.set_xlim(-lim, lim)
        ax.set_ylabel("count")
        ax.set_title(f"{name}" + (" (c = 0.01)" if name == "weight clipping" else ""), fontsize=9)
    axes[1].set_xlabel("weight value")
    fig.suptitle(f"Critic weights, 12-layer Swiss Roll critic (seed {seed})", fontsize=10)
    fig.tight_layout()
    return fig
