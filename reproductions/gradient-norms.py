"""WGAN-GP paper, Figure 1b: gradient norms through a deep critic, weight clipping vs gradient
penalty (§3.2).

Experiment. On Swiss Roll, a generator and a critic, both 12-layer ReLU MLPs without batch
norm, are trained as a WGAN with weight clipping at c = 0.1, 0.01 and 0.001, and with the
gradient penalty. For each, the paper plots the norm of the gradient of the critic's loss with
respect to each successive layer's activations, moving back through the network. With clipping
the gradients explode (c = 0.1) or vanish (c = 0.01, 0.001) exponentially with depth; with the
penalty they stay within an order of magnitude.

Settings the paper does not give, chosen here (paper-facts §4 suggestions): 12 hidden layers of
512 units (plus the output layer, "layer 13"), batch 256, n_critic 5; clipping with RMSprop 5e-5,
penalty with Adam 1e-4 (0.5, 0.9) and lambda 10; 100 generator iterations (``--quick``: 25,
batch 64).
The norm is taken over the whole batch (64 real + 64 fake samples through the critic, as
[NN]'s ``tf.gradients``) of d(E f(fake) - E f(real)) / d(post-ReLU activation); the penalty term
is left out of the loss here, so all five critics are measured on the same quantity.
Clipping uses TF1's RMSprop (``--optimizer rmsprop-tf``): the figure came from the authors'
TensorFlow code ([NN], paper-facts §4, §9.7).

Controls, per seed (5 seeds, ``DEFAULT_SEEDS``): every critic untrained (its seed's
He-uniform initialisation, clamped once at its c for clipping); the trained arms the paper
contrasts (gradient penalty against clipping and back); and an unconstrained critic (the
Wasserstein loss with no Lipschitz term, Adam (0.5, 0.9)), which says whether the penalty
rather than training itself keeps the norms flat. A clamped initialisation at c = 0.01 already
shrinks every layer's gradient (each weight +-c, so a layer multiplies norms by about
c sqrt(512) = 0.23): the vanishing claims may hold untrained, and are then reported as not
discriminative. The claims' thresholds are those of earlier versions, unchanged.
"""

import copy

import numpy as np
import pandas as pd
import torch

from wganbench.config import TrainConfig
from wganbench.plotting import plt

TITLE = "Gradient norms through a 12-layer critic vs the clipping value c (WGAN-GP Fig 1b)"
CAPTION = """Norm (log10) of the gradient of the critic's Wasserstein loss with respect to the
activations of each layer of a 12-layer ReLU critic on Swiss Roll, from the output (13) back to
the first layer (1). Weight clipping makes gradients explode (c = 0.1) or vanish (c = 0.01,
0.001) exponentially with depth; the gradient penalty keeps them within an order of
magnitude. Right: the same critics untrained (clamped once for clipping), the control.
Grey: an unconstrained critic (no clipping, no penalty), the penalty's control."""

DEPTH, WIDTH, MEASURE_BATCH = 12, 512, 64
METHODS = {
    "c = 0.1": dict(objective="wgan-clip", clip=0.1, optimizer="rmsprop-tf"),
    "c = 0.01": dict(objective="wgan-clip", clip=0.01, optimizer="rmsprop-tf"),
    "c = 0.001": dict(objective="wgan-clip", clip=0.001, optimizer="rmsprop-tf"),
    "gradient penalty": dict(objective="wgan-gp", betas=(0.5, 0.9)),
    "no constraint": dict(objective="wgan-gp", betas=(0.5, 0.9), lipschitz="none"),
}
LABELS = {"c = 0.1": "clip0.1", "c = 0.01": "clip0.01", "c = 0.001": "clip0.001",
          "gradient penalty": "gp", "no constraint": "unconstrained"}
DEFAULT_SEEDS = 5
SCALE = "100 generator iterations, batch 256; the paper's length is not stated"


def config(method: str, seed: int, quick: bool) -> TrainConfig:
    return TrainConfig(dataset="swissroll", depth=DEPTH, width=WIDTH,
                       batch_size=64 if quick else 256, steps=25 if quick else 100, seed=seed, log_every=10, eval_every=50,
                       **METHODS[method])


def layer_gradient_norms(critic, real, fake) -> list[float]:
    """||d loss / d a_k|| for the post-ReLU activation a_k of hidden layers k = 1..12, and for the
    output (k = 13), with loss = E f(fake) - E f(real) on one batch of real + fake samples.
    Computed in float64, where the vanishing gradients of c = 0.001 do not underflow to 0."""
    critic = copy.deepcopy(critic).double()
    h = torch.cat([real, fake]).double()
    activations = []
    for layer in critic.net:
        h = layer(h)
        if isinstance(layer, torch.nn.ReLU):
            h.retain_grad()
            activations.append(h)
    h.retain_grad()
    activations.append(h)  # the output scores
    scores = h.view(-1)
    loss = scores[len(real):].mean() - scores[:len(real)].mean()
    loss.backward()
    return [float(a.grad.norm()) for a in activations]


