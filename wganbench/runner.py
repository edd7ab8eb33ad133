"""The one training loop: n_critic critic steps, then one generator step, for any objective.

Per generator iteration (WGAN Alg. 1 / WGAN-GP Alg. 1): ``n_critic`` critic updates, each on a
new real batch and fresh noise, then one generator update on fresh noise. Every ``log_every``
iterations a row goes to ``metrics.csv``; every ``eval_every`` iterations the exact W1 between
generated and real samples is added to it; every ``checkpoint_every`` iterations the whole state
(models, optimisers, every random stream, data position) is saved, so a killed run resumes
exactly where it was.

Randomness: model initialisation and the data, noise and penalty streams each have their own
``torch.Generator``, seeded from (seed, rank, stream). Diagnostics (W1, gradient norms) draw
from a generator seeded from (seed, step), so evaluating more often never changes training.

Shaped for what comes later: ``rank``/``world_size`` seed per-rank streams and make only rank 0
write (data-parallel training under torchrun); the steps themselves live in
:class:`~wganbench.objectives.algorithm.Objective` and take modules as arguments (a vectorised
seed ensemble can pass stacked functional modules).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import csv
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from tqdm.auto import tqdm

from wganbench import distributed, provenance
from wganbench.config import RESUMABLE_FIELDS, TrainConfig, config_hash, resolve
from wganbench.data import DataOptions, get_dataset
from wganbench.data.fixed_fake import parse_fixed_fake
from wganbench.errors import Diverged, UserError, first_line
from wganbench.latent import parse_latent
from wganbench.metrics.ot import exact_w1
from wganbench.models import ModelContext, build_model, preserved_buffers
from wganbench.objectives import OPTIMIZERS
from wganbench.objectives.algorithm import Objective
from wganbench.objectives.lipschitz import input_gradient_norms, interpolate
from wganbench.locking import lock_folder
from wganbench.results import CsvLog, atomic_torch_save, check_writable, write_json
from wganbench import runfolder

METRIC_COLUMNS = ("step", "critic_steps", "critic_loss", "gen_loss", "w_estimate", "penalty",
                  "grad_norm", "w1", "w_estimate_eval", "critic_loss_mean", "gen_loss_mean",
                  "w_estimate_mean", "wall_time", "w_estimate_refit", "note")
#: per-step values averaged over every step since the previous row (``<name>_mean`` columns):
#: critic values over critic steps, the generator loss over generator steps
WINDOW_KEYS = ("critic_loss", "w_estimate", "gen_loss")
CHECKPOINT = runfolder.CHECKPOINT
CHECKPOINT_FORMAT = 1
STREAMS = ("data", "noise", "penalty")
#: a loss (mean over a metrics window) or parameter beyond this magnitude counts as diverged:
#: some 15 orders of magnitude above any loss in the papers' plots, and a gradient norm past
#: ~1.8e19 squares to infinity in float32, so such a run is on its way to inf / NaN
DIVERGENCE_BOUND = 1e18
_SAMPLE_IMAGES = contextvars.ContextVar("wganbench_sample_images", default=True)


@contextlib.contextmanager
def sample_images(enabled: bool):
    """Whether the runs trained inside this block draw ``samples.png`` (they do by default).
    Staged runs switch it off for every stage but the last: each stage's image would be
    overwritten by the next one's, and drawing it costs more than a toy stage's training."""
    token = _SAMPLE_IMAGES.set(enabled)
    try:
        yield
    finally:
        _SAMPLE_IMAGES.reset(token)

#: WGAN authors' main.py: 100 critic iterations for the first 25 generator iterations and at
#: every 500th one (paper-facts §3, "Critic schedule")
BURST_CRITIC_ITERS, BURST_FIRST, BURST_EVERY = 100, 25, 500


def derive_seed(*keys: int) -> int:
    """A 63-bit seed from a tuple of integers (numpy's SeedSequence hashing)."""
    return int(np.random.SeedSequence(list(keys)).generate_state(2, np.uint64)[0] >> np.uint64(1))


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"--device {name!r}: CUDA is not available here; use cpu or auto")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UserError(f"--device {name!r}: only {torch.cuda.device_count()} CUDA device(s)")
    return device


