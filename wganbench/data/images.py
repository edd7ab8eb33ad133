"""Image datasets: MNIST and CIFAR-10 through torchvision, and a folder of images.

Scaling follows the authors' code (paper-facts §6): MNIST in [0, 1] (``gan_mnist.py`` reads
``mnist.pkl.gz`` floats; its generator ends in a sigmoid), CIFAR-10 in [-1, 1]
(``gan_cifar.py``: 2 (x / 255 - 0.5); tanh generator), image folders in [-1, 1] after
Resize(64) + CenterCrop(64) (WGAN ``main.py`` on LSUN: Normalize(0.5, 0.5)).

Nothing is downloaded unless the user asks (``--download``). A missing dataset raises one line
saying where wganbench looked and how to get the files.

Training batches come from shuffled passes over the training split (one permutation per
epoch, drawn from the run's data stream), as ``inf_train_gen`` in the authors' scripts; the
position in the pass is saved in checkpoints, so a resumed run continues with the same
batches.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from wganbench.data.base import DATASETS, DataOptions, DatasetSpec, Sampler
from wganbench.errors import UserError, first_line

#: environment variable naming the default --data-root
DATA_ROOT_ENV = "WGANBENCH_DATA"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")
SPLITS = ("train", "test")


def data_root(opts: DataOptions) -> Path:
    return Path(opts.root or os.environ.get(DATA_ROOT_ENV) or "data")


def to_range(images_uint8: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """uint8 pixels 0..255 to floats in ``value_range`` (x / 255 scaled affinely)."""
    lo, hi = value_range
    return images_uint8.float().div_(255.0).mul_(hi - lo).add_(lo)


def to_uint8(images: torch.Tensor, value_range: tuple[float, float]) -> torch.Tensor:
    """Floats in ``value_range`` back to rounded uint8 pixels, clamped (for FID, grids)."""
    lo, hi = value_range
    x = (images.detach().float() - lo) / (hi - lo)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


class ShuffledSampler(Sampler):
    """Shuffled passes over ``len(self)`` items; subclasses turn indices into batches."""

    def __init__(self, n_items: int, shape: tuple[int, ...],
                 value_range: tuple[float, float]) -> None:
        self.n_items = n_items
        self.shape = shape
        self.value_range = value_range
        self.epoch = 0
        self.position = 0
        self.perm: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.n_items

    def load_uint8(self, idx: torch.Tensor) -> torch.Tensor:
        """uint8 images (len(idx), C, H, W)."""
        raise NotImplementedError

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if n > self.n_items:
            raise UserError(f"--batch-size {n}: the training set has only {self.n_items} images")
        if self.perm is None or self.position + n > self.n_items:
            if self.perm is not None:  # the last partial batch is dropped, as in tflib
                self.epoch += 1
            self.perm = torch.randperm(self.n_items, generator=generator,
                                       device=generator.device).cpu()
            self.position = 0
        idx = self.perm[self.position:self.position + n]
        self.position += n
        return to_range(self.load_uint8(idx), self.value_range).to(generator.device)

    def sample_eval(self, n: int, generator: torch.Generator) -> torch.Tensor:
        if n <= self.n_items:
            idx = torch.randperm(self.n_items, generator=generator, device=generator.device)[:n]
        else:
            idx = torch.randint(self.n_items, (n,), generator=generator, device=generator.device)
        return to_range(self.load_uint8(idx.cpu()), self.value_range).to(generator.device)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "position": self.position, "perm": self.perm}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self.perm = state["perm"]


class TensorImageSampler(ShuffledSampler):
    """A uint8 image tensor (N, C, H, W) held in memory (MNIST: 47 MB, CIFAR-10: 154 MB)."""

    def __init__(self, images: torch.Tensor, value_range: tuple[float, float]) -> None:
        super().__init__(len(images), tuple(images.shape[1:]), value_range)
        self.images = images

    def load_uint8(self, idx: torch.Tensor) -> torch.Tensor:
        return self.images[idx]


def _permutation(n: int, seed: int) -> torch.Tensor:
    """The seeded order from which :func:`_subset` and :func:`held_out` take their items."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(10_007 + seed))


