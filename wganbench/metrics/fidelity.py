"""FID, KID and IS of a generator against a dataset split, computed by torch-fidelity.

Protocol, stated in every row: ``n_fake`` generated samples (noise from torch-fidelity's
``RandomState(seed)``, so a fixed generator gives a fixed number) against the first ``n_real``
images of a seed-0 permutation of the split; the feature extractor, its weights' sha256 and the
resize mode; the generator checkpoint's step. No best-checkpoint picking: callers choose the
step before looking.

Extractors:

* ``inception`` — torch-fidelity's ``inception-v3-compat`` (the TF 2015-12-05 graph, TF1
  bilinear resize to 299, (x - 128) / 128). Needs weights on disk, installed once with
  ``wganbench fid-weights --from PATH`` or named by ``$WGANBENCH_INCEPTION_WEIGHTS``; nothing
  is downloaded. Weights converted from the stripped ``default_1.pt`` have no classifier, so
  IS is reported as unavailable (empty), never computed.
* ``mnist-lenet`` — the domain classifier shipped with wganbench
  (:mod:`wganbench.metrics.mnist_classifier`): 128-d features for FID / KID, its 10 logits for
  IS. Runs on a CPU in seconds; numbers are comparable only with the same weights (sha256 in
  the row).

Reference features are cached by torch-fidelity under a name holding dataset, split, n_real,
resize mode, extractor, weights hash and a hash of the real images themselves, so changing any
of them never reuses stale features.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch
from torch.utils.data import Dataset

from wganbench.errors import UserError, first_line
from wganbench.registry import Registry

METRICS = ("fid", "kid", "is")
CACHE_ENV = "WGANBENCH_CACHE"


def cache_root() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "wganbench") / "fidelity"


# ---- extractors ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Extractor:
    name: str
    fidelity_name: str  # the name registered with torch-fidelity
    resize: str  # what the extractor does to image size, part of the cache key
    rgb: bool  # needs three channels (grey images are repeated)
    weights: Callable[[], Path]  # raises UserError with instructions when absent
    has_classifier: Callable[[Path], bool]


EXTRACTORS: Registry[Extractor] = Registry("feature extractor")
_REGISTERED_WITH_FIDELITY = False


def _register_with_fidelity() -> None:
    """Register wganbench's domain extractor with torch-fidelity (once per process)."""
    global _REGISTERED_WITH_FIDELITY
    if _REGISTERED_WITH_FIDELITY:
        return
    from torch_fidelity import register_feature_extractor
    from torch_fidelity.feature_extractor_base import FeatureExtractorBase
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    from wganbench.metrics.mnist_classifier import WEIGHTS, load_classifier

    class FidelityMnistLeNet(FeatureExtractorBase):
        def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
            super().__init__(name, features_list)
            self.net = load_classifier(feature_extractor_weights_path or WEIGHTS)

        @staticmethod
        def get_provided_features_list():
            return "128", "logits_unbiased"

        @staticmethod
        def get_default_feature_layer_for_metric(metric):
            return {"fid": "128", "kid": "128", "prc": "128", "isc": "logits_unbiased"}[metric]

        @staticmethod
        def can_be_compiled():
            return False

        @staticmethod
        def get_dummy_input_for_compile():
            return torch.zeros(1, 1, 28, 28, dtype=torch.uint8)

        def forward(self, x):
            feats, logits = self.net.features(x)
            out = {"128": feats, "logits_unbiased": logits}
            return tuple(out[f] for f in self.features_list)

    if "wganbench-mnist-lenet" not in FEATURE_EXTRACTORS_REGISTRY:
        register_feature_extractor("wganbench-mnist-lenet", FidelityMnistLeNet)
    _REGISTERED_WITH_FIDELITY = True


def _lenet_weights() -> Path:
    from wganbench.metrics.mnist_classifier import WEIGHTS

    if not WEIGHTS.exists():
        raise UserError(f"the MNIST classifier's weights are missing ({WEIGHTS}); train them with "
                        "'python -m wganbench.metrics.mnist_classifier --data-root DIR'")
    return WEIGHTS


