"""Seed ensembles: ``wganbench train ... --seeds 0-31`` trains independent runs as one program.

Each seed is an ordinary run (its own :class:`~wganbench.runner.Trainer`: models initialised
from its seed, its own data / noise / penalty streams, its own folder with config, metrics,
checkpoints, samples). For the MLPs of the toy experiments the seeds' networks are stacked along
a leading dimension and trained together: on a GPU one batched matrix product per layer for
all seeds (``torch.baddbmm``), on a CPU (where that runs slower) a product per seed; one
optimiser update over stacked parameters. The
losses of the seeds are summed; the seeds share no parameter, so each seed's gradient is its own
loss's gradient, and the optimisers (Adam, RMSprop) and weight clipping act elementwise, so
every seed follows the trajectory of its separate run (to float32 rounding: the batched product
sums in its own order). Each seed draws its batches, noise and penalty points from its own
streams in the order of a separate run.

The stacked state is the truth while training; before a metrics row, a checkpoint or the
samples figure it is copied into each seed's Trainer (parameters and optimiser state), whose
own code then writes the run exactly as a separate run would. ``--resume`` loads every seed's
checkpoint and restacks them.

Critic-only experiments (``--fixed-fake``: the generator replaced by a fixed distribution) stack
the critics alone; each seed draws its fake batch from its own noise stream, as alone.
Models other than the toy MLP (``mlp``) train the seeds one after the other.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from wganbench.config import TrainConfig, config_hash, resolve
from wganbench.errors import Diverged, UserError
from wganbench.locking import lock_folder
from wganbench.models.mlp import MLP
from wganbench.objectives.algorithm import Objective
from wganbench.objectives.lipschitz import GradientPenalty, LipschitzMethod
from wganbench.runfolder import check_new_run, exists_nonempty
from wganbench.runner import (RunResult, Trainer, critic_iterations, open_run, resumable_step,
                              set_learning_rate, timed, train_or_reuse)

VECTORISABLE_MODELS = ("mlp",)
#: a Trainer's optimiser attribute for each of its networks
_OPTIMIZER_OF = {"generator": "opt_g", "critic": "opt_c"}


#: most seeds one command trains (each is a run folder with its own checkpoint)
MAX_SEEDS = 10_000


def parse_seeds(spec: str) -> list[int]:
    """'0-31', '0,1,5' or '0-3,8' -> sorted distinct seeds (at most :data:`MAX_SEEDS`)."""
    seeds: set[int] = set()
    try:
        for part in spec.split(","):
            lo, _, hi = part.strip().partition("-")
            a, b = int(lo), int(hi) if hi else int(lo)
            if a < 0 or b < a or b >= 2**63:
                raise ValueError
            if len(seeds) + (b - a + 1) > MAX_SEEDS:
                raise UserError(f"--seeds {spec!r}: more than {MAX_SEEDS:,} seeds; train them "
                                "in several commands")
            seeds.update(range(a, b + 1))
    except ValueError:
        raise UserError(f"--seeds {spec!r}: give seeds >= 0 as 'A-B', 'A,B,C' or a mix, "
                        "e.g. '0-31' or '0-3,8'") from None
    return sorted(seeds)


def seed_out(cfg: TrainConfig, seed: int) -> str | None:
    """The run folder of one seed: ``--out`` with ``{seed}`` filled in, ``--out/seedN`` when
    it has no ``{seed}``, or the default run folder of that seed."""
    if cfg.out is None:
        return None
    if "{seed}" in cfg.out:
        return cfg.out.replace("{seed}", str(seed))
    return str(Path(cfg.out) / f"seed{seed}")


def vectorisable(cfg: TrainConfig) -> bool:
    cfg = resolve(cfg)
    generator_ok = cfg.fixed_fake is not None or cfg.generator in VECTORISABLE_MODELS
    return (generator_ok and cfg.critic in VECTORISABLE_MODELS and cfg.activation == "relu"
            and cfg.precision == "float32" and not cfg.compile)


class StackedMLP(nn.Module):
    """S copies of :class:`~wganbench.models.mlp.MLP` (same shape, own weights) as one module:
    input [S, B, ...], output [S, B, *out_shape]."""

    #: devices where one batched product per layer (``baddbmm``) serves all seeds; elsewhere
    #: (the CPU) each seed's product runs on its own
    BATCHED_ON: tuple[str, ...] = ("cuda",)

    def __init__(self, members: Sequence[MLP]) -> None:
        super().__init__()
        linears = [[m for m in member.net if isinstance(m, nn.Linear)] for member in members]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].weight.detach() for ls in linears]).clone())
            for i in range(len(linears[0])))
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].bias.detach() for ls in linears]).clone())
            for i in range(len(linears[0])))
        self.out_shape = members[0].out_shape

    def member_parameters(self) -> list[nn.Parameter]:
        """Stacked parameters in the order of one member's ``parameters()`` (w0, b0, w1, ...)."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s, b = x.shape[:2]
        h = x.reshape(s, b, -1)
        last = len(self.weights) - 1
        if h.device.type in self.BATCHED_ON:  # one launch per layer for all seeds
            for i, (w, bias) in enumerate(zip(self.weights, self.biases)):
                h = torch.baddbmm(bias.unsqueeze(1), h, w.transpose(1, 2))
                if i < last:
                    h = F.relu(h)
            return h.view(s, b, *self.out_shape)
        # on a CPU a product per seed runs faster than one batched product (README, "Seed
        # ensembles"); the seeds' activations stay apart until the output
        hs = h.unbind(0)
        for i, (w, bias) in enumerate(zip(self.weights, self.biases)):
            hs = [F.linear(*seed) for seed in zip(hs, w.unbind(0), bias.unbind(0))]
            if i < last:
                hs = [F.relu(hk) for hk in hs]
        return torch.stack(hs).view(s, b, *self.out_shape)


