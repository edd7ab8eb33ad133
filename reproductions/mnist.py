"""The seed study "WGAN-GP vs GAN on MNIST": how many epochs until the samples are digits?

Experiment (seed article 001). A GAN (binary cross-entropy, the non-saturating generator loss
of the TensorFlow DCGAN tutorial, Adam 1e-4 with TF's default betas (0.9, 0.999), batch 256)
and a WGAN-GP (lambda 10, 5 critic steps per generator step, the study's RMSprop 5e-5) train on
MNIST for 50 epochs. Per epoch we record the mean generator and critic losses, a 4 x 4 grid
from fixed noise (and an animated GIF of the grids) and FID against the 10k test digits. The
study's claim: WGAN-GP gives recognisable digits after 5-7 epochs, the GAN needs most of 50.

In numbers: the first epoch at which each model's FID falls below a threshold. The threshold
is measured, not chosen: the FID of the test digits blurred by a Gaussian of sigma 1 px
against the test digits themselves (blurred digits are still plainly readable), with the same
extractor and sample counts. FID uses wganbench's MNIST classifier features (``mnist-lenet``,
shipped, 99.2% test accuracy); Inception FID is added at default scale when Inception weights
are installed (``wganbench fid-weights``).

Choices where the study differs from the papers' code, all flags of the runner: both arms use
the WGAN-GP authors' MNIST models (``gan_mnist.py``, DIM 64; no batch norm in either, as in its
'dcgan' and 'wgan-gp' modes) rather than the TF tutorial's, so the comparison changes only
the objective. An epoch is N / 256 generator iterations, one per real batch of the study's
loop; WGAN-GP's critic draws a fresh batch for each of its 5 steps (WGAN-GP Alg. 1), so it sees
the data 5 times per epoch (the study's code also updated the generator at every critic step).

Scale: 50 epochs of 60k digits take about 3 h (GAN) and 16 h (WGAN-GP) on 2 CPU cores, minutes
on a GPU. ``--quick`` trains on a 2,560-digit subset for 5 epochs (about 6 min on 2 cores): it
exercises everything and writes every output, but the models are far from digits and its
claims are not expected to hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
import torch

from wganbench.config import TrainConfig
from wganbench.data.images import to_uint8
from wganbench.models import preserved_buffers
from wganbench.plotting import image_grid, plt

TITLE = "GAN vs WGAN-GP on MNIST: epochs to recognisable digits (seed study)"
CAPTION = """Per epoch on MNIST: mean generator and critic losses (left), FID against the test
digits with the threshold of readable (blurred) real digits (middle), and the fixed-noise
samples of both models at the last epoch (right). The epoch at which each model first falls
below the threshold measures the study's claim that WGAN-GP gives digits within 5-7 epochs
while the GAN needs most of 50."""
IN_ALL = False  # needs MNIST on disk, and hours at default scale

ARMS = {
    "GAN": dict(objective="gan-ns", optimizer="adam", lr=1e-4, betas=(0.9, 0.999)),
    "WGAN-GP": dict(objective="wgan-gp", optimizer="rmsprop", lr=5e-5, gp_lambda=10.0,
                    n_critic=5),
}
BATCH = 256
WGAN_GP_EPOCH_LIMIT = 7  # "after 5 to 7 epochs"
BLUR_SIGMA = 1.0
GRID_NOISE_SEED = 1234


@dataclass
class Settings:
    epochs: int
    data_limit: int | None  # training digits (None: all 60k)
    n_fid: int  # generated and real samples per FID
    inception: bool  # also Inception FID when weights are installed


FULL = Settings(epochs=50, data_limit=None, n_fid=10_000, inception=True)
QUICK = Settings(epochs=5, data_limit=2_560, n_fid=2_000, inception=False)


def run(ctx):
    from wganbench.metrics.fidelity import MetricOptions, compute_metrics, real_images

    s = QUICK if ctx.quick else FULL
    real = real_images("mnist", "test", s.n_fid, ctx.data_root)
    domain = MetricOptions(metrics=("fid", "kid", "is"), n_fake=s.n_fid, n_real=s.n_fid,
                           extractor="mnist-lenet", kid_subset_size=min(1000, s.n_fid))
    threshold = blurred_reference_fid(real, domain)
    inception = inception_options(s) if s.inception else None
    rows, grids = [], {}
    for seed in ctx.seeds:
        for arm, recipe in ARMS.items():
            n_train = s.data_limit or 60_000
            per_epoch = n_train // BATCH
            cfg = TrainConfig(dataset="mnist", data_root=ctx.data_root, seed=seed,
                              batch_size=BATCH, data_limit=s.data_limit,
                              steps=s.epochs * per_epoch, log_every=per_epoch,
                              eval_every=per_epoch, eval_samples=BATCH,
                              checkpoint_every=per_epoch, **recipe)
            stages = [e * per_epoch for e in range(1, s.epochs + 1)]
            noise = torch.randn(16, 128, generator=torch.Generator().manual_seed(GRID_NOISE_SEED))
            for epoch, trainer in enumerate(ctx.train_stages(f"{arm}_seed{seed}", cfg, stages), 1):
                row = {"seed": seed, "model": arm, "epoch": epoch, "step": trainer.step,
                       **epoch_losses(trainer, epoch * per_epoch)}
                m = compute_metrics(trainer.generator, dataset="mnist", latent_dim=128,
                                    value_range=(0.0, 1.0), opts=domain, real=real,
                                    device=trainer.device)
                row.update(fid=m["fid"], kid=m["kid_mean"], inception_score_domain=m["is_mean"])
                if inception is not None:
                    mi = compute_metrics(trainer.generator, dataset="mnist", latent_dim=128,
                                         value_range=(0.0, 1.0), opts=inception,
                                         device=trainer.device)
                    row["fid_inception"] = mi["fid"]
                rows.append(row)
                grids.setdefault((seed, arm), []).append(fixed_grid(trainer, noise))
    table = pd.DataFrame(rows).assign(fid_threshold=threshold)
    ctx.write_table(table)
    for seed in ctx.seeds:
        first = {arm: first_epoch_below(table[(table.seed == seed) & (table.model == arm)],
                                        threshold, s.epochs) for arm in ARMS}
        ctx.claim("WGAN-GP: first epoch with FID below the blurred-digit threshold "
                  "(study: 5-7; inf = not within the budget)",
                  first["WGAN-GP"], "<=", WGAN_GP_EPOCH_LIMIT)
        ctx.claim("GAN minus WGAN-GP: epochs more the GAN needs to reach the threshold "
                  "(study: most of 50; inf = only WGAN-GP reached it)",
                  first["GAN"] - first["WGAN-GP"], ">", 0)
    for (seed, arm), frames in grids.items():
        write_gif(ctx.dir / f"samples_{arm.lower()}_seed{seed}.gif", frames, arm)
        for epoch, frame in enumerate(frames, 1):
            save_frame(ctx.dir / "grids" / f"{arm.lower()}_seed{seed}_epoch{epoch:02d}.png", frame)
    ctx.save_figure(plot(table, grids, threshold, ctx.seeds))


def epoch_losses(trainer, step: int) -> dict[str, float]:
    """Mean generator and critic losses over the epoch ending at ``step`` (metrics.csv)."""
    metrics = pd.read_csv(trainer.out / "metrics.csv")
    row = metrics[metrics.step == step].iloc[-1]
    return {"gen_loss_mean": row.gen_loss_mean, "critic_loss_mean": row.critic_loss_mean}


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
    return MetricOptions(metrics=("fid",), n_fake=s.n_fid, n_real=s.n_fid, extractor="inception")


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
    for epoch, frame in enumerate(frames, 1):
        im = Image.fromarray(frame.numpy()).resize((frame.shape[1] * 4, frame.shape[0] * 4),
                                                    Image.NEAREST)
        canvas = Image.new("RGB", (im.width, im.height + 24), "white")
        canvas.paste(im, (0, 24))
        ImageDraw.Draw(canvas).text((6, 5), f"{label}, epoch {epoch}", fill="black")
        images.append(canvas)
    atomic_write(path, lambda f: images[0].save(f, format="GIF", save_all=True,
                                                append_images=images[1:], duration=400, loop=0))


def plot(table: pd.DataFrame, grids: dict, threshold: float, seeds: list[int]):
    fig = plt.figure(figsize=(10.0, 3.0))
    ax_loss = fig.add_subplot(1, 4, 1)
    ax_fid = fig.add_subplot(1, 4, 2)
    colours = {"GAN": "tab:red", "WGAN-GP": "tab:blue"}
    for arm, c in colours.items():
        df = table[table.model == arm].groupby("epoch")
        ax_loss.plot(df.gen_loss_mean.mean(), color=c, label=f"{arm} generator")
        ax_loss.plot(df.critic_loss_mean.mean(), color=c, ls="--", label=f"{arm} critic")
        ax_fid.plot(df.fid.mean(), color=c, marker="o", ms=3, label=arm)
        if len(seeds) > 1:
            ax_fid.fill_between(df.fid.min().index, df.fid.min(), df.fid.max(), color=c, alpha=0.2)
    ax_fid.axhline(threshold, color="k", lw=0.8, ls=":", label="blurred real digits")
    ax_fid.set_yscale("log")
    for ax, ylabel in ((ax_loss, "mean loss"), (ax_fid, "FID (MNIST classifier)")):
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=6)
    for i, arm in enumerate(colours):
        ax = fig.add_subplot(1, 4, 3 + i)
        frames = grids[(seeds[0], arm)]
        ax.imshow(frames[-1].numpy())
        ax.set_title(f"{arm}, epoch {len(frames)}", fontsize=9)
        ax.set_axis_off()
    seed_text = f"seed {seeds[0]}" if len(seeds) == 1 else f"mean (range) over {len(seeds)} seeds"
    fig.suptitle(f"GAN vs WGAN-GP on MNIST ({seed_text}; samples: seed {seeds[0]})", fontsize=10)
    fig.tight_layout()
    return fig
