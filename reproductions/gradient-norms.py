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
is left out of the loss here, so all four critics are measured on the same quantity.
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
magnitude."""

DEPTH, WIDTH, MEASURE_BATCH = 12, 512, 64
METHODS = {
    "c = 0.1": dict(objective="wgan-clip", clip=0.1),
    "c = 0.01": dict(objective="wgan-clip", clip=0.01),
    "c = 0.001": dict(objective="wgan-clip", clip=0.001),
    "gradient penalty": dict(objective="wgan-gp", betas=(0.5, 0.9)),
}


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
    return f"{METHODS[method]['objective']}_{method.split()[-1]}_seed{seed}"


def run(ctx):
    for method in METHODS:  # all seeds of a critic at once (a seed ensemble)
        ctx.train_seeds(lambda s, method=method: label(method, s), config(method, 0, ctx.quick))
    rows = []
    for seed in ctx.seeds:
        for method in METHODS:
            trainer = ctx.train(label(method, seed), config(method, seed, ctx.quick))
            rng = torch.Generator().manual_seed(seed)
            real = trainer.sampler.sample_eval(MEASURE_BATCH, rng)
            fake = trainer.generate(MEASURE_BATCH, rng)
            norms = layer_gradient_norms(trainer.critic, real, fake)
            log10 = np.log10(norms)
            for layer, value in enumerate(log10, start=1):
                rows.append({"seed": seed, "method": method, "layer": layer, "log10_grad_norm": value})
            growth = log10[0] - log10[DEPTH - 1]  # first hidden layer vs last hidden layer
            if method == "c = 0.1":
                ctx.claim("c = 0.1 grows going back (explodes): log10 norm at layer 1 minus at "
                          "layer 12", growth, ">=", 0.5)
            elif method.startswith("c ="):
                ctx.claim(f"{method} vanishes: log10 norm at layer 1 minus at layer 12", growth, "<=", -1.0)
            else:
                ctx.claim("gradient penalty: spread (max - min) of log10 norm over layers 1-13",
                          log10.max() - log10.min(), "<=", 1.0)
    table = pd.DataFrame(rows)
    ctx.write_table(table)
    ctx.save_figure(plot(table, ctx.seeds))


def plot(table, seeds):
    fig, ax = plt.subplots(figsize=(4.6, 3.4))
    for method, color in zip(METHODS, ("tab:red", "tab:green", "tab:blue", "tab:purple")):
        values = table[table.method == method].pivot(index="layer", columns="seed",
                                                     values="log10_grad_norm")
        ax.plot(values.index, values.mean(axis=1), marker="o", ms=3, color=color,
                label=f"Weight clipping ({method})" if method.startswith("c") else "Gradient penalty")
        if len(seeds) > 1:
            ax.fill_between(values.index, values.min(axis=1), values.max(axis=1), color=color,
                            alpha=0.2, lw=0)
    ax.set_xlim(DEPTH + 1.3, 0.7)  # moving back through the network, as in the paper
    ax.set_xticks([13, 10, 7, 4, 1])
    ax.set_xlabel("Discriminator layer")
    ax.set_ylabel("Gradient norm (log10)")
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    ax.set_title(f"Gradient norms by layer, Swiss Roll ({seed_text})", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    return fig