class EnsembleSteps:
    """The critic and generator steps of :class:`~wganbench.objectives.algorithm.Objective`
    for stacked networks: the same loss, Lipschitz hooks and penalty, per seed, summed."""

    def __init__(self, objective: Objective) -> None:
        self.objective = objective

    def _per_seed(self, fn, *scores: torch.Tensor) -> torch.Tensor:
        return torch.stack([fn(*(s[k] for s in scores)) for k in range(len(scores[0]))])

    def critic_step(self, critic: StackedMLP, opt: torch.optim.Optimizer, real: torch.Tensor,
                    fake: torch.Tensor, eps: torch.Tensor) -> dict[str, torch.Tensor]:
        obj, lip = self.objective, self.objective.lipschitz
        lip.before_critic_step(critic)
        m = real.shape[1]
        scores = critic(torch.cat([real, fake], dim=1)).reshape(len(real), 2 * m)
        real_scores, fake_scores = scores[:, :m], scores[:, m:]
        loss = self._per_seed(obj.loss.critic_loss, real_scores, fake_scores)
        penalty = torch.zeros_like(loss)
        if isinstance(lip, GradientPenalty):
            x_hat = eps * real + (1 - eps) * fake
            norms = lip.input_gradient(critic, x_hat, fast=obj.fast).flatten(2).norm(2, dim=2)
            penalty = lip.value_from_norms(norms)
        elif type(lip).penalty is not LipschitzMethod.penalty:
            raise UserError(f"--seeds: Lipschitz method {lip.name!r} has no vectorised penalty")
        total = loss + penalty
        opt.zero_grad(set_to_none=True)
        total.sum().backward()
        opt.step()
        lip.after_critic_step(critic)
        with torch.no_grad():
            estimate = self._per_seed(obj.loss.estimate, real_scores, fake_scores)
        return {"loss": total.detach(), "estimate": estimate, "penalty": penalty.detach()}

    def generator_step(self, generator: StackedMLP, critic: StackedMLP,
                       opt: torch.optim.Optimizer, z: torch.Tensor) -> torch.Tensor:
        critic.requires_grad_(False)
        try:
            scores = critic(generator(z)).reshape(z.shape[0], z.shape[1])
            loss = self._per_seed(self.objective.loss.generator_loss, scores)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            opt.step()
        finally:
            critic.requires_grad_(True)
        return loss.detach()


def _stack_optimizer(opt: torch.optim.Optimizer, stacked: list[torch.Tensor],
                     members: list[torch.optim.Optimizer]) -> None:
    """Stacked optimiser state from the members' (after a resume)."""
    for i, p in enumerate(stacked):
        states = [m.state[m.param_groups[0]["params"][i]] for m in members]
        if not states[0]:
            continue
        opt.state[p] = {k: (torch.stack([s[k] for s in states]) if torch.is_tensor(v)
                            and v.shape == p.shape[1:] else v.clone() if torch.is_tensor(v) else v)
                        for k, v in states[0].items()}


