"""WGAN-GP paper, Figure 1c: histograms of critic weights under weight clipping and under the
gradient penalty (§3.2).

Experiment. The critics of Figure 1b (12-layer ReLU MLPs of 512 units on Swiss Roll, trained
as a WGAN) with weight clipping at c = 0.01 and with the gradient penalty. Under clipping the
weights pile up at the two ends of the box, +-c; under the penalty they are roughly
bell-shaped (paper-facts §4, Fig 1c; the network and length are not stated).

A histogram alone proves little here: one clamp of the He-uniform initialisation already puts
about 91% of the weights at +-c, and an untrained penalised critic is the uniform box
U(-b, b), b = sqrt(6 / 512) = 0.108 for the hidden layers. So the claims compare each trained
critic with its own initialisation (same seed), on the 11 hidden 512 x 512 weight matrices
(the first and last layers have other init bounds):
- gradient penalty, the weights leave their initial box: fraction with |w| > b >= 1%;
  controls: the untrained critic (0 by construction) and the trained clipped critic;
- gradient penalty, towards a bell: mean excess kurtosis of the hidden layers >= -0.6, halfway
  between the uniform box's -1.2 and a normal's 0; controls: untrained, trained clipped critic;
- clipping, the weights pile up at +-c: fraction within 1% of +-c >= 0.5 (the earlier
  version's threshold); controls: the clamped initialisation (which passes it: reported as
  not discriminative) and the trained penalised critic (within 1% of its own max |w|);
- clipping, training piles up more than the clamp did: that fraction minus the clamped
  initialisation's >= 0.01 (one point); control: the clamped initialisation itself (0).
Thresholds are fixed here before the runs; the reason for each is given above.

Settings: the ``gradient-norms`` networks and optimisers (clipping with TF1's RMSprop
5e-5, penalty Adam 1e-4 (0.5, 0.9), lambda 10), but batch 64 and 1000 generator iterations
(5000 critic updates) so that the penalised weights can move out of their box within our
budget: Adam moves a weight by at most about lr per step, so 500 updates (Fig 1b's 100
iterations) cannot move a weight 0.1. ``--quick``: 25 iterations, width as Fig 1b's quick.
Seeds: 5, each arm a seed ensemble.
"""

import numpy as np
import pandas as pd
import torch
from scipy.stats import kurtosis

from wganbench.plotting import plt
from wganbench.reproduce import load_script

TITLE = "Critic weights under clipping vs gradient penalty (WGAN-GP Fig 1c)"
CAPTION = """Histograms of the hidden-layer weights of the 12-layer Swiss Roll critic (first
seed), trained (filled) against the same critic untrained (line: the He-uniform box, clamped
once for clipping). Top: weight clipping (c = 0.01). Bottom: gradient penalty. The claims table
says how far each trained critic moved from its initialisation."""

FIG1B = load_script("gradient-norms")
METHODS = {"weight clipping": "c = 0.01", "gradient penalty": "gradient penalty"}
DEFAULT_SEEDS = 5
STEPS, QUICK_STEPS, BATCH = 1000, 25, 64
SCALE = "1000 generator iterations (5000 critic updates), batch 64; the paper's are not stated"


def config(method: str, seed: int, quick: bool):
    return FIG1B.config(method, seed, quick).replace(
        batch_size=BATCH, steps=QUICK_STEPS if quick else STEPS, eval_every=10**9, log_every=25)


def hidden_weights(critic) -> list[np.ndarray]:
    """The weight matrices of the hidden-to-hidden layers (all but the first and the last)."""
    linears = [m for m in critic.modules() if isinstance(m, torch.nn.Linear)]
    return [m.weight.detach().double().numpy().ravel() for m in linears[1:-1]]


def statistics(layers: list[np.ndarray], init_bound: float, clip: float | None) -> dict[str, float]:
    w = np.concatenate(layers)
    edge = clip if clip else np.abs(w).max()
    return {"outside_init_box": float(np.mean(np.abs(w) > init_bound)),
            "kurtosis": float(np.mean([kurtosis(layer) for layer in layers])),
            "near_bound": float(np.mean(np.abs(w) >= 0.99 * edge))}