def _inception_weights() -> Path:
    from wganbench.metrics.inception_weights import installed_weights

    return installed_weights()


def _inception_has_classifier(path: Path) -> bool:
    from wganbench.metrics.inception_weights import weights_card

    return bool(weights_card(path).get("has_classifier", True))


EXTRACTORS.register("mnist-lenet", Extractor(
    "mnist-lenet", "wganbench-mnist-lenet", "none (28x28 grey)", rgb=False,
    weights=_lenet_weights, has_classifier=lambda p: True))
EXTRACTORS.register("inception", Extractor(
    "inception", "inception-v3-compat", "tf1-bilinear-299", rgb=True,
    weights=_inception_weights, has_classifier=_inception_has_classifier))


def default_extractor(dataset: str) -> str:
    return "mnist-lenet" if dataset == "mnist" else "inception"


# ---- inputs --------------------------------------------------------------------------------

class UInt8Images(Dataset):
    """uint8 images (N, C, H, W) as torch-fidelity wants them, grey repeated to RGB if asked."""

    def __init__(self, images: torch.Tensor, rgb: bool) -> None:
        self.images, self.rgb = images, rgb

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        x = self.images[i]
        return x.expand(3, -1, -1) if self.rgb and x.shape[0] == 1 else x


def _generator_input(generator: torch.nn.Module, latent_dim: int,
                     value_range: tuple[float, float], rgb: bool, device: torch.device):
    from torch_fidelity.generative_model_base import GenerativeModelBase

    from wganbench.data.images import to_uint8
    from wganbench.models import preserved_buffers

    class GeneratorInput(GenerativeModelBase):
        """Our generator as torch-fidelity's input: N(0, I) noise in, uint8 images out. The
        generator stays in its training mode (tflib batch norm always uses batch statistics)
        and its buffers are left as they were."""

        def __init__(self) -> None:
            super().__init__()
            self.g = generator
            #: whether some generated pixel was NaN or infinite (to_uint8 would hide it)
            self.nonfinite = False

        @property
        def z_size(self):
            return latent_dim

        @property
        def z_type(self):
            return "normal"

        @property
        def num_classes(self):
            return 0

        def forward(self, z):
            with torch.no_grad(), preserved_buffers(self.g):
                out = self.g(z.to(device))
                if not bool(torch.isfinite(out).all()):
                    self.nonfinite = True
                x = to_uint8(out, value_range)
            return x.expand(-1, 3, -1, -1) if rgb and x.shape[1] == 1 else x

    return GeneratorInput()


def real_images(dataset: str, split: str, n_real: int, data_root: str | None,
                download: bool = False) -> torch.Tensor:
    """The first ``n_real`` images of a seed-0 permutation of ``split`` (uint8)."""
    from wganbench.data import DataOptions, get_dataset
    from wganbench.data.images import ImageFolderSampler, data_root as root_of, load_images

    opts = DataOptions(root=data_root, download=download, split=split)
    if dataset == "image-folder":  # one folder, no splits: the images the run trained on
        spec = get_dataset(dataset)
        folder = ImageFolderSampler(root_of(opts), spec.shape[-1], spec.value_range, opts)
        if n_real > len(folder):
            raise UserError(f"--n-real {n_real}: the image folder has {len(folder)} images")
        perm = torch.randperm(len(folder), generator=torch.Generator().manual_seed(0))
        return folder.load_uint8(perm[:n_real])
    images = load_images(dataset, opts)
    if n_real > len(images):
        raise UserError(f"--n-real {n_real}: the {dataset} {split} split has {len(images)} images")
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    return images[perm[:n_real]]


# ---- the computation -----------------------------------------------------------------------