def label(method: str, seed: int) -> str:
    return f"{LABELS[method]}_seed{seed}"


def statistics(log10: np.ndarray) -> dict[str, float]:
    """growth: log10 norm at the first hidden layer minus at the last (> 0: grows going back);
    spread: max - min of log10 norm over layers 1-13."""
    return {"growth": float(log10[0] - log10[DEPTH - 1]),
            "spread": float(log10.max() - log10.min())}


#: (method, claim, statistic, op, threshold, contrasting trained arms, paper)
CLAIMS = [
    ("c = 0.1", "c = 0.1 grows going back (explodes): log10 norm at layer 1 minus at layer 12",
     "growth", ">=", 0.5, ("gradient penalty", "no constraint"), "explodes exponentially"),
    ("c = 0.01", "c = 0.01 vanishes: log10 norm at layer 1 minus at layer 12", "growth", "<=",
     -1.0, ("gradient penalty", "no constraint"), "vanishes exponentially"),
    ("c = 0.001", "c = 0.001 vanishes: log10 norm at layer 1 minus at layer 12", "growth", "<=",
     -1.0, ("gradient penalty", "no constraint"), "vanishes exponentially"),
    ("gradient penalty", "gradient penalty: spread (max - min) of log10 norm over layers 1-13",
     "spread", "<=", 1.0, ("c = 0.01", "no constraint"),
     "stays flat near 10^0 (within an order of magnitude)"),
]


def run(ctx):
    for method in METHODS:  # all seeds of a critic at once (a seed ensemble)
        ctx.train_seeds(lambda s, method=method: label(method, s), config(method, 0, ctx.quick))
    rows = []
    for seed in ctx.seeds:
        stats, untrained = {}, {}
        for method in METHODS:
            cfg = config(method, seed, ctx.quick)
            for state, trainer in (("trained", ctx.train(label(method, seed), cfg)),
                                   ("untrained", ctx.untrained(cfg))):
                rng = torch.Generator().manual_seed(seed)
                real = trainer.sampler.sample_eval(MEASURE_BATCH, rng)
                fake = trainer.generate(MEASURE_BATCH, rng)
                log10 = np.log10(layer_gradient_norms(trainer.critic, real, fake))
                (stats if state == "trained" else untrained)[method] = statistics(log10)
                for layer, value in enumerate(log10, start=1):
                    rows.append({"seed": seed, "method": method, "state": state,
                                 "layer": layer, "log10_grad_norm": value})
        for method, claim, key, op, threshold, contrasts, paper in CLAIMS:
            controls = {"untrained": untrained[method][key]}
            controls.update({f"trained {m}": stats[m][key] for m in contrasts})
            ctx.claim(claim, stats[method][key], op, threshold, controls=controls, paper=paper,
                      scale=SCALE)
    table = pd.DataFrame(rows)
    ctx.write_table(table)
    ctx.save_figure(plot(table, ctx.seeds))


def plot(table, seeds):
    fig, axes = plt.subplots(1, 2, figsize=(8.6, 3.4), sharey=True)
    colors = ("tab:red", "tab:green", "tab:blue", "tab:purple", "tab:gray")
    names = {"gradient penalty": "Gradient penalty", "no constraint": "No constraint (control)"}
    for ax, state in zip(axes, ("trained", "untrained")):
        for method, color in zip(METHODS, colors):
            values = table[(table.method == method) & (table.state == state)].pivot(
                index="layer", columns="seed", values="log10_grad_norm")
            ax.plot(values.index, values.mean(axis=1), marker="o", ms=3, color=color,
                    label=names.get(method, f"Weight clipping ({method})"))
            if len(seeds) > 1:
                ax.fill_between(values.index, values.min(axis=1), values.max(axis=1),
                                color=color, alpha=0.2, lw=0)
        _axes(ax, state, seeds)
    axes[0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def _axes(ax, state, seeds):
    ax.set_xlim(DEPTH + 1.3, 0.7)  # moving back through the network, as in the paper
    ax.set_xticks([13, 10, 7, 4, 1])
    ax.set_xlabel("Discriminator layer")
    if state == "trained":
        ax.set_ylabel("Gradient norm (log10)")
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    ax.set_title(f"{state.capitalize()} critics, Swiss Roll ({seed_text})", fontsize=9)