def _unstack_optimizer(opt: torch.optim.Optimizer, stacked: list[torch.Tensor],
                       member: torch.optim.Optimizer, k: int) -> None:
    """Seed k's optimiser state from the stacked one (before a checkpoint)."""
    for i, p in enumerate(stacked):
        own = member.param_groups[0]["params"][i]
        state = opt.state.get(p)
        if not state:
            continue
        member.state[own] = {key: (v[k].clone() if torch.is_tensor(v) and v.shape == p.shape
                                   else v.clone() if torch.is_tensor(v) else v)
                             for key, v in state.items()}
    for group, mine in zip(opt.param_groups, member.param_groups):
        mine["lr"] = group["lr"]


class Ensemble:
    """Seeds' Trainers plus their stacked networks and optimisers."""

    def __init__(self, trainers: list[Trainer]) -> None:
        self.trainers = trainers
        first = trainers[0]
        self.cfg, self.device = first.cfg, first.device
        self.fixed_fake = first.fixed_fake is not None
        build = type(first.opt_c)
        defaults = dict(first.opt_c.defaults)  # both networks share lr, betas, kernels
        #: (role, stacked network, its optimiser) for each network that trains; a critic-only
        #: experiment (a fixed fake distribution) never updates its generator
        self.parts = []
        for role in ("critic",) if self.fixed_fake else ("generator", "critic"):
            stacked = StackedMLP([getattr(t, role) for t in trainers])
            opt = build(stacked.member_parameters(), **defaults)
            _stack_optimizer(opt, stacked.member_parameters(),
                             [getattr(t, _OPTIMIZER_OF[role]) for t in trainers])
            self.parts.append((role, stacked, opt))
        named = {role: (stacked, opt) for role, stacked, opt in self.parts}
        self.generator, self.opt_g = named.get("generator", (None, None))
        self.critic, self.opt_c = named["critic"]
        self.steps = EnsembleSteps(first.objective)

    @property
    def step(self) -> int:
        return self.trainers[0].step

    def train_iteration(self) -> list[dict[str, torch.Tensor]]:
        """One generator iteration of every seed (see Trainer.train_iteration)."""
        m, trainers = self.cfg.batch_size, self.trainers
        idle = [t.opt_g for t in trainers] if self.fixed_fake else []  # as a run alone sets it
        set_learning_rate(self.cfg, self.step, [opt for _, _, opt in self.parts] + idle)
        for _ in range(critic_iterations(self.cfg, self.step)):
            real = torch.stack([t.sampler.sample(m, t.streams["data"]).to(self.device)
                                for t in trainers])
            if self.fixed_fake:  # each seed draws from the fixed distribution, as alone
                fake = torch.stack([t.fake_batch(r, t.streams["noise"])
                                    for t, r in zip(trainers, real)])
            else:
                z = torch.stack([t.latent.sample(m, t.streams["noise"]) for t in trainers])
                with torch.no_grad():
                    fake = self.generator(z)
            eps = torch.stack([torch.rand((m,) + (1,) * (real.dim() - 2), generator=t.streams["penalty"],
                                          device=self.device) for t in trainers])
            stats = self.steps.critic_step(self.critic, self.opt_c, real, fake, eps)
            for k, t in enumerate(trainers):
                t.critic_steps += 1
                t._add_to_window("critic_loss", stats["loss"][k])
                t._add_to_window("w_estimate", stats["estimate"][k])
        if self.fixed_fake:  # critic-only experiments: no generator step
            gen_loss = torch.full((len(trainers),), math.nan)
        else:
            z = torch.stack([t.noise(m * self.cfg.gen_batch_multiple) for t in trainers])
            gen_loss = self.steps.generator_step(self.generator, self.critic, self.opt_g, z)
            for k, t in enumerate(trainers):
                t._add_to_window("gen_loss", gen_loss[k])
        out = []
        for k, t in enumerate(trainers):
            t.step += 1
            out.append({"critic_loss": stats["loss"][k], "gen_loss": gen_loss[k],
                        "w_estimate": stats["estimate"][k], "penalty": stats["penalty"][k]})
        return out

    @torch.no_grad()
    def copy_to_members(self) -> None:
        """Write the stacked parameters and optimiser state into every seed's Trainer."""
        for k, t in enumerate(self.trainers):
            for role, stacked, opt in self.parts:
                for p, s in zip(getattr(t, role).parameters(), stacked.member_parameters()):
                    p.copy_(s[k])
                _unstack_optimizer(opt, stacked.member_parameters(),
                                   getattr(t, _OPTIMIZER_OF[role]), k)

    def run(self, logs: list) -> list[RunResult]:
        """Train every seed to ``cfg.steps``. A seed that diverges stops there (its run ends
        as a diverged run alone would: a last metrics row, no checkpoint from the non-finite
        state, ``RunResult.diverged`` set); the others go on, unaffected, since the seeds share
        no parameter. Training stops early when every seed has diverged."""
        cfg = self.cfg
        rows: list[dict[str, Any]] = [{} for _ in self.trainers]
        if self.step == 0:
            for k, (t, log) in enumerate(zip(self.trainers, logs)):
                rows[k] = t._row(None, with_w1=True)
                log.append(rows[k])
        bar = tqdm(total=cfg.steps, initial=self.step, disable=not cfg.progress,
                   desc=f"{cfg.objective}/{cfg.dataset} x{len(self.trainers)} seeds", unit="it",
                   dynamic_ncols=True)
        try:
            while self.step < cfg.steps:
                stats, elapsed = timed(self.train_iteration, self.device)
                if self.trainers[0].due(self.step):  # every seed is at the same step
                    self.copy_to_members()
                for k, t in enumerate(self.trainers):
                    t.wall_time += elapsed  # the ensemble's time: the seeds train together
                    if t.diverged is None:
                        try:
                            rows[k] = t.after_iteration(stats[k], logs[k]) or rows[k]
                        except Diverged:
                            logs[k].close()
                bar.update(1)
                if all(t.diverged is not None for t in self.trainers):
                    break
        finally:
            bar.close()
            for log in logs:
                log.close()
        return [RunResult(t.out, t.step if t.diverged is None else t.diverged.step, row, t,
                          t.diverged) for t, row in zip(self.trainers, rows)]


