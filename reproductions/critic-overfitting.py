"""WGAN-GP Fig 5b: does the critic overfit a small training set?

Experiment (WGAN-GP §6, Fig 5b). Train a WGAN on a random subset of 1,000 MNIST digits and plot
the negative critic loss, -L = E f(x_real) - E f(G(z)) (minus the weighted gradient penalty for
WGAN-GP, as the authors' ``disc_cost`` includes it), on the training digits and on held-out
digits, over generator iterations; one panel with the gradient penalty, one with weight
clipping. The paper's observation: with the penalty the critic overfits: the training curve
rises above the validation curve and the gap grows, so the negative critic loss on held-out
data is the honest estimate.

Settings: the WGAN-GP authors' MNIST models and optimisers (``gan_mnist.py``: DIM 64, batch
50; WGAN-GP with Adam 1e-4 (0.5, 0.9), lambda 10; WGAN with RMSprop 5e-5, c = 0.01, batch norm
in both nets), the subset drawn from the seed, validation = 1,000 digits of the MNIST test
split. Each point: 1,000 training digits (the whole subset) and 1,000 validation digits, each
against the same 1,000 generated samples. The paper runs 20,000 generator iterations (about
5 h for WGAN-GP on 2 CPU cores); ``--quick`` runs 200.
"""

from __future__ import annotations

import pandas as pd
import torch

from wganbench.config import TrainConfig
from wganbench.data import DataOptions
from wganbench.data.images import load_images, to_range
from wganbench.models import preserved_buffers
from wganbench.objectives.lipschitz import input_gradient_norms, interpolate
from wganbench.plotting import plt

TITLE = "Critic overfitting on 1,000 MNIST digits (WGAN-GP Fig 5b)"
CAPTION = """Negative critic loss on the 1,000 training digits and on 1,000 held-out digits over
generator iterations, with the gradient penalty (left) and with weight clipping (right). The
gap between the training and validation curves is the critic's overfitting."""
IN_ALL = False  # needs MNIST on disk

SUBSET = 1000
ARMS = {
    "WGAN-GP": dict(objective="wgan-gp", betas=(0.5, 0.9)),  # gan_mnist.py 'wgan-gp'
    "WGAN-clip": dict(objective="wgan-clip"),  # gan_mnist.py 'wgan'
}
GAP_GROWTH = 0.0  # the gap at the end exceeds the gap at the first evaluation by more than this
FULL = (20_000, 200)  # generator iterations, evaluation interval (the paper's axis)
QUICK = (200, 20)


def run(ctx):
    steps, every = QUICK if ctx.quick else FULL
    val = to_range(load_images("mnist", DataOptions(root=ctx.data_root, split="test"))[:SUBSET],
                   (0.0, 1.0))
    rows = []
    for seed in ctx.seeds:
        for arm, recipe in ARMS.items():
            cfg = TrainConfig(dataset="mnist", data_root=ctx.data_root, data_limit=SUBSET,
                              seed=seed, batch_size=50, steps=steps, log_every=every,
                              eval_every=steps, eval_samples=SUBSET, checkpoint_every=every,
                              **recipe)
            stages = list(range(every, steps + 1, every))
            for trainer in ctx.train_stages(f"{arm}_seed{seed}", cfg, stages):
                train_real = to_range(trainer.sampler.images, (0.0, 1.0))
                rows.append({"seed": seed, "method": arm, "step": trainer.step,
                             **negative_critic_losses(trainer, train_real, val)})
    table = pd.DataFrame(rows)
    table["gap"] = table.neg_loss_train - table.neg_loss_val
    ctx.write_table(table)
    for seed in ctx.seeds:
        df = table[(table.seed == seed) & (table.method == "WGAN-GP")].sort_values("step")
        tail = df.gap.iloc[-max(1, len(df) // 5):].mean()
        ctx.claim("WGAN-GP: train minus validation negative critic loss, last fifth of "
                  "training (> 0: the critic overfits)", tail, ">", 0.0)
        ctx.claim("WGAN-GP: growth of that gap from the first evaluation to the last fifth",
                  tail - df.gap.iloc[0], ">", GAP_GROWTH)
    ctx.save_figure(plot(table, ctx.seeds))


def negative_critic_losses(trainer, train_real: torch.Tensor, val_real: torch.Tensor) -> dict:
    """-L on the training and validation digits against one shared set of generated digits."""
    rng = trainer._eval_rng()
    n = min(len(train_real), len(val_real))
    fake = trainer.generate(n, rng)
    out = {}
    lam = trainer.cfg.gp_lambda if trainer.cfg.lipschitz == "gp" else 0.0
    for name, real in (("train", train_real[:n]), ("val", val_real[:n])):
        real = real.to(trainer.device)
        with preserved_buffers(trainer.critic):
            with torch.no_grad():
                w = trainer.critic(real).mean() - trainer.critic(fake).mean()
            gp = torch.zeros(())
            if lam:
                norms = input_gradient_norms(trainer.critic, interpolate(real, fake, rng), False)
                gp = lam * ((norms - 1) ** 2).mean()
        out[f"neg_loss_{name}"] = float(w - gp)
    return out


def plot(table: pd.DataFrame, seeds: list[int]):
    fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8))
    for ax, arm in zip(axes, ARMS):
        df = table[table.method == arm].groupby("step")
        for col, label, c in (("neg_loss_train", "train", "tab:blue"),
                              ("neg_loss_val", "validation", "tab:orange")):
            ax.plot(df[col].mean(), color=c, label=label)
            if len(seeds) > 1:
                ax.fill_between(df[col].min().index, df[col].min(), df[col].max(), color=c,
                                alpha=0.2)
        ax.set_title(f"{arm} (1,000-digit training set)", fontsize=9)
        ax.set_xlabel("generator iterations")
        ax.set_ylabel("negative critic loss")
        ax.legend(fontsize=7)
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean and range over {len(seeds)} seeds"
    fig.suptitle(f"Critic overfitting on MNIST ({seed_text})", fontsize=10)
    fig.tight_layout()
    return fig