@dataclass
class MetricOptions:
    """How to compute sample-quality metrics (the CLI of ``wganbench fid`` uses these names)."""

    metrics: tuple[str, ...] = METRICS
    n_fake: int = 10_000
    n_real: int = 10_000
    split: str = "test"
    extractor: str | None = None  # default: mnist-lenet on MNIST, inception otherwise
    seed: int = 0
    kid_subset_size: int = 1000
    batch_size: int = 200
    data_root: str | None = None
    download: bool = False

    def check(self) -> None:
        for m in self.metrics:
            if m not in METRICS:
                raise UserError(f"--metrics {m!r}: choose from {', '.join(METRICS)}")
        for name in ("n_fake", "n_real", "batch_size", "kid_subset_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise UserError(f"--{name.replace('_', '-')} {v!r}: must be a positive integer")
        if "kid" in self.metrics and min(self.n_fake, self.n_real) < self.kid_subset_size:
            raise UserError(
                f"--kid-subset-size {self.kid_subset_size}: KID draws subsets of that size from "
                f"each side, but --n-fake is {self.n_fake} and --n-real {self.n_real}; lower "
                "--kid-subset-size or raise the sample counts")
        if "is" in self.metrics and self.n_fake < 10:
            raise UserError(f"--n-fake {self.n_fake}: IS averages over 10 splits; give >= 10")


def compute_metrics(generator: torch.nn.Module, *, dataset: str, latent_dim: int,
                    value_range: tuple[float, float], opts: MetricOptions,
                    device: torch.device | str = "cpu",
                    real: torch.Tensor | None = None) -> dict[str, Any]:
    """FID / KID / IS of ``generator`` against ``dataset``'s split. Returns one row (dict) with
    the protocol; metrics not asked for, or unavailable, are NaN with the reason in ``note``."""
    import torch_fidelity

    opts.check()
    extractor = EXTRACTORS.get(opts.extractor or default_extractor(dataset))
    weights = extractor.weights()
    from wganbench.metrics.mnist_classifier import file_sha256

    sha = _cached_sha256(weights, file_sha256)
    _register_with_fidelity()
    device = torch.device(device)
    want = set(opts.metrics)
    note = ""
    if "is" in want and not extractor.has_classifier(weights):
        want.discard("is")
        note = ("IS unavailable: these Inception weights have no 1008-way classifier (converted "
                "from a stripped file); install NVIDIA's full TorchScript or torch-fidelity's "
                "weights for IS")
    if real is None:
        real = real_images(dataset, opts.split, opts.n_real, opts.data_root, opts.download)
    content = hashlib.sha256(real.contiguous().numpy().tobytes()).hexdigest()[:12]
    cache_name = (f"wganbench-{dataset}-{'folder' if dataset == 'image-folder' else opts.split}-n{len(real)}-{extractor.name}-"
                  f"{extractor.resize.split(' ')[0]}-{sha[:16]}-data{content}")
    start = time.time()
    fake_input = _generator_input(generator, latent_dim, value_range, extractor.rgb, device)
    result = torch_fidelity.calculate_metrics(
        input1=fake_input,
        input1_model_num_samples=opts.n_fake,
        input2=UInt8Images(real, extractor.rgb), input2_cache_name=cache_name,
        cache_root=str(cache_root()), cache=True,
        fid="fid" in want, kid="kid" in want, isc="is" in want,
        feature_extractor=extractor.fidelity_name, feature_extractor_weights_path=str(weights),
        kid_subset_size=opts.kid_subset_size, batch_size=opts.batch_size,
        cuda=device.type == "cuda", rng_seed=opts.seed, save_cpu_ram=True, verbose=False)
    nan = math.nan
    if fake_input.nonfinite:  # a diverged generator: its metrics are no number at all
        result = {}
        note = "generator produced non-finite samples (diverged): no metric is reported"
    split = "folder" if dataset == "image-folder" else opts.split
    return {
        "fid": result.get("frechet_inception_distance", nan),
        "kid_mean": result.get("kernel_inception_distance_mean", nan),
        "kid_std": result.get("kernel_inception_distance_std", nan),
        "is_mean": result.get("inception_score_mean", nan),
        "is_std": result.get("inception_score_std", nan),
        "dataset": dataset, "split": split, "n_real": len(real), "n_fake": opts.n_fake,
        "extractor": extractor.name, "resize": extractor.resize, "weights_sha256": sha,
        "sampling_seed": opts.seed, "kid_subset_size": opts.kid_subset_size,
        "seconds": round(time.time() - start, 2), "note": note,
    }


_SHA_CACHE: dict[tuple[str, float], str] = {}


def _cached_sha256(path: Path, digest: Callable[[Path], str]) -> str:
    key = (str(path), path.stat().st_mtime)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = digest(path)
    return _SHA_CACHE[key]


def load_run_generator(run_dir: str | Path, device: str = "cpu"):
    """(generator at the checkpoint's step, resolved config, step) of a run folder."""
    from wganbench.config import TrainConfig, resolve
    from wganbench.data import get_dataset
    from wganbench.models import ModelContext, build_model
    from wganbench.runner import CHECKPOINT, load_checkpoint

    run_dir = Path(run_dir)
    if not (run_dir / CHECKPOINT).exists() or not (run_dir / "config.json").exists():
        raise UserError(f"RUN_DIR {str(run_dir)!r} holds no run (no {CHECKPOINT} and config.json)")
    from wganbench.runfolder import read_config_dict

    try:
        cfg = resolve(TrainConfig.from_dict(read_config_dict(run_dir)))
    except (UserError, TypeError) as e:
        raise UserError(f"RUN_DIR {str(run_dir)!r}: its config.json is unusable "
                        f"({str(e).removeprefix('--resume: ')})") from None
    data = get_dataset(cfg.dataset)
    if data.value_range is None:
        raise UserError(f"RUN_DIR {str(run_dir)!r}: dataset {cfg.dataset!r} is not an image "
                        "dataset; FID / KID / IS need images (toy runs report the exact W1)")
    if cfg.latent != "normal":
        raise UserError(f"RUN_DIR {str(run_dir)!r}: latent {cfg.latent!r}; FID sampling supports "
                        "N(0, I) noise only")
    state = load_checkpoint(run_dir / CHECKPOINT, device)
    torch.manual_seed(0)
    g = build_model(cfg.generator, ModelContext(
        "generator", data.shape, cfg.latent_dim, cfg.gen_width or cfg.width, cfg.depth,
        cfg.lipschitz, data.value_range, cfg.activation)).to(device)
    try:
        g.load_state_dict(state["generator"])
    except (KeyError, RuntimeError) as e:
        raise UserError(f"{str(run_dir / CHECKPOINT)!r} does not fit the run's configuration "
                        f"({first_line(e)})") from None
    return g, cfg, int(state["step"])


def fid_for_run(run_dir: str | Path, opts: MetricOptions, device: str = "cpu") -> dict[str, Any]:
    """Metrics of a run's checkpoint, appended as one row to ``RUN_DIR/fidelity.csv``."""
    from wganbench import provenance
    from wganbench.data import get_dataset
    from wganbench.results import atomic_write_text

    opts.check()
    g, cfg, step = load_run_generator(run_dir, device)
    opts.data_root = opts.data_root or cfg.data_root
    row = {"run": str(run_dir), "step": step, "objective": cfg.objective, "seed": cfg.seed}
    row.update(compute_metrics(g, dataset=cfg.dataset, latent_dim=cfg.latent_dim,
                               value_range=get_dataset(cfg.dataset).value_range, opts=opts,
                               device=device))
    prov = provenance.collect(torch.device(device))
    row.update({k: prov[k] for k in ("git_commit", "torch_version", "device_name")})
    from wganbench.locking import lock_file

    path = Path(run_dir) / "fidelity.csv"
    table = pd.DataFrame([row])
    with lock_file(path):  # read-merge-write: one writer at a time
        if path.exists():
            try:
                old = pd.read_csv(path)
            except (ValueError, OSError) as e:
                raise UserError(f"{str(path)!r} is damaged ({type(e).__name__}); move it away, "
                                "the new row is not written") from None
            table = pd.concat([old, table], ignore_index=True)
        atomic_write_text(path, table.to_csv(index=False))
    return row