def run(ctx):
    for method in METHODS.values():  # all seeds of a critic at once (a seed ensemble)
        ctx.train_seeds(lambda s, m=method: FIG1B.label(m, s), config(method, 0, ctx.quick))
    rows, weights = [], {}
    for seed in ctx.seeds:
        stats = {}
        for name, method in METHODS.items():
            cfg = config(method, seed, ctx.quick)
            for state, trainer in (("trained", ctx.train(FIG1B.label(method, seed), cfg)),
                                   ("untrained", ctx.untrained(cfg))):
                layers = hidden_weights(trainer.critic)
                width = len(layers[0]) ** 0.5
                init_bound = float(np.sqrt(6.0 / width))  # kaiming_uniform(relu), fan-in width
                stats[(name, state)] = statistics(layers, init_bound, trainer.cfg.clip)
                weights[(seed, name, state)] = np.concatenate(layers)
                rows.append({"seed": seed, "method": name, "state": state,
                             "init_bound": init_bound, **stats[(name, state)],
                             "std": float(weights[(seed, name, state)].std())})
        gp, clip = "gradient penalty", "weight clipping"
        paper = "GP weights roughly bell-shaped; clipped weights pile up at +-c"
        for claim, key, op, threshold in (
                ("gradient penalty: fraction of hidden weights outside their initial box "
                 "(|w| > sqrt(6 / 512))", "outside_init_box", ">=", 0.01),
                ("gradient penalty: mean excess kurtosis of the hidden layers' weights "
                 "(uniform -1.2, normal 0)", "kurtosis", ">=", -0.6)):
            ctx.claim(claim, stats[(gp, "trained")][key], op, threshold, paper=paper, scale=SCALE,
                      controls={"untrained": stats[(gp, "untrained")][key],
                                "trained weight clipping": stats[(clip, "trained")][key]})
        ctx.claim("clipping: fraction of hidden weights within 1% of +-c (c = 0.01)",
                  stats[(clip, "trained")]["near_bound"], ">=", 0.5, paper=paper, scale=SCALE,
                  controls={"untrained (clamped once)": stats[(clip, "untrained")]["near_bound"],
                            "trained gradient penalty (within 1% of its max |w|)":
                                stats[(gp, "trained")]["near_bound"]})
        ctx.claim("clipping: fraction within 1% of +-c, trained minus the clamped initialisation",
                  stats[(clip, "trained")]["near_bound"] - stats[(clip, "untrained")]["near_bound"],
                  ">=", 0.01, paper=paper, scale=SCALE,
                  controls={"untrained (clamped once)": 0.0})
    table = pd.DataFrame(rows)
    hist_rows = []
    for (seed, name, state), w in weights.items():
        lim = 0.02 if name == "weight clipping" else 0.2
        counts, edges = np.histogram(w, bins=80, range=(-lim, lim))
        hist_rows += [{"seed": seed, "method": name, "state": state, "bin_left": a,
                       "bin_right": b, "count": c} for a, b, c in zip(edges[:-1], edges[1:], counts)]
    ctx.write_table(pd.concat([pd.DataFrame(hist_rows), table], ignore_index=True))
    ctx.save_figure(plot(weights, ctx.seeds[0]))


def plot(weights, seed):
    fig, axes = plt.subplots(2, 1, figsize=(4.8, 4.4))
    for ax, (name, lim, color) in zip(axes, (("weight clipping", 0.02, "tab:blue"),
                                             ("gradient penalty", 0.2, "tab:purple"))):
        ax.hist(weights[(seed, name, "trained")], bins=80, range=(-lim, lim), color=color,
                alpha=0.8, label="trained")
        ax.hist(weights[(seed, name, "untrained")], bins=80, range=(-lim, lim), color="black",
                histtype="step", lw=0.8, label="untrained (init)")
        ax.set_xlim(-lim, lim)
        ax.set_yscale("log")
        ax.set_ylabel("count")
        ax.set_title(f"{name}" + (" (c = 0.01)" if name == "weight clipping" else ""), fontsize=9)
        ax.legend(fontsize=7, frameon=False)
    axes[1].set_xlabel("weight value")
    fig.suptitle(f"Hidden-layer weights, 12-layer Swiss Roll critic (seed {seed})", fontsize=10)
    fig.tight_layout()
    return fig