def critic_iterations(cfg: TrainConfig, generator_iteration: int) -> int:
    """Critic steps before generator iteration ``generator_iteration`` (0-based)."""
    if cfg.critic_burst and (generator_iteration < BURST_FIRST
                             or generator_iteration % BURST_EVERY == 0):
        return BURST_CRITIC_ITERS
    return cfg.n_critic


def set_learning_rate(cfg: TrainConfig, step: int, optimizers) -> None:
    """gan_cifar_resnet.py: lr_t = lr (1 - t / ITERS), t the generator iteration; nothing for
    the constant schedule."""
    if cfg.lr_schedule == "linear":
        lr = cfg.lr * max(0.0, 1.0 - step / cfg.steps)
        for opt in optimizers:
            for group in opt.param_groups:
                group["lr"] = lr


def timed(fn: Callable[[], Any], device: torch.device) -> tuple[Any, float]:
    """fn() and the seconds it took (the device synchronised, so CUDA work is counted)."""
    t0 = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - t0


@dataclass
class Parts:
    """What one generator iteration needs besides data: both nets, the objective, optimisers."""

    generator: torch.nn.Module
    critic: torch.nn.Module
    objective: Objective
    opt_g: torch.optim.Optimizer
    opt_c: torch.optim.Optimizer


def build_parts(cfg: TrainConfig, device: torch.device) -> Parts:
    """Models (initialised from the run seed, identically on every rank), objective and
    optimisers of a resolved config. Used by the runner and by the throughput benchmarks."""
    dataset = get_dataset(cfg.dataset)
    torch.manual_seed(derive_seed(cfg.seed, 0, 0))
    ctx = dict(data_shape=dataset.shape, latent_dim=cfg.latent_dim, width=cfg.width,
               depth=cfg.depth, lipschitz=cfg.lipschitz, value_range=dataset.value_range,
               activation=cfg.activation)
    generator = build_model(cfg.generator, ModelContext(
        "generator", **{**ctx, "width": cfg.gen_width or cfg.width})).to(device)
    objective = Objective.from_config(cfg)
    critic = objective.lipschitz.prepare_critic(
        build_model(cfg.critic, ModelContext("critic", **ctx)).to(device))
    check_bf16_reference_penalty(cfg, objective, critic, device)
    if cfg.compile:
        objective.compile(generator, critic)
    build = OPTIMIZERS.get(cfg.optimizer).build
    fast = cfg.step_impl == "fast"
    return Parts(generator, critic, objective, build(generator.parameters(), cfg.lr, cfg.betas, fast),
                 build(critic.parameters(), cfg.lr, cfg.betas, fast))


def check_bf16_reference_penalty(cfg: TrainConfig, objective: Objective, critic: torch.nn.Module,
                                 device: torch.device) -> None:
    """Refuse ``--precision bf16 --step-impl reference`` with a gradient penalty on a conv
    critic where this device's PyTorch gets the convolution's second derivative wrong under
    bfloat16 (:func:`~wganbench.objectives.algorithm.bf16_conv_double_backward_ok`): the run
    would train on wrong gradients without a word."""
    from wganbench.objectives.algorithm import bf16_conv_double_backward_ok
    from wganbench.objectives.lipschitz import GradientPenalty

    if (cfg.precision == "bf16" and cfg.step_impl == "reference"
            and isinstance(objective.lipschitz, GradientPenalty)
            and any(isinstance(m, torch.nn.Conv2d) for m in critic.modules())
            and not bf16_conv_double_backward_ok(device.type)):
        raise UserError("--precision bf16 --step-impl reference: on this device PyTorch "
                        "differentiates bfloat16 convolutions twice wrongly (the penalty's "
                        "weight gradients come out ~4x too small; checked at start), so the "
                        "reference penalty would train on wrong gradients; use --step-impl "
                        "fast (exact here) or --precision float32")


@dataclass
class RunResult:
    out: Path
    step: int
    last_row: dict[str, Any]
    trainer: "Trainer"  # holding the final state
    diverged: Diverged | None = None  # set when training diverged (the run stopped there)