def _subset(images: torch.Tensor, opts: DataOptions) -> torch.Tensor:
    """A random subset of ``opts.limit`` items (WGAN-GP Fig 5b's 1000-digit MNIST subset),
    drawn from the run seed so that it is the same on every rank and after a resume."""
    if opts.limit is None or opts.limit >= len(images):
        return images
    return images[_permutation(len(images), opts.seed)[:opts.limit]]


def held_out(name: str, opts: DataOptions, n: int) -> torch.Tensor:
    """``n`` uint8 items of the same split that the run with ``opts`` (a subset: ``opts.limit``)
    never trains on: the next ``n`` of :func:`_subset`'s seeded order. Against them a critic's
    fit to its training items is told apart from an offset between splits (WGAN-GP Fig 5b
    compares with the test split)."""
    if opts.limit is None:
        raise ValueError("held_out: the run trains on every item (no --data-limit)")
    data = _load_split(name, opts)
    if opts.limit + n > len(data):
        raise UserError(f"--data-limit {opts.limit}: {n} held-out items need at most "
                        f"{len(data) - n} of the {len(data)} training items")
    return data[_permutation(len(data), opts.seed)[opts.limit:opts.limit + n]]


def _missing(cls_name: str, folder: Path, root: Path) -> UserError:
    return UserError(
        f"{cls_name} not found in {str(folder)!r} (torchvision layout under --data-root "
        f"{str(root)!r}); pass --download to fetch it, or --data-root DIR (or ${DATA_ROOT_ENV}) "
        f"where torchvision's {cls_name} folder is")


def _mnist(opts: DataOptions) -> torch.Tensor:
    import torchvision

    root = data_root(opts)
    try:
        ds = torchvision.datasets.MNIST(str(root), train=opts.split == "train",
                                        download=opts.download)
    except RuntimeError as e:
        if "not found" in str(e):  # torchvision: "Dataset not found. You can use download=True"
            raise _missing("MNIST", root / "MNIST", root) from None
        raise _damaged("MNIST", root / "MNIST" / "raw", e) from None
    except (AssertionError, ValueError, IndexError, EOFError) as e:  # a damaged idx file
        raise _damaged("MNIST", root / "MNIST" / "raw", e) from None
    return ds.data.unsqueeze(1)


def _damaged(cls_name: str, folder: Path, e: BaseException) -> UserError:
    detail = first_line(e)[:120]
    return UserError(f"{cls_name} files in {str(folder)!r} are damaged ({type(e).__name__}"
                     f"{': ' + detail if detail and detail != type(e).__name__ else ''}); "
                     "delete them and fetch them again (--download)")


CIFAR_FOLDER = "cifar-10-batches-py"