def train_seeds(cfg: TrainConfig, seeds: Sequence[int], resume: bool = False) -> list[RunResult]:
    """Train ``cfg`` once per seed, each into its own folder (:func:`seed_out`): vectorised
    for the toy MLPs, one after the other otherwise."""
    if not seeds:
        raise UserError("--seeds: no seeds given")
    configs = [resolve(cfg.replace(seed=s, out=seed_out(cfg, s))) for s in seeds]
    if len({c.out for c in configs}) != len(configs):
        raise UserError(f"--out {cfg.out!r}: the seeds' run folders coincide; use '{{seed}}' in it")
    return train_configs(configs, resume)


def train_configs(configs: Sequence[TrainConfig], resume: bool = False) -> list[RunResult]:
    """Train runs of one experiment that differ only in seed and folder; as one vectorised
    program when the model allows it."""
    from wganbench import distributed
    from wganbench.runner import train

    configs = [resolve(c) for c in configs]
    if distributed.from_env().enabled:
        raise UserError("--seeds cannot be combined with torchrun; run the ensemble in one "
                        "process, or one torchrun per seed")
    if len({config_hash(c) for c in configs}) > 1 or len({c.seed for c in configs}) < len(configs):
        raise ValueError("an ensemble's runs must differ in seed (and folder) only")
    if not vectorisable(configs[0]) or len(configs) == 1:
        return [train(c, resume=resume, on_divergence="return") for c in configs]
    seeds = [c.seed for c in configs]
    with contextlib.ExitStack() as locks:
        for c in configs:  # every seed's folder, before any is written
            locks.enter_context(lock_folder(c.out))
            if not resume:
                check_new_run(Path(c.out))
        opened = [open_run(c, resume, extra_provenance={"seed_ensemble": seeds}) for c in configs]
        trainers = [t for t, _ in opened]
        if len({t.step for t in trainers}) > 1:
            steps = ", ".join(f"seed {t.cfg.seed} at {t.step}" for t in trainers)
            raise UserError(f"--resume --seeds: the seeds' checkpoints are at different steps "
                            f"({steps}); resume them separately")
        return Ensemble(trainers).run([log for _, log in opened])


def train_or_reuse_seeds(configs: Sequence[TrainConfig]) -> list[Trainer]:
    """:func:`~wganbench.runner.train_or_reuse` for the seeds of one experiment: when none of
    their folders exists yet they train together (:func:`train_configs`), and when every seed's
    run can be continued from the same step they continue together; otherwise each seed
    reuses or continues its own run."""
    configs = [resolve(c) for c in configs]
    if len(configs) > 1 and vectorisable(configs[0]):
        if not any(exists_nonempty(c.out) for c in configs):
            return [r.trainer for r in train_configs(configs)]
        steps = {resumable_step(c) for c in configs}
        if len(steps) == 1 and None not in steps:
            return [r.trainer for r in train_configs(configs, resume=True)]
    return [train_or_reuse(c) for c in configs]