class Trainer:
    """Builds everything a run needs from a resolved :class:`TrainConfig` and trains it."""

    def __init__(self, cfg: TrainConfig, *, rank: int = 0, world_size: int = 1,
                 device: torch.device | None = None) -> None:
        self.cfg = cfg
        self.rank, self.world_size = rank, world_size
        self.is_main = rank == 0
        self.device = device or resolve_device(cfg.device)
        self.out = Path(cfg.out)
        self.dataset = get_dataset(cfg.dataset)
        self.sampler = self.dataset.make(DataOptions(
            root=cfg.data_root, download=cfg.download, split="train", limit=cfg.data_limit,
            seed=cfg.seed, rank=rank, world_size=world_size))
        self.latent = parse_latent(cfg.latent, cfg.latent_dim)
        self.fixed_fake = parse_fixed_fake(cfg.fixed_fake) if cfg.fixed_fake else None

        parts = build_parts(cfg, self.device)
        self.generator, self.critic, self.objective = parts.generator, parts.critic, parts.objective
        self.opt_g, self.opt_c = parts.opt_g, parts.opt_c
        if world_size > 1:
            self.objective.grad_sync = distributed.average_gradients

        self.streams = {
            name: torch.Generator(self.device).manual_seed(derive_seed(cfg.seed, rank, 1 + i))
            for i, name in enumerate(STREAMS)
        }
        self.step = 0  # generator iterations done
        self.critic_steps = 0
        self.wall_time = 0.0  # seconds spent in training iterations, summed over sessions
        #: sums and counts of WINDOW_KEYS since the last metrics row (device tensors, no sync)
        self.window: dict[str, list] = {}
        self._reset_window()
        #: (real, generated) samples of the last evaluation, reused for samples.png
        self._last_eval: tuple[torch.Tensor, torch.Tensor] | None = None
        #: set when training diverged (see :meth:`check_divergence`)
        self.diverged: Diverged | None = None
        self._checked_step = 0  # the last step at which the state was seen finite
        self.checkpoint_step: int | None = None  # the step of checkpoint.pt on disk

    # ---- one generator iteration ------------------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        return self.latent.sample(n, self.streams["noise"])

    def fake_batch(self, real: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        """x_tilde: G(z) without a graph, or a draw from the fixed fake distribution."""
        if self.fixed_fake is not None:
            return self.fixed_fake.sample(real, rng, self.sampler.sample_eval)
        return self.objective.fake(self.generator, self.latent.sample(len(real), rng))

    def _reset_window(self) -> None:
        self.window = {k: [torch.zeros((), device=self.device), 0] for k in WINDOW_KEYS}

    def _add_to_window(self, key: str, value: torch.Tensor) -> None:
        self.window[key][0] = self.window[key][0] + value.detach().to(self.device)
        self.window[key][1] += 1

    def _set_learning_rate(self) -> None:
        set_learning_rate(self.cfg, self.step, (self.opt_g, self.opt_c))

    def train_iteration(self) -> dict[str, torch.Tensor]:
        """n_critic critic steps, then one generator step. Returns unsynchronised tensors."""
        m = self.cfg.batch_size
        self._set_learning_rate()
        for _ in range(critic_iterations(self.cfg, self.step)):
            real = self.sampler.sample(m, self.streams["data"]).to(self.device)
            fake = self.fake_batch(real, self.streams["noise"])
            stats = self.objective.critic_step(self.critic, self.opt_c, real, fake,
                                               self.streams["penalty"])
            self.critic_steps += 1
            self._add_to_window("critic_loss", stats.loss)
            self._add_to_window("w_estimate", stats.estimate)
        if self.fixed_fake is None:
            gen_loss = self.objective.generator_step(self.generator, self.critic, self.opt_g,
                                                      self.noise(m * self.cfg.gen_batch_multiple))
            self._add_to_window("gen_loss", gen_loss)
        else:
            gen_loss = torch.tensor(math.nan)
        self.step += 1
        return {"critic_loss": stats.loss, "gen_loss": gen_loss, "w_estimate": stats.estimate,
                "penalty": stats.penalty}

    # ---- diagnostics (never change the training state) --------------------------------------
    def _eval_rng(self) -> torch.Generator:
        return torch.Generator(self.device).manual_seed(derive_seed(self.cfg.seed, 2**20, self.step))

    def generate(self, n: int, rng: torch.Generator) -> torch.Tensor:
        """``n`` fake samples for evaluation, leaving the training state untouched."""
        if self.fixed_fake is not None:
            real = self.sampler.sample_eval(n, rng).to(self.device)
            return self.fixed_fake.sample(real, rng, self.sampler.sample_eval)
        with torch.no_grad(), preserved_buffers(self.generator):
            return self.generator(self.latent.sample(n, rng))

    def diagnostics(self, with_w1: bool) -> dict[str, float]:
        """Mean ||grad_x f(x_hat)|| at interpolates of fresh real and generated batches of size m
        (the points WGAN-GP penalises), and, when asked, the exact W1 between ``eval_samples``
        generated and ``eval_samples`` real samples, with the critic's estimate on the same
        samples (``w_estimate_eval``)."""
        rng = self._eval_rng()
        m = self.cfg.batch_size
        real = self.sampler.sample_eval(m, rng).to(self.device)
        x_hat = interpolate(real, self.generate(m, rng), rng)
        with preserved_buffers(self.critic):
            grad_norm = input_gradient_norms(self.critic, x_hat, create_graph=False).mean().item()
        out = {"grad_norm": grad_norm, "w1": math.nan, "w_estimate_eval": math.nan,
               "w_estimate_refit": math.nan}
        if with_w1:
            n = self.cfg.eval_samples
            real = self.sampler.sample_eval(n, rng).to(self.device)
            fake = self.generate(n, rng)
            out["w_estimate_eval"] = self.critic_estimate(real, fake)
            if self.cfg.eval_critic_steps:
                out["w_estimate_refit"] = self.refit_critic_estimate(real, fake, rng)
            if self.dataset.exact_w1:
                out["w1"] = exact_w1(fake, real)
            self._last_eval = (real, fake)
        return out

    def critic_estimate(self, real: torch.Tensor, fake: torch.Tensor) -> float:
        """The critic's distance estimate between two sample sets (E f(real) - E f(fake), or the
        JS estimate for GAN losses), without changing the critic's buffers."""
        with torch.no_grad(), preserved_buffers(self.critic):
            return float(self.objective.loss.estimate(self.critic(real).view(-1),
                                                      self.critic(fake).view(-1)))

    def refit_critic_estimate(self, real: torch.Tensor, fake: torch.Tensor,
                              rng: torch.Generator) -> float:
        """The estimate on (real, fake) of a copy of the critic trained ``eval_critic_steps``
        more steps (its optimiser state copied too) against the frozen generator, on fresh
        batches from ``rng``. The training state is not touched."""
        critic = copy.deepcopy(self.critic)
        opt = type(self.opt_c)(critic.parameters(), **self.opt_c.defaults)
        opt.load_state_dict(copy.deepcopy(self.opt_c.state_dict()))
        objective = copy.copy(self.objective)
        objective.grad_sync = None  # a rank-0 diagnostic: no collective
        m = self.cfg.batch_size
        for _ in range(self.cfg.eval_critic_steps):
            batch = self.sampler.sample_eval(m, rng).to(self.device)
            objective.critic_step(critic, opt, batch, self.generate(m, rng), rng)
        with torch.no_grad():
            return float(objective.loss.estimate(critic(real).view(-1), critic(fake).view(-1)))

    # ---- divergence -------------------------------------------------------------------------
    def divergence_reason(self) -> str | None:
        """What is non-finite or runaway (beyond :data:`DIVERGENCE_BOUND`) in the losses of
        every step since the last check (the metrics window's running sums cover each step, so
        no step escapes) or in the networks' parameters; None when all is finite. Called at
        metrics rows and checkpoints only, so the training step itself never synchronises."""
        for key, (total, count) in self.window.items():
            if count:
                mean = float(total) / count
                if not math.isfinite(mean) or abs(mean) > DIVERGENCE_BOUND:
                    return f"{key} {mean:.3g}"
        for name, module in (("generator", self.generator), ("critic", self.critic)):
            params = [p.detach().abs().max() for p in module.parameters() if p.numel()]
            if params:
                biggest = float(torch.stack(params).max())
                if not math.isfinite(biggest) or biggest > DIVERGENCE_BOUND:
                    return f"{name} parameter {biggest:.3g}"
        return None

    def check_divergence(self, log: CsvLog | None) -> None:
        """Raise :class:`Diverged` (after a last metrics row whose ``note`` says what) when
        :meth:`divergence_reason` finds something; every rank agrees under data parallelism."""
        reason = self.divergence_reason()
        if self.world_size > 1:
            reason = distributed.agree_on_reason(reason, self.device)
        if reason is None:
            self._checked_step = self.step
            return
        if self.is_main and log is not None:
            row: dict[str, Any] = {"step": self.step, "critic_steps": self.critic_steps,
                                   "wall_time": round(self.wall_time, 4),
                                   "note": f"diverged: {reason}"}
            for key, (total, count) in self.window.items():
                if count:
                    row[f"{key}_mean"] = repr(float(total) / count)  # 'nan' / 'inf' in the CSV
            log.append(row)
        self.diverged = Diverged(str(self.out), self.step, self._checked_step, reason,
                                 self.checkpoint_step)
        raise self.diverged

    # ---- checkpoints -----------------------------------------------------------------------
    def rank_state(self) -> dict[str, Any]:
        """What differs between ranks: the random streams and the data position."""
        rng = {name: g.get_state() for name, g in self.streams.items()}
        rng["torch"] = torch.get_rng_state()
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {"rng": rng, "sampler": self.sampler.state_dict()}

    def state_dict(self) -> dict[str, Any]:
        own = self.rank_state()
        rng = own["rng"]
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "critic_steps": self.critic_steps,
            "wall_time": self.wall_time,
            "generator": self.generator.state_dict(),
            "critic": self.critic.state_dict(),
            "opt_generator": self.opt_g.state_dict(),
            "opt_critic": self.opt_c.state_dict(),
            "rng": rng,
            "window": {k: [v.cpu(), n] for k, (v, n) in self.window.items()},
            "sampler": own["sampler"],
            "world_size": self.world_size,
            "config": self.cfg.to_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        saved_world = int(state.get("world_size", 1))
        if saved_world != self.world_size:
            raise UserError(f"--resume: the checkpoint was written by {saved_world} process(es); "
                            f"resume it with {saved_world}, not {self.world_size}")
        if "ranks" in state:  # data-parallel: this rank's own streams and data position
            state = {**state, **state["ranks"][self.rank]}
        self.step = int(state["step"])
        self.critic_steps = int(state["critic_steps"])
        self.wall_time = float(state["wall_time"])
        self.generator.load_state_dict(state["generator"])
        self.critic.load_state_dict(state["critic"])
        self.opt_g.load_state_dict(state["opt_generator"])
        self.opt_c.load_state_dict(state["opt_critic"])
        for name, g in self.streams.items():
            g.set_state(state["rng"][name])
        torch.set_rng_state(state["rng"]["torch"])
        if "cuda" in state["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self.sampler.load_state_dict(state["sampler"])
        self.checkpoint_step = self._checked_step = self.step
        if "window" in state:  # checkpoints written before the *_mean columns have none
            self.window = {k: [v.to(self.device), int(n)] for k, (v, n) in state["window"].items()}

    def save_checkpoint(self) -> None:
        """Write checkpoint.pt (rank 0). Data-parallel: a collective; every rank calls it and
        rank 0 saves every rank's streams and data position with the shared state."""
        ranks = distributed.gather_to_main(self.rank_state()) if self.world_size > 1 else None
        if not self.is_main:
            return
        state = self.state_dict()
        if ranks is not None:
            state["ranks"] = ranks
        atomic_torch_save(self.out / CHECKPOINT, state)
        self.checkpoint_step = self.step

    # ---- the loop --------------------------------------------------------------------------
    def _row(self, stats: dict[str, torch.Tensor] | None, with_w1: bool) -> dict[str, Any]:
        row: dict[str, Any] = {"step": self.step, "critic_steps": self.critic_steps}
        for key in ("critic_loss", "gen_loss", "w_estimate", "penalty"):
            row[key] = float(stats[key]) if stats is not None else math.nan
        row.update(self.diagnostics(with_w1))
        for key, (total, count) in self.window.items():
            row[f"{key}_mean"] = float(total) / count if count else math.nan
        self._reset_window()
        row["wall_time"] = round(self.wall_time, 4)
        return row

    def _write_samples(self) -> None:
        if self._last_eval is None:
            rng = self._eval_rng()
            n = min(self.cfg.eval_samples, 1000)
            self._last_eval = (self.sampler.sample_eval(n, rng), self.generate(n, rng))
        from wganbench.plotting import plot_image_grid, plot_samples  # matplotlib when needed

        real, fake = self._last_eval
        title = f"{self.cfg.objective} on {self.cfg.dataset}, seed {self.cfg.seed}, step {self.step}"
        if len(self.dataset.shape) == 3:
            plot_image_grid(fake[:64], self.dataset.value_range, self.out / "samples.png", title)
        else:
            plot_samples(real, fake, self.out / "samples.png", title)

    def due(self, step: int) -> bool:
        """Whether a metrics row or a checkpoint is written after generator iteration ``step``."""
        cfg = self.cfg
        return step % cfg.log_every == 0 or step % cfg.checkpoint_every == 0 or step == cfg.steps

    def after_iteration(self, stats: dict[str, torch.Tensor],
                        log: CsvLog | None) -> dict[str, Any] | None:
        """Metrics row, evaluation, checkpoint and samples due after this iteration; returns
        the row written, if any."""
        cfg = self.cfg
        done = self.step == cfg.steps
        row = None
        if self.step % cfg.log_every == 0 or self.step % cfg.checkpoint_every == 0 or done:
            self.check_divergence(log)  # nothing is written from a non-finite state
        if self.is_main and (self.step % cfg.log_every == 0 or done):
            with_w1 = self.step % cfg.eval_every == 0 or done
            self._last_eval = None
            row = self._row(stats, with_w1)
            log.append(row)
        if self.step % cfg.checkpoint_every == 0 or done:
            self.save_checkpoint()
            if self.is_main and _SAMPLE_IMAGES.get():
                self._write_samples()
        return row

    def run(self, log: CsvLog | None) -> RunResult:
        cfg = self.cfg
        last_row: dict[str, Any] = {}
        if self.step == 0 and log is not None:
            last_row = self._row(None, with_w1=True)  # the initial generator, for reference
            log.append(last_row)
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not (cfg.progress and self.is_main),
                   desc=f"{cfg.objective}/{cfg.dataset}", unit="it", dynamic_ncols=True)
        try:
            while self.step < cfg.steps:
                stats, seconds = timed(self.train_iteration, self.device)
                self.wall_time += seconds
                row = self.after_iteration(stats, log)
                if row is not None:
                    last_row = row
                    bar.set_postfix({k: f"{row[k]:.3g}" for k in ("w_estimate", "w1")
                                     if not math.isnan(row[k])}, refresh=False)
                bar.update(1)
        finally:
            bar.close()
            if log is not None:
                log.close()
        return RunResult(self.out, self.step, last_row, self)


# ---- entry points used by the CLI and by reproductions -------------------------------------

def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict[str, Any]:
    """Load a checkpoint without executing code from it (``weights_only=True``); a damaged or
    foreign file is a one-line UserError naming it."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except FileNotFoundError:
        raise UserError(f"no checkpoint at {str(path)!r}") from None
    except Exception as e:  # noqa: BLE001 - truncated, random bytes, empty, a foreign pickle
        raise UserError(f"{str(path)!r} is damaged or not a wganbench checkpoint "
                        f"({first_line(e)})") from None
    if not isinstance(state, dict) or "step" not in state:
        raise UserError(f"{str(path)!r} is not a wganbench checkpoint (no step in it)")
    return state


def restore(trainer: "Trainer", state: dict[str, Any], path: Path) -> None:
    """``trainer.load_state_dict(state)``, a checkpoint that does not fit (other shapes, keys
    missing) being a one-line UserError naming ``path``."""
    try:
        trainer.load_state_dict(state)
    except UserError:
        raise
    except (KeyError, RuntimeError, ValueError, TypeError, IndexError) as e:
        raise UserError(f"{str(path)!r} does not fit this run's configuration "
                        f"({first_line(e)})") from None


def config_for_resume(out: str | os.PathLike, given: dict[str, Any]) -> TrainConfig:
    """The saved configuration of the run in ``out``, with the settings the user gave checked
    against it: only ``steps`` (not below the checkpoint's step), ``device``, ``progress`` and
    ``checkpoint_every`` may change. A run of ours with no checkpoint yet is accepted: it will
    start again from its saved configuration (:func:`train` says so)."""
    out = Path(out)
    if not runfolder.has_checkpoint(out) and not (out / runfolder.MARKER).is_file():
        raise UserError(f"--resume: no checkpoint at {str(out / CHECKPOINT)!r}; start the run "
                        "without --resume")
    try:
        saved = TrainConfig.from_dict(runfolder.read_config_dict(out))
        merged = resolve(TrainConfig.from_dict({**saved.to_dict(), **given, "out": str(out)}))
    except UserError as e:
        if str(e).startswith("--resume"):
            raise
        raise UserError(f"--resume: {str(out / 'config.json')!r}: {e}") from None
    except TypeError as e:  # a field of the wrong type, caught before validation could
        raise UserError(f"--resume: {str(out / 'config.json')!r} holds a setting of the wrong "
                        f"type ({first_line(e)})") from None
    for name in saved.to_dict():
        if name in RESUMABLE_FIELDS:
            continue
        if getattr(merged, name) != getattr(saved, name):
            raise UserError(
                f"--{name.replace('_', '-')} {getattr(merged, name)!r} contradicts the checkpoint's "
                f"{getattr(saved, name)!r}; a resumed run may change only "
                f"{', '.join('--' + f.replace('_', '-') for f in RESUMABLE_FIELDS)}")
    return merged


def train(cfg: TrainConfig, resume: bool = False, on_divergence: str = "raise") -> RunResult:
    """Train one run and write ``config.json``, ``provenance.json``, ``metrics.csv``,
    ``checkpoint.pt`` and ``samples.png`` into ``cfg.out``.

    ``cfg`` may hold ``None`` defaults; it is resolved here. With ``resume`` the run continues
    from ``cfg.out/checkpoint.pt`` (see :func:`config_for_resume` for the CLI's checks); a run
    of ours that has no checkpoint yet starts again. The folder is locked for the whole run: a
    second process on it gets a one-line error. A run that diverges raises :class:`Diverged`
    (``on_divergence="raise"``) or returns with ``diverged`` set (``"return"``). The result
    holds the :class:`Trainer` in its final state. Started by ``torchrun`` (more than one
    process), it trains data-parallel (:mod:`wganbench.distributed`); only rank 0 writes.
    """
    cfg = resolve(cfg)
    info = distributed.from_env()
    device = resolve_device(cfg.device)
    if info.enabled and device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    created = distributed.init(info, device)
    try:
        with (lock_folder(cfg.out) if info.rank == 0 else _no_lock()):
            trainer, log = open_run(cfg, resume, info, device)
            try:
                return trainer.run(log)
            except Diverged as d:
                if on_divergence == "raise":
                    raise
                return RunResult(trainer.out, trainer.step, {}, trainer, d)
    finally:
        if created:
            torch.distributed.destroy_process_group()


def _no_lock():
    import contextlib

    return contextlib.nullcontext()


def _read_provenance(path: Path, fallback: dict[str, Any]) -> dict[str, Any]:
    if not path.exists():
        return fallback
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"--resume: {str(path)!r} is not readable JSON "
                        f"({first_line(e)}); repair or remove it to resume") from None
    if not isinstance(data, dict):
        raise UserError(f"--resume: {str(path)!r} holds a JSON {type(data).__name__}, not "
                        "wganbench's provenance record; repair or remove it to resume")
    return data


def open_run(cfg: TrainConfig, resume: bool, info: distributed.DistInfo | None = None,
             device: torch.device | None = None,
             extra_provenance: dict[str, Any] | None = None) -> tuple[Trainer, CsvLog | None]:
    """Check ``cfg.out``, build the Trainer (restored from the checkpoint with ``resume``),
    open metrics.csv and write config.json and provenance.json; ready to train. The caller
    holds the folder's lock (:func:`wganbench.locking.lock_folder`) on rank 0.

    ``out`` must be absent, empty or a run of ours (:mod:`wganbench.runfolder`); ``resume`` on
    a run of ours without a checkpoint starts it afresh, with a note."""
    info = info or distributed.DistInfo()
    out = Path(cfg.out)
    if resume and not runfolder.has_checkpoint(out):
        if not (out / runfolder.MARKER).is_file():
            raise UserError(f"--resume: no checkpoint at {str(out / CHECKPOINT)!r}")
        runfolder.note(f"--resume: {str(out)!r} has no checkpoint yet (the run stopped before "
                       "its first one); starting it from the beginning")
        if info.rank == 0:
            runfolder.clear_run_files(out)
        resume = False
    elif not resume and info.rank == 0:
        runfolder.prepare_new_run(out)
    ckpt_path = out / CHECKPOINT
    state = load_checkpoint(ckpt_path) if resume else None
    if state is not None and int(state["step"]) > cfg.steps:
        raise UserError(f"--steps {cfg.steps}: the checkpoint in {str(out)!r} is already at step "
                        f"{int(state['step'])}; a resumed run can only train longer")
    distributed.barrier()  # every rank has checked before rank 0 writes anything
    if info.rank == 0:
        check_writable(out)
        runfolder.remove_temp_files(out)  # left by a write that was interrupted
    trainer = Trainer(cfg, rank=info.rank, world_size=info.world_size, device=device)
    log = CsvLog(out / "metrics.csv", METRIC_COLUMNS) if trainer.is_main else None
    prov_path = out / "provenance.json"
    prov = provenance.collect(trainer.device, seed=cfg.seed, config_hash=config_hash(cfg),
                              extra={"objective": cfg.objective, "dataset": cfg.dataset,
                                     "estimate_kind": trainer.objective.loss.estimate_kind,
                                     "world_size": info.world_size, **(extra_provenance or {})})
    if resume:
        first = _read_provenance(prov_path, prov)
        restore(trainer, state, ckpt_path)
        if log is not None:
            _resume_log(log, trainer.step)
        first.setdefault("resumed", []).append(
            {k: prov[k] for k in ("start_time", "git_commit", "git_dirty", "device_name")}
            | {"from_step": trainer.step})
        prov = first
    elif log is not None:
        log.start()
    if trainer.is_main:
        runfolder.write_marker(out)
        write_json(out / "config.json", cfg.to_dict())
        write_json(prov_path, prov)
    return trainer, log


def _resume_log(log: CsvLog, step: int) -> None:
    """Cut metrics.csv back to the checkpoint's step; a missing file is said (its rows up to
    ``step`` are gone), a damaged one is a one-line error naming it."""
    if not log.path.exists():
        runfolder.note(f"--resume: {str(log.path)!r} was missing; it restarts at step {step} "
                       f"(rows of steps 0-{step} are lost)")
        log.start()
        return
    try:
        log.truncate_after(step)
    except (ValueError, KeyError, TypeError, csv.Error) as e:
        raise UserError(f"--resume: {str(log.path)!r} is damaged ({first_line(e)}); "
                        "move it away to resume without its rows") from None


def train_or_reuse(cfg: TrainConfig) -> Trainer:
    """Train ``cfg`` into ``cfg.out``, continuing the run already there when it is the same
    configuration (``steps`` aside) and not past ``cfg.steps``; returns the final Trainer
    (``trainer.diverged`` set when the run diverged: the caller counts it as a failed run).

    Only for run folders that are caches of wganbench's own making (reproductions,
    benchmarks): a run folder holding another configuration is cleared and trained afresh; a
    folder that is not a run of ours is refused.
    """
    cfg = resolve(cfg)
    out = Path(cfg.out)
    with lock_folder(out):
        resume = resumable_step(cfg) is not None
        if not resume and runfolder.exists_nonempty(out):
            if not runfolder.is_run(out):
                runfolder.prepare_new_run(out)  # raises: not ours
            runfolder.clear_run_files(out)
        return train(cfg, resume=resume, on_divergence="return").trainer


def resumable_step(cfg: TrainConfig) -> int | None:
    """The step of the run in ``cfg.out`` when ``cfg`` can continue it (the same configuration,
    ``steps`` aside, and seed, not past ``cfg.steps``); None otherwise (a damaged run too)."""
    out = Path(cfg.out)
    if not ((out / CHECKPOINT).exists() and (out / "config.json").exists()):
        return None
    try:
        old = TrainConfig.from_dict(runfolder.read_config_dict(out))
        if config_hash(old.replace(steps=cfg.steps)) != config_hash(cfg) or old.seed != cfg.seed:
            return None
        step = int(load_checkpoint(out / CHECKPOINT)["step"])
    except (UserError, TypeError):
        return None
    return step if step <= cfg.steps else None
