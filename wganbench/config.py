"""Typed training configuration: one dataclass, the same field names on the CLI and in config.json.

Fields left as ``None`` take the default of the objective (its paper's Algorithm 1) or of the
dataset (the authors' code); :func:`resolve` fills them in and validates every value, raising a
one-line :class:`~wganbench.errors.UserError` naming the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from wganbench.data import DATASETS
from wganbench.data.fixed_fake import parse_fixed_fake
from wganbench.errors import UserError
from wganbench.latent import parse_latent
from wganbench.models import MODELS
from wganbench.models.mlp import ACTIVATIONS
from wganbench.objectives import LIPSCHITZ, LOSSES, OBJECTIVES, OPTIMIZERS
from wganbench.objectives.algorithm import PRECISIONS
from wganbench.objectives.lipschitz import WeightClipping


def _f(default: Any, help: str, **metadata: Any) -> Any:
    return field(default=default, metadata={"help": help, **metadata})


@dataclass
class TrainConfig:
    """One training run. ``None`` means "the default of the objective or dataset"."""

    objective: str = _f("wgan-gp", "objective: loss x Lipschitz method x optimiser defaults",
                        choices=OBJECTIVES.names)
    dataset: str = _f("8gaussians", "training data", choices=DATASETS.names)
    steps: int = _f(2000, "generator iterations to train for (each after n_critic critic steps)")
    seed: int = _f(0, "seed of every random stream (init, data, noise, penalty)")
    out: str | None = _f(None, "run folder; default runs/OBJECTIVE_DATASET_seedSEED")
    device: str = _f("auto", "cpu, cuda, cuda:N, or auto (cuda when available)")
    batch_size: int | None = _f(None, "batch size m of real and of fake samples", per_objective=True)
    lr: float | None = _f(None, "learning rate alpha of both networks", per_objective=True)
    optimizer: str | None = _f(None, "optimiser of both networks", per_objective=True,
                               choices=OPTIMIZERS.names)
    betas: tuple[float, float] | None = _f(None, "Adam beta1 beta2", per_objective=True)
    n_critic: int | None = _f(None, "critic steps per generator step", per_objective=True)
    critic_burst: bool = _f(False, "100 critic steps for the first 25 generator iterations and "
                                   "every 500th, as the WGAN authors' main.py")
    loss: str | None = _f(None, "adversarial loss", per_objective=True, choices=LOSSES.names)
    lipschitz: str | None = _f(None, "Lipschitz method of the critic", per_objective=True,
                               choices=LIPSCHITZ.names)
    clip: float | None = _f(None, "weight-clipping bound c (WGAN Alg. 1)")
    clip_mode: str | None = _f(None, "clip 'after' each critic step (WGAN Alg. 1) or "
                                     "'before' it (WGAN authors' main.py)",
                               choices=lambda: list(WeightClipping.MODES))
    gp_lambda: float | None = _f(None, "gradient-penalty weight lambda (WGAN-GP Alg. 1)")
    gp_one_sided: bool | None = _f(None, "one-sided penalty max(0, ||g|| - 1)^2 (WGAN-GP App. C)")
    generator: str | None = _f(None, "generator model", per_dataset=True, choices=MODELS.names)
    critic: str | None = _f(None, "critic model", per_dataset=True, choices=MODELS.names)
    width: int | None = _f(None, "hidden units per MLP layer", per_dataset=True)
    gen_width: int | None = _f(None, "the generator's width when it differs from the critic's "
                                     "(WGAN Fig 3: an MLP generator of 512 with a DCGAN critic); "
                                     "default: --width")
    depth: int | None = _f(None, "hidden layers per MLP", per_dataset=True)
    activation: str = _f("relu", "hidden nonlinearity of the toy MLPs: relu (gan_toy.py), elu or "
                                 "softplus2 = softplus(2x + 2)/2 - 1 (WGAN-GP App. D)",
                         choices=lambda: list(ACTIVATIONS))
    latent: str | None = _f(None, "noise p(z): 'normal' or 'uniform:LOW:HIGH'", per_dataset=True)
    latent_dim: int | None = _f(None, "noise dimension", per_dataset=True)
    fixed_fake: str | None = _f(None, "train the critic alone against a fixed fake distribution: "
                                      "'normal:MEAN:STD' or 'data+noise:STD' (real batch + noise, "
                                      "gan_toy.py FIXED_GENERATOR); no generator updates")
    data_root: str | None = _f(None, "folder holding image data (torchvision layout for mnist / "
                                     "cifar10; any image folder for image-folder); default "
                                     "$WGANBENCH_DATA or ./data")
    download: bool = _f(False, "let torchvision download a missing dataset")
    data_limit: int | None = _f(None, "train on a random subset of N training images (drawn "
                                      "from the seed; WGAN-GP Fig 5b uses 1000 MNIST digits)")
    gen_batch_multiple: int = _f(1, "generator batch = this x --batch-size (2 in "
                                    "gan_cifar_resnet.py)")
    lr_schedule: str = _f("constant", "'constant', or 'linear' decay to 0 at --steps "
                                      "(gan_cifar_resnet.py)", choices=lambda: list(LR_SCHEDULES))
    step_impl: str = _f("fast", "'fast': exact fast paths (one critic call on real and fake "
                                "when the critic has no batch norm; a penalty without the "
                                "second-derivative work that is zero for ReLU critics); "
                                "'reference': call by call, as the papers' code",
                        choices=lambda: list(STEP_IMPLS))
    precision: str = _f("float32", "'float32', or 'bf16': network forwards under bfloat16 "
                                   "autocast, weights / losses / penalty norms in float32 "
                                   "(not exact; see Objective.autocast)",
                        choices=lambda: list(PRECISIONS))
    compile: bool = _f(False, "torch.compile the networks' first-order calls (scores, "
                              "generator step, fake batches); the penalty's double backward "
                              "stays eager. Compiling takes tens of seconds at start")
    log_every: int = _f(10, "log a metrics row every N generator iterations")
    eval_every: int = _f(100, "compute the exact W1 every N generator iterations")
    eval_samples: int = _f(1000, "samples per side for the exact W1 (generated vs real)")
    eval_critic_steps: int = _f(0, "at each W1 evaluation, also train a copy of the critic N "
                                   "more steps against the frozen generator and log its "
                                   "estimate (w_estimate_refit); the paper reads the estimate "
                                   "of a critic near optimality (WGAN §4.2). Training is "
                                   "unchanged")
    checkpoint_every: int = _f(200, "write checkpoint.pt every N generator iterations")
    progress: bool = _f(True, "show a progress bar")

    # ---- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["betas"] is not None:
            d["betas"] = list(d["betas"])
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise UserError(f"unknown config field(s) {', '.join(unknown)}")
        d = dict(d)
        if d.get("betas") is not None:
            d["betas"] = tuple(float(b) for b in d["betas"])
        return cls(**d)

    def replace(self, **changes: Any) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


#: fields that do not change what a run computes; left out of the config hash
#: (step_impl, compile: the same function either way; results differ by float rounding)
NON_SEMANTIC_FIELDS = ("out", "device", "progress", "checkpoint_every", "data_root", "download",
                       "step_impl", "compile")
#: fields a resumed run may change
RESUMABLE_FIELDS = ("steps", "device", "progress", "checkpoint_every", "out", "data_root",
                    "download", "step_impl", "compile")
LR_SCHEDULES = ("constant", "linear")
STEP_IMPLS = ("fast", "reference")


#: fields added after runs were cached: at this value they leave the hash out, so that the runs
#: (and reproduction stages) made before the field existed keep their hash
HASH_NEUTRAL_DEFAULTS = {"activation": "relu", "gen_width": None}


def config_hash(cfg: TrainConfig) -> str:
    """sha256 (first 16 hex digits) of the resolved experiment, seed excluded, so that the runs
    of one experiment over several seeds share a hash."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in NON_SEMANTIC_FIELDS + ("seed",)
         and not (k in HASH_NEUTRAL_DEFAULTS and v == HASH_NEUTRAL_DEFAULTS[k])}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


