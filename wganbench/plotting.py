"""Figures that a person would rather look at than read."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from wganbench.results import atomic_write  # noqa: E402


def save_figure(fig: "plt.Figure", path: str | Path, formats: tuple[str, ...] = ("png",)) -> None:
    """Save ``fig`` atomically as ``path`` with each suffix in ``formats``, then close it."""
    path = Path(path)
    for fmt in formats:
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=150, bbox_inches="tight")
        atomic_write(path.with_suffix("." + fmt), lambda f: f.write(buf.getvalue()))
    plt.close(fig)


def plot_samples(real: torch.Tensor, fake: torch.Tensor, path: str | Path, title: str) -> None:
    """Real vs generated samples: a scatter for 2-D data, overlaid histograms for 1-D data."""
    real = real.detach().cpu().flatten(1).float()
    fake = fake.detach().cpu().flatten(1).float()
    fig, ax = plt.subplots(figsize=(4.5, 4.5) if real.shape[1] >= 2 else (5.5, 3.5))
    if real.shape[1] == 1:
        lo = float(torch.minimum(real.min(), fake.min()))
        hi = float(torch.maximum(real.max(), fake.max()))
        bins = torch.linspace(lo, hi, 61).numpy()
        ax.hist(real[:, 0].numpy(), bins=bins, density=True, alpha=0.5, label="real")
        ax.hist(fake[:, 0].numpy(), bins=bins, density=True, alpha=0.5, label="generated")
        ax.set_xlabel("x")
        ax.set_ylabel("density")
    else:
        ax.scatter(real[:, 0], real[:, 1], s=3, alpha=0.5, label="real", c="tab:orange")
        ax.scatter(fake[:, 0], fake[:, 1], s=3, alpha=0.5, label="generated", c="tab:green")
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="best", fontsize=8)
    save_figure(fig, path)


def image_grid(images: torch.Tensor, value_range: tuple[float, float], nrow: int) -> torch.Tensor:
    """uint8 (H, W, C) grid of ``images`` (B, C, H, W) in ``value_range``, 2 px gaps."""
    from torchvision.utils import make_grid

    from wganbench.data.images import to_uint8

    grid = make_grid(to_uint8(images.cpu(), value_range), nrow=nrow, padding=2, pad_value=255)
    return grid.permute(1, 2, 0)


def plot_image_grid(images: torch.Tensor, value_range: tuple[float, float],
                    path: str | Path, title: str, nrow: int | None = None) -> None:
    """Generated images as a grid (grey for one channel), titled."""
    nrow = nrow or max(1, int(len(images) ** 0.5))
    grid = image_grid(images, value_range, nrow)
    fig, ax = plt.subplots(figsize=(4.5, 4.5 * grid.shape[0] / grid.shape[1] + 0.4))
    ax.imshow(grid.numpy().squeeze(), cmap="gray" if images.shape[1] == 1 else None,
              vmin=0, vmax=255)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    save_figure(fig, path)
