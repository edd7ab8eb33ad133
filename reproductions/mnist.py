"""The seed study "WGAN-GP vs GAN on MNIST": how many epochs until the samples are digits?

Experiment (seed article 001). A GAN (binary cross-entropy, the non-saturating generator loss
of the TensorFlow DCGAN tutorial, Adam 1e-4 with TF's default betas (0.9, 0.999), batch 256)
and a WGAN-GP (lambda 10, 5 critic steps per generator step, the study's RMSprop 5e-5) train on
all 60,000 MNIST digits. Per epoch we record the mean generator and critic losses (the study's
plot), a 4 x 4 grid from fixed noise (and an animated GIF of the grids), FID against the 10k
test digits, the critic updates and the training wall-clock so far (epochs compare unequal
compute: a WGAN-GP epoch makes 5 critic updates per generator update, a GAN epoch 1). The
study's claim: WGAN-GP gives recognisable digits after 5-7 epochs, the GAN needs most of 50.

In numbers: the first epoch at which each model's FID falls below a threshold. The threshold
is measured, not chosen: the FID of the test digits blurred by a Gaussian of sigma 1 px
against the test digits themselves (blurred digits are still plainly readable), with the same
extractor and sample counts. FID uses wganbench's MNIST classifier features (``mnist-lenet``,
shipped, 99.2% test accuracy); where Inception weights are installed (``wganbench
fid-weights``), the Inception FID of 1,000 samples is added at each arm's last epoch.

Choices where the study differs from the papers' code, all flags of the runner: both arms use
the WGAN-GP authors' MNIST models (``gan_mnist.py``; no batch norm in either, as in its
'dcgan' and 'wgan-gp' modes) rather than the TF tutorial's, so the comparison changes only
the objective. An epoch is N / 256 generator iterations, one per real batch of the study's
loop; WGAN-GP's critic draws a fresh batch for each of its 5 steps (WGAN-GP Alg. 1), so it sees
the data 5 times per epoch (the study's code also updated the generator at every critic step).

Scale, fixed before running. The study's 50 epochs at ``gan_mnist.py``'s DIM 64 in float32 take
about 3 h (GAN) and 16 h (WGAN-GP) per seed on 2 CPU cores (``--paper-scale``; minutes on a
GPU). The default keeps all 60,000 digits and batch 256 and uses two levers, declared here:
DIM 32 (the study's networks are not ``gan_mnist.py``'s anyway; 32 halves every conv's
channels) and bfloat16 autocast (``--precision bf16``, tested against float32; about 1.6x
faster here). Each arm trains until its FID first falls below the threshold, or to its
epoch budget: 10 epochs for WGAN-GP (the study's 5-7, and room to be late), 15 for the GAN
(it may not cross; the claims then say "not within 15 epochs"). 2 seeds (``DEFAULT_SEEDS``):
more do not fit the budget of about an hour. ``--quick`` trains DIM 16 on a 2,560-digit
subset for 2 epochs: it exercises everything and writes every output, but the models are far
from digits and its claims are not expected to hold.

Claims, per seed: (i) WGAN-GP's first epoch below the threshold is at most 7; (ii) the GAN
needs more epochs than WGAN-GP; (iii) the GAN needs more training wall-clock than WGAN-GP (the
study's practical point, which epochs alone do not make). Control of each: the untrained
generators (epoch 0: their FID is far above the threshold, so they "cross" at no epoch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch

from wganbench.config import TrainConfig
from wganbench.models import preserved_buffers
from wganbench.plotting import image_grid, plt

TITLE = "GAN vs WGAN-GP on MNIST: epochs to recognisable digits (seed study)"
CAPTION = """Per epoch on MNIST (mean over seeds): mean generator and critic losses; FID against
the test digits against epochs, critic updates and training wall-clock, with the threshold of
readable (blurred) real digits; the fixed-noise samples of both models at their last epoch
(first seed). Each arm stops at its first epoch below the threshold or at its epoch budget.
The claims table gives the epochs and seconds each model needed."""
IN_ALL = False  # needs MNIST on disk, and an hour at default scale
PAPER_SCALE = True  # --paper-scale: the study's 50 epochs, DIM 64, float32

ARMS = {
    "GAN": dict(objective="gan-ns", optimizer="adam", lr=1e-4, betas=(0.9, 0.999)),
    "WGAN-GP": dict(objective="wgan-gp", optimizer="rmsprop", lr=5e-5, gp_lambda=10.0,
                    n_critic=5),
}
BATCH = 256
WGAN_GP_EPOCH_LIMIT = 7  # "after 5 to 7 epochs"
BLUR_SIGMA = 1.0
GRID_NOISE_SEED = 1234
DEFAULT_SEEDS = 2
N_INCEPTION = 1000


@dataclass
class Settings:
    epochs: dict  # arm -> most epochs trained (an arm stops earlier at its first crossing)
    data_limit: int | None  # training digits (None: all 60k)
    n_fid: int  # generated and real samples per FID
    inception: bool  # also Inception FID (last epoch) when weights are installed
    width: int  # DIM of gan_mnist.py's networks
    precision: str  # "float32" or "bf16"
    stop_at_threshold: bool = True  # an arm stops at its first epoch below the threshold


FULL = Settings(epochs={"GAN": 15, "WGAN-GP": 10}, data_limit=None, n_fid=10_000,
                inception=True, width=32, precision="bf16")
PAPER = Settings(epochs={"GAN": 50, "WGAN-GP": 50}, data_limit=None, n_fid=10_000,
                 inception=True, width=64, precision="float32", stop_at_threshold=False)
QUICK = Settings(epochs={"GAN": 2, "WGAN-GP": 2}, data_limit=2_560, n_fid=2_000,
                 inception=False, width=16, precision="float32")


def run(ctx):
    from wganbench.metrics.fidelity import MetricOptions, compute_metrics, real_images

    s = ctx.scale(FULL, QUICK, PAPER)
    real = real_images("mnist", "test", s.n_fid, ctx.data_root)
    domain = MetricOptions(metrics=("fid", "kid", "is"), n_fake=s.n_fid, n_real=s.n_fid,
                           extractor="mnist-lenet", kid_subset_size=min(1000, s.n_fid))
    threshold = blurred_reference_fid(real, domain)
    inception = inception_options(s) if s.inception else None
    rows, grids = [], {}
    noise = torch.randn(16, 128, generator=torch.Generator().manual_seed(GRID_NOISE_SEED))

    def fid_row(trainer, seed, arm, epoch, metrics_row):
        m = compute_metrics(trainer.generator, dataset="mnist", latent_dim=128,
                            value_range=(0.0, 1.0), opts=domain, real=real, device=trainer.device)
        return {"seed": seed, "model": arm, "epoch": epoch, "step": trainer.step,
                "critic_updates": int(metrics_row.get("critic_steps", 0)),
                "wall_time": float(metrics_row.get("wall_time", 0.0)),
                "gen_loss_mean": metrics_row.get("gen_loss_mean", math.nan),
                "critic_loss_mean": metrics_row.get("critic_loss_mean", math.nan),
                "fid": m["fid"], "kid": m["kid_mean"], "inception_score_domain": m["is_mean"]}

    for seed in ctx.seeds:
        for arm, recipe in ARMS.items():
            per_epoch = (s.data_limit or 60_000) // BATCH
            cfg = TrainConfig(dataset="mnist", data_root=ctx.data_root, seed=seed,
                              batch_size=BATCH, data_limit=s.data_limit, width=s.width,
                              precision=s.precision, steps=s.epochs[arm] * per_epoch,
                              log_every=per_epoch, eval_every=per_epoch, eval_samples=BATCH,
                              checkpoint_every=per_epoch, **recipe)
            # epoch 0: the untrained generator, every claim's control
            rows.append(fid_row(ctx.untrained(cfg), seed, arm, 0, {}))
            grids.setdefault((seed, arm), []).append(fixed_grid(ctx.untrained(cfg), noise))
            stages = [e * per_epoch for e in range(1, s.epochs[arm] + 1)]
            trainer = None
            for epoch, trainer in enumerate(ctx.train_stages(f"{arm}_seed{seed}", cfg, stages), 1):
                rows.append(fid_row(trainer, seed, arm, epoch,
                                    epoch_metrics(trainer, epoch * per_epoch)))
                grids[(seed, arm)].append(fixed_grid(trainer, noise))
                if s.stop_at_threshold and rows[-1]["fid"] <= threshold:
                    break  # crossed: the arm's question is answered
            if inception is not None and trainer is not None:
                rows[-1]["fid_inception"] = compute_metrics(
                    trainer.generator, dataset="mnist", latent_dim=128, value_range=(0.0, 1.0),
                    opts=inception, device=trainer.device)["fid"]
    table = pd.DataFrame(rows).assign(fid_threshold=threshold)
    ctx.write_table(table)
    claim_crossings(ctx, table, threshold, s)
    for (seed, arm), frames in grids.items():
        write_gif(ctx.dir / f"samples_{arm.lower()}_seed{seed}.gif", frames, arm)
        for epoch, frame in enumerate(frames):
            save_frame(ctx.dir / "grids" / f"{arm.lower()}_seed{seed}_epoch{epoch:02d}.png", frame)
    ctx.save_figure(plot(table, grids, threshold, ctx.seeds))


def crossing(df: pd.DataFrame, threshold: float, untrained: bool) -> tuple[float, float]:
    """(first epoch, training seconds) at which the FID is at or below ``threshold``; inf when
    no epoch gets there. ``untrained``: the same statistic of the untrained generator alone
    (epoch 0, no training): 0 if it is already below, else inf."""
    rows = df[df.epoch == 0] if untrained else df[df.epoch > 0]
    below = rows[rows.fid <= threshold]
    if below.empty:
        return math.inf, math.inf
    first = below.sort_values("epoch").iloc[0]
    return float(first.epoch), float(first.wall_time)


def claim_crossings(ctx, table: pd.DataFrame, threshold: float, s: Settings) -> None:
    scale = (f"all 60,000 digits, DIM {s.width}, {s.precision}, at most "
             f"{s.epochs['WGAN-GP']} (WGAN-GP) / {s.epochs['GAN']} (GAN) epochs; the study: "
             "50 epochs")
    for seed in ctx.seeds:
        trained, untrained = {}, {}
        for arm in ARMS:
            df = table[(table.seed == seed) & (table.model == arm)]
            trained[arm] = crossing(df, threshold, untrained=False)
            untrained[arm] = crossing(df, threshold, untrained=True)

        def difference(values, i):
            a, b = values["GAN"][i], values["WGAN-GP"][i]
            return math.nan if math.isinf(a) and math.isinf(b) else a - b

        ctx.claim("WGAN-GP: first epoch with FID below the blurred-digit threshold "
                  f"(inf: not within {s.epochs['WGAN-GP']} epochs)", trained["WGAN-GP"][0], "<=",
                  WGAN_GP_EPOCH_LIMIT, controls={"untrained": untrained["WGAN-GP"][0]},
                  paper="recognisable digits after 5-7 epochs", scale=scale)
        ctx.claim("GAN minus WGAN-GP: epochs more the GAN needs to reach the threshold "
                  "(inf: only WGAN-GP reached it)", difference(trained, 0), ">", 0,
                  controls={"untrained": difference(untrained, 0)},
                  paper="the GAN needs most of 50 epochs", scale=scale)
        ctx.claim("GAN minus WGAN-GP: training seconds more the GAN needs to reach the "
                  "threshold (inf: only WGAN-GP reached it)", difference(trained, 1), ">", 0,
                  controls={"untrained": difference(untrained, 1)},
                  paper="(implied) WGAN-GP gives digits sooner", scale=scale)


def epoch_metrics(trainer, step: int) -> dict:
    """The metrics.csv row at ``step``: mean generator and critic losses over the epoch ending
    there, critic updates and training wall-clock so far."""
    metrics = pd.read_csv(trainer.out / "metrics.csv")
    return metrics[metrics.step == step].iloc[-1].to_dict()


def blurred_reference_fid(real: torch.Tensor, opts) -> float:
    """FID of the test digits blurred (Gaussian, sigma 1 px) against the test digits."""
    from torchvision.transforms.functional import gaussian_blur

    from wganbench.metrics.fidelity import compute_metrics

    blurred = gaussian_blur(real.float(), kernel_size=5, sigma=BLUR_SIGMA).round().to(torch.uint8)

    class Replay(torch.nn.Module):  # serves the blurred digits in order, as a "generator"
        def __init__(self) -> None:
            super().__init__()
            self.i = 0

        def forward(self, z):
            out = blurred[self.i:self.i + len(z)].float() / 255.0
            self.i += len(z)
            return out

    ref = opts.__class__(**{**opts.__dict__, "metrics": ("fid",)})
    return compute_metrics(Replay(), dataset="mnist", latent_dim=128, value_range=(0.0, 1.0),
                           opts=ref, real=real)["fid"]


def inception_options(s: Settings):
    from wganbench.errors import UserError
    from wganbench.metrics.fidelity import MetricOptions
    from wganbench.metrics.inception_weights import installed_weights

    try:
        installed_weights()
    except UserError:
        return None
    return MetricOptions(metrics=("fid",), n_fake=N_INCEPTION, n_real=N_INCEPTION,
                         extractor="inception")


def first_epoch_below(df: pd.DataFrame, threshold: float, epochs: int) -> float:
    """The first epoch with FID <= threshold; inf when none of the ``epochs`` got there."""
    below = df[df.fid <= threshold]
    return float(below.epoch.min()) if len(below) else math.inf


def fixed_grid(trainer, noise: torch.Tensor) -> torch.Tensor:
    with torch.no_grad(), preserved_buffers(trainer.generator):
        images = trainer.generator(noise.to(trainer.device)).cpu()
    return image_grid(images, (0.0, 1.0), nrow=4)


def save_frame(path, frame: torch.Tensor) -> None:
    from PIL import Image

    from wganbench.results import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: Image.fromarray(frame.numpy()).save(f, format="PNG"))


def write_gif(path, frames: list[torch.Tensor], label: str) -> None:
    """Animated GIF of the per-epoch grids, 4x enlarged, epoch written on each frame."""
    from PIL import Image, ImageDraw

    from wganbench.results import atomic_write

    images = []
    for epoch, frame in enumerate(frames):  # frame 0: the untrained generator
        im = Image.fromarray(frame.numpy()).resize((frame.shape[1] * 4, frame.shape[0] * 4),
                                                    Image.NEAREST)
        canvas = Image.new("RGB", (im.width, im.height + 24), "white")
        canvas.paste(im, (0, 24))
        ImageDraw.Draw(canvas).text((6, 5), f"{label}, epoch {epoch}", fill="black")
        images.append(canvas)
    atomic_write(path, lambda f: images[0].save(f, format="GIF", save_all=True,
                                                append_images=images[1:], duration=400, loop=0))


def plot(table: pd.DataFrame, grids: dict, threshold: float, seeds: list[int]):
    fig = plt.figure(figsize=(12.0, 5.6))
    colours = {"GAN": "tab:red", "WGAN-GP": "tab:blue"}
    ax_loss = fig.add_subplot(2, 4, 1)
    fid_axes = [fig.add_subplot(2, 4, k) for k in (2, 3, 4)]
    for arm, c in colours.items():
        df = table[table.model == arm]
        trained = df[df.epoch > 0].groupby("epoch")
        ax_loss.plot(trained.gen_loss_mean.mean(), color=c, label=f"{arm} generator")
        ax_loss.plot(trained.critic_loss_mean.mean(), color=c, ls="--", label=f"{arm} critic")
        for ax, x in zip(fid_axes, ("epoch", "critic_updates", "wall_time")):
            for seed in seeds:  # every seed: arms stop at different epochs per seed
                one = df[df.seed == seed].sort_values("epoch")
                ax.plot(one[x], one.fid, color=c, marker="o", ms=2.5, lw=1,
                        label=arm if seed == seeds[0] else None)
    for ax, x in zip(fid_axes, ("epoch (0: untrained)", "critic updates",
                                "training wall-clock (s)")):
        ax.axhline(threshold, color="k", lw=0.8, ls=":", label="blurred real digits")
        ax.set_yscale("log")
        ax.set_xlabel(x)
        ax.set_ylabel("FID (MNIST classifier)")
    fid_axes[0].legend(fontsize=6)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("mean loss over the epoch")
    ax_loss.legend(fontsize=6)
    for i, arm in enumerate(colours):
        ax = fig.add_subplot(2, 4, 5 + i)
        frames = grids[(seeds[0], arm)]
        ax.imshow(frames[-1].numpy())
        ax.set_title(f"{arm}, epoch {len(frames) - 1} (seed {seeds[0]})", fontsize=9)
        ax.set_axis_off()
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds, each drawn"
    fig.suptitle(f"GAN vs WGAN-GP on MNIST ({seed_text})", fontsize=10)
    fig.tight_layout()
    return fig