# ---- resolution and validation -------------------------------------------------------------

def _require(ok: bool, name: str, value: Any, allowed: str) -> None:
    if not ok:
        raise UserError(f"--{name.replace('_', '-')} {value!r}: {allowed}")


def lipschitz_fields() -> set[str]:
    """The config fields owned by some Lipschitz method (clip, gp_lambda, ...)."""
    fields: set[str] = set()
    for _, entry in LIPSCHITZ.items():
        fields |= set(entry.owns)
    return fields


def resolve(cfg: TrainConfig) -> TrainConfig:
    """Fill every ``None`` with its objective or dataset default and validate all values."""
    spec = OBJECTIVES.get(cfg.objective)
    data = DATASETS.get(cfg.dataset)
    c = dataclasses.replace(cfg)

    c.loss = c.loss or spec.loss
    LOSSES.get(c.loss)
    c.lipschitz = c.lipschitz or spec.lipschitz
    lip = LIPSCHITZ.get(c.lipschitz)
    for name in sorted(lipschitz_fields()):
        value = getattr(c, name)
        if name in lip.owns:
            if value is None:
                setattr(c, name, lip.owns[name])
        elif value is not None:
            owners = [n for n, e in LIPSCHITZ.items() if name in e.owns]
            raise UserError(
                f"--{name.replace('_', '-')} {value!r}: applies only with --lipschitz "
                f"{'/'.join(owners)}; objective {c.objective!r} uses --lipschitz {c.lipschitz!r}")

    c.optimizer = c.optimizer or spec.optimizer
    opt = OPTIMIZERS.get(c.optimizer)
    if opt.uses_betas:
        if c.betas is None:
            c.betas = spec.betas if (c.optimizer == spec.optimizer and spec.betas) else (0.9, 0.999)
    elif c.betas is not None:
        raise UserError(f"--betas {list(c.betas)}: optimizer {c.optimizer!r} takes no betas")
    c.lr = spec.lr if c.lr is None else c.lr
    c.n_critic = spec.n_critic if c.n_critic is None else c.n_critic
    c.batch_size = spec.batch_size if c.batch_size is None else c.batch_size

    c.generator = c.generator or data.generator
    c.critic = c.critic or data.critic
    MODELS.get(c.generator)
    MODELS.get(c.critic)
    c.width = data.width if c.width is None else c.width
    c.depth = data.depth if c.depth is None else c.depth
    c.latent = c.latent or data.latent
    c.latent_dim = data.latent_dim if c.latent_dim is None else c.latent_dim
    c.out = c.out or f"runs/{c.objective}_{c.dataset}_seed{c.seed}"
    _validate(c)
    return c


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    """A finite number (infinity and NaN make no sense for any numeric setting here)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


#: upper bounds of the integer settings, far beyond any paper's (which use <= 200k generator
#: iterations, n_critic <= 100, widths <= 512, batches <= 256), so that a typo fails at once
#: instead of after allocating or looping for hours. eval_samples: the exact W1 solves an
#: n x n transport problem (8 n^2 bytes of costs: 3.2 GB at 20,000)
INT_LIMITS = {"steps": 10**9, "batch_size": 2**20, "log_every": 10**9, "eval_every": 10**9,
              "checkpoint_every": 10**9, "width": 2**16, "gen_width": 2**16, "latent_dim": 2**16,
              "gen_batch_multiple": 1024, "n_critic": 10**4, "depth": 1000,
              "eval_critic_steps": 10**6, "eval_samples": 20_000, "seed": 2**63 - 1,
              "data_limit": 10**9}


def _int_in(c: TrainConfig, name: str, low: int) -> None:
    v, high = getattr(c, name), INT_LIMITS[name]
    allowed = (f"must be a positive integer up to {high:,}" if low == 1
               else f"must be an integer from {low} to {high:,}")
    _require(_is_int(v) and low <= v <= high, name, v, allowed)


def _validate(c: TrainConfig) -> None:
    for name in ("steps", "batch_size", "log_every", "eval_every", "checkpoint_every",
                 "width", "latent_dim", "gen_batch_multiple", "n_critic"):
        _int_in(c, name, 1)
    for name in ("seed", "depth", "eval_critic_steps"):
        _int_in(c, name, 0)
    if c.gen_width is not None:
        _int_in(c, "gen_width", 1)
    _int_in(c, "eval_samples", 2)
    _require(_is_num(c.lr) and c.lr > 0, "lr", c.lr, "must be a finite number > 0")
    if c.betas is not None:
        _require(len(c.betas) == 2 and all(_is_num(b) and 0 <= b < 1 for b in c.betas),
                 "betas", list(c.betas), "must be two numbers in [0, 1)")
    if c.clip is not None:
        _require(_is_num(c.clip) and c.clip > 0, "clip", c.clip, "must be a finite number c > 0")
    if c.clip_mode is not None:
        _require(c.clip_mode in WeightClipping.MODES, "clip_mode", c.clip_mode,
                 f"choose from: {', '.join(WeightClipping.MODES)}")
    if c.gp_lambda is not None:
        _require(_is_num(c.gp_lambda) and c.gp_lambda >= 0, "gp_lambda", c.gp_lambda,
                 "must be a finite number lambda >= 0")
    _require(isinstance(c.device, str) and (c.device in ("auto", "cpu", "cuda")
             or (c.device.startswith("cuda:") and c.device[5:].isdigit())),
             "device", c.device, "choose from: auto, cpu, cuda, cuda:N")
    _require(c.precision in PRECISIONS, "precision", c.precision,
             f"choose from: {', '.join(PRECISIONS)}")
    _require(c.step_impl in STEP_IMPLS, "step_impl", c.step_impl,
             f"choose from: {', '.join(STEP_IMPLS)}")
    _require(c.lr_schedule in LR_SCHEDULES, "lr_schedule", c.lr_schedule,
             f"choose from: {', '.join(LR_SCHEDULES)}")
    if c.data_limit is not None:
        _int_in(c, "data_limit", 1)
    for name in ("critic_burst", "download", "compile", "progress"):
        _require(isinstance(getattr(c, name), bool), name, getattr(c, name), "must be true or false")
    for name in ("latent", "out", "data_root", "fixed_fake"):
        v = getattr(c, name)
        _require(v is None or isinstance(v, str), name, v, "must be a string")
    _require(c.activation in ACTIVATIONS, "activation", c.activation,
             f"choose from: {', '.join(ACTIVATIONS)}")
    if c.activation != "relu":  # it sets the MLPs' nonlinearity; other models have their own
        _require("mlp" in (c.generator, c.critic), "activation", c.activation,
                 f"applies to the toy MLPs (--generator / --critic mlp), not {c.generator} / "
                 f"{c.critic}")
    parse_latent(c.latent, c.latent_dim)
    if c.fixed_fake is not None:
        fixed = parse_fixed_fake(c.fixed_fake)
        dims = math.prod(DATASETS.get(c.dataset).shape)
        _require(fixed.kind != "shift" or len(fixed.shift) == dims, "fixed_fake", c.fixed_fake,
                 f"a shift needs one component per data dimension ({dims} for {c.dataset})")