def _cifar10(opts: DataOptions) -> torch.Tensor:
    """CIFAR-10 from torchvision's folder (the python pickles), read directly so that a folder
    the user built (or the tests' tiny one) needs no checksums; torchvision downloads it. The
    pickles go through a restricted unpickler (:mod:`wganbench.data.safe_pickle`)."""
    from wganbench.data.safe_pickle import load_batch

    root = data_root(opts)
    folder = root / CIFAR_FOLDER
    if not folder.is_dir() and opts.download:
        import torchvision

        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] if opts.split == "train" else ["test_batch"]
    if not all((folder / n).is_file() for n in names):
        raise _missing("CIFAR10", folder, root)
    batches = []
    for n in names:
        entry = load_batch(folder / n)  # a restricted unpickler: a crafted file runs nothing
        try:
            batches.append(np.asarray(entry["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        except (ValueError, TypeError) as e:
            raise UserError(f"{str(folder / n)!r}: its 'data' is not N x 3072 pixels "
                            f"({type(e).__name__})") from None
    return torch.from_numpy(np.concatenate(batches))


_LOADERS = {"mnist": _mnist, "cifar10": _cifar10}


def _load_split(name: str, opts: DataOptions) -> torch.Tensor:
    if opts.split not in SPLITS:
        raise UserError(f"--split {opts.split!r}: choose from {', '.join(SPLITS)}")
    try:
        return _LOADERS[name](opts).contiguous()
    except OSError as e:
        raise UserError(f"cannot read {name} under {str(data_root(opts))!r}: {e}") from None


def load_images(name: str, opts: DataOptions) -> torch.Tensor:
    """The uint8 images (N, C, H, W) of a dataset's split, subset applied."""
    return _subset(_load_split(name, opts), opts)


class ImageFolderSampler(ShuffledSampler):
    """Every image file under a folder (recursively; e.g. an LSUN or CelebA export), resized so
    the short side is ``size`` and centre-cropped to size x size, RGB. Decoded per batch."""

    def __init__(self, folder: Path, size: int, value_range: tuple[float, float],
                 opts: DataOptions) -> None:
        if not folder.is_dir():
            raise UserError(f"--data-root {str(folder)!r} is not a folder of images")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise UserError(f"--data-root {str(folder)!r} holds no images "
                            f"({', '.join(IMAGE_SUFFIXES)})")
        if opts.limit is not None and opts.limit < len(files):
            g = torch.Generator().manual_seed(10_007 + opts.seed)
            files = [files[i] for i in torch.randperm(len(files), generator=g)[:opts.limit]]
        super().__init__(len(files), (3, size, size), value_range)
        self.files = files
        self.size = size

    def load_uint8(self, idx: torch.Tensor) -> torch.Tensor:
        from PIL import Image
        from torchvision.transforms import functional as TF

        out = []
        for i in idx.tolist():
            try:
                with Image.open(self.files[i]) as im:
                    im = TF.center_crop(TF.resize(im.convert("RGB"), self.size), self.size)
                    out.append(TF.pil_to_tensor(im))
            except (OSError, ValueError, SyntaxError) as e:  # PIL: UnidentifiedImageError, ...
                raise UserError(f"--data-root: {str(self.files[i])!r} is not a readable image "
                                f"({type(e).__name__}); remove it from the folder, then "
                                "--resume") from None
        return torch.stack(out)


def _tv_sampler(name: str, value_range: tuple[float, float]):
    def make(opts: DataOptions) -> Sampler:
        return TensorImageSampler(load_images(name, opts), value_range)
    return make


MNIST_RANGE = (0.0, 1.0)
SIGNED_RANGE = (-1.0, 1.0)

DATASETS.register("mnist", DatasetSpec(
    name="mnist", make=_tv_sampler("mnist", MNIST_RANGE), shape=(1, 28, 28),
    latent="normal", latent_dim=128, generator="mnist-dcgan", critic="mnist-dcgan",
    width=64, depth=0, exact_w1=False, value_range=MNIST_RANGE,
    source="WGAN-GP gan_mnist.py: 28x28 in [0, 1], z 128 ~ N(0, I), DIM 64 (BATCH 50 there)"))
DATASETS.register("cifar10", DatasetSpec(
    name="cifar10", make=_tv_sampler("cifar10", SIGNED_RANGE), shape=(3, 32, 32),
    latent="normal", latent_dim=128, generator="cifar-dcgan", critic="cifar-dcgan",
    width=128, depth=0, exact_w1=False, value_range=SIGNED_RANGE,
    source="WGAN-GP gan_cifar.py: 32x32 in [-1, 1], z 128 ~ N(0, I), DIM 128"))
DATASETS.register("image-folder", DatasetSpec(
    name="image-folder",
    make=lambda opts: ImageFolderSampler(data_root(opts), 64, SIGNED_RANGE, opts),
    shape=(3, 64, 64), latent="normal", latent_dim=100, generator="dcgan64", critic="dcgan64",
    width=64, depth=0, exact_w1=False, value_range=SIGNED_RANGE,
    source="WGAN main.py on LSUN: Resize(64), CenterCrop(64), [-1, 1]; nz 100, ngf = ndf = 64"))
