"""Running the figure reproductions in ``reproductions/`` and recording their claims.

Each ``reproductions/<name>.py`` defines ``TITLE``, ``CAPTION`` and ``run(ctx)``; ``run`` trains
through the core library (:meth:`Reproduction.train`), writes its figure and table through
``ctx``, and states each claim of the paper as a number with a threshold
(:meth:`Reproduction.claim`). This module writes, into ``OUT/<name>/``: ``<name>.png``,
``<name>.pdf``, ``<name>.csv``, ``claims.csv`` and ``provenance.json``, and keeps
``OUT/README.md`` in step with what is there.
"""

from __future__ import annotations

import importlib.util
import json
import math
import operator
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator, Sequence

import pandas as pd
import torch

from wganbench import provenance
from wganbench.config import TrainConfig, config_hash, resolve
from wganbench.errors import UserError
from wganbench.results import atomic_write, atomic_write_text, check_writable, write_json
from wganbench.tables import markdown_escape
from wganbench.runner import Trainer, resolve_device, train_or_reuse

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "reproductions"
#: the order of the sections in results/README.md
ORDER = ("figure1", "parallel-lines", "value-surfaces", "gradient-norms", "weight-histograms",
         "em-vs-quality", "gaussian-1d", "mnist", "critic-overfitting")

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def available() -> list[str]:
    if not SCRIPTS.is_dir():
        return []
    names = [p.stem for p in SCRIPTS.glob("*.py") if not p.stem.startswith("_")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def in_all(name: str) -> bool:
    """Whether ``reproduce all`` runs ``name``: scripts that need downloaded data (MNIST) or
    GPU-days at default scale set ``IN_ALL = False`` and run by name."""
    return getattr(load_script(name), "IN_ALL", True)


def load_script(name: str) -> ModuleType:
    names = available()
    if name not in names:
        if not SCRIPTS.is_dir():
            raise UserError(f"no reproductions folder at {str(SCRIPTS)!r}; run from a source checkout")
        raise UserError(f"unknown reproduction {name!r}; choose from: {', '.join(names)}, all")
    spec = importlib.util.spec_from_file_location(f"wganbench_reproduction_{name.replace('-', '_')}",
                                                  SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses in a script look their module up there
    spec.loader.exec_module(module)
    return module


@dataclass
class Claim:
    claim: str
    threshold_op: str
    threshold: float
    measured: list[float] = field(default_factory=list)

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and _OPS[self.threshold_op](value, self.threshold)

    def row(self) -> dict[str, Any]:
        held = sum(self.holds(v) for v in self.measured)
        return {
            "claim": self.claim,
            "measured": float(sum(self.measured) / len(self.measured)),
            "measured_per_seed": ";".join(f"{v:.6g}" for v in self.measured),
            "threshold": f"{self.threshold_op} {self.threshold:g}",
            "seeds_holding": held,
            "seeds_run": len(self.measured),
            "holds": held == len(self.measured),
        }


def _stage_path(cfg: TrainConfig) -> Path:
    return Path(cfg.out) / "stages" / f"step{cfg.steps}.pt"


def save_stage(trainer: Trainer) -> None:
    """Keep the networks of ``trainer`` (at step ``trainer.cfg.steps``) for :func:`load_stage`:
    weights and buffers only, no optimiser state (a stage is read, never trained on)."""
    state = {"config_hash": config_hash(trainer.cfg), "seed": trainer.cfg.seed, "step": trainer.step,
             "generator": trainer.generator.state_dict(), "critic": trainer.critic.state_dict()}
    path = _stage_path(trainer.cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: torch.save(state, f))


def _stage_state(cfg: TrainConfig) -> dict[str, Any] | None:
    path = _stage_path(cfg)
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if (state["config_hash"], state["seed"], state["step"]) != (config_hash(cfg), cfg.seed, cfg.steps):
        return None
    return state


def load_stage(cfg: TrainConfig) -> Trainer | None:
    """A :class:`Trainer` holding the networks :func:`save_stage` kept for this configuration
    and step, or None when there are none (or they belong to another configuration)."""
    state = _stage_state(cfg)
    if state is None:
        return None
    trainer = Trainer(cfg)
    trainer.generator.load_state_dict(state["generator"])
    trainer.critic.load_state_dict(state["critic"])
    trainer.step = state["step"]
    return trainer


class Reproduction:
    """What a reproduction script gets: its settings, a trainer, and writers for its outputs."""

    def __init__(self, name: str, out: Path, quick: bool, seeds: int, device: str,
                 data_root: str | None = None) -> None:
        self.name = name
        #: where image datasets live (torchvision layout); None: $WGANBENCH_DATA or ./data
        self.data_root = data_root
        self.dir = out / name
        self.quick = quick
        self.seeds = list(range(seeds))
        self.device = device
        self.runs_dir = self.dir / "runs" / ("quick" if quick else "full")
        self.claims: dict[str, Claim] = {}
        self.run_hashes: dict[str, str] = {}

    # ---- training through the core runner ---------------------------------------------------
    def train(self, label: str, cfg: TrainConfig) -> Trainer:
        """Train ``cfg`` (or reuse a finished run of the same configuration) in
        ``runs/<quick|full>/<label>`` and return a :class:`Trainer` holding the final state."""
        return list(self.train_stages(label, cfg, [cfg.steps]))[-1]

    def train_stages(self, label: str, cfg: TrainConfig, stages: Sequence[int]) -> Iterator[Trainer]:
        """Train ``cfg`` up to each step in ``stages`` (increasing) and yield a :class:`Trainer`
        holding the state there. Each stage resumes the previous one, and resuming is exact, so
        the last state equals that of one uninterrupted run.

        The networks at each stage are kept in ``runs/.../<label>/stages/step<N>.pt``; asked
        again (the same configuration), a stage is read from there instead of retrained, so a
        finished staged run is reused like any other and a killed one continues."""
        out = self.runs_dir / label
        for steps in stages:
            run_cfg = resolve(cfg.replace(out=str(out), device=self.device, steps=steps))
            trainer = load_stage(run_cfg)
            if trainer is None:
                trainer = train_or_reuse(run_cfg)
                save_stage(trainer)
            self.run_hashes[label] = config_hash(run_cfg.replace(steps=stages[-1]))
            yield trainer

    def train_seeds_stages(self, label: Callable[[int], str], cfg: TrainConfig,
                           stages: Sequence[int]) -> None:
        """:meth:`train_stages` for every seed, the seeds of each stage trained together (a
        vectorised ensemble, when the model allows it); the :meth:`train_stages` calls that
        follow read the stages back."""
        from wganbench.ensemble import train_or_reuse_seeds

        for steps in stages:
            configs = [resolve(cfg.replace(seed=s, out=str(self.runs_dir / label(s)),
                                           device=self.device, steps=steps)) for s in self.seeds]
            if all(_stage_state(c) is not None for c in configs):
                continue
            for trainer in train_or_reuse_seeds(configs):
                save_stage(trainer)

    def train_seeds(self, label: Callable[[int], str], cfg: TrainConfig) -> list[Trainer]:
        """:meth:`train` for every seed of the reproduction (``label(seed)`` names each run),
        trained as one vectorised ensemble when the model allows it (toy MLPs). Later
        :meth:`train` calls with the same label and configuration reuse these runs."""
        from wganbench.ensemble import train_or_reuse_seeds

        configs = [resolve(cfg.replace(seed=s, out=str(self.runs_dir / label(s)),
                                       device=self.device)) for s in self.seeds]
        trainers = train_or_reuse_seeds(configs)
        for s, c in zip(self.seeds, configs):
            self.run_hashes[label(s)] = config_hash(c)
        return trainers

    # ---- outputs ----------------------------------------------------------------------------
    def claim(self, claim: str, measured: float, op: str, threshold: float) -> None:
        """Record one seed's measurement of ``claim``; it holds when ``measured op threshold``."""
        if op not in _OPS:
            raise ValueError(f"unknown comparison {op!r}")
        entry = self.claims.setdefault(claim, Claim(claim, op, threshold))
        entry.measured.append(float(measured))

    def write_table(self, table: pd.DataFrame) -> None:
        atomic_write_text(self.dir / f"{self.name}.csv", table.to_csv(index=False))

    def write_extra_table(self, name: str, table: pd.DataFrame) -> None:
        """A further table beside the main one, ``<name>.csv``."""
        atomic_write_text(self.dir / f"{name}.csv", table.to_csv(index=False))

    def save_figure(self, fig) -> None:
        from wganbench.plotting import save_figure

        save_figure(fig, self.dir / self.name, formats=("png", "pdf"))

    def finish(self, seconds: float) -> pd.DataFrame:
        claims = pd.DataFrame([c.row() for c in self.claims.values()])
        atomic_write_text(self.dir / "claims.csv", claims.to_csv(index=False))
        record = provenance.collect(resolve_device(self.device), extra={
            "reproduction": self.name, "quick": self.quick, "seeds": self.seeds,
            "runtime_seconds": round(seconds, 1), "run_config_hashes": self.run_hashes})
        record.pop("seed")
        record.pop("config_hash")
        write_json(self.dir / "provenance.json", record)
        return claims


def reproduce(name: str, out: str | Path = "results", quick: bool = False, seeds: int | None = None,
              device: str = "cpu", data_root: str | None = None) -> pd.DataFrame:
    """Run one reproduction; returns its claims table."""
    script = load_script(name)
    if seeds is None:
        seeds = getattr(script, "DEFAULT_SEEDS", 1)
    if not isinstance(seeds, int) or seeds < 1:
        raise UserError(f"--seeds {seeds!r}: must be an integer >= 1")
    out = Path(out)
    ctx = Reproduction(name, out, quick, seeds, device, data_root)
    check_writable(ctx.dir, shown_as=out)
    start = time.perf_counter()
    script.run(ctx)
    claims = ctx.finish(time.perf_counter() - start)
    write_index(out)
    return claims


def write_index(out: Path) -> None:
    """``OUT/README.md``: one section per reproduction present in ``OUT``: image, caption, claims."""
    lines = ["# Reproduced figures", "",
             "Written by `wganbench reproduce` (`nox -s reproduce-all`); every image, table and claim "
             "below was produced by the code in this repository. Each folder holds the figure "
             "(PNG, PDF), every plotted number (`<name>.csv`), the claims (`claims.csv`) and "
             "provenance (`provenance.json`).", ""]
    for name in available():
        d = out / name
        if not (d / "claims.csv").exists():
            continue
        script = load_script(name)
        prov = json.loads((d / "provenance.json").read_text())
        claims = pd.read_csv(d / "claims.csv")
        scale = "quick (reduced) run" if prov.get("quick") else "default scale"
        lines += [f"## {name}: {script.TITLE}", "",
                  f"![{name}]({name}/{name}.png)", "",
                  " ".join(script.CAPTION.split()), "",
                  f"*{scale}, seeds {', '.join(str(s) for s in prov['seeds'])}; "
                  f"{prov['runtime_seconds']} s on {prov['device_name']} "
                  f"({prov['cpu_threads']} threads); commit {prov['git_commit'][:10]}"
                  f"{' (dirty)' if prov.get('git_dirty') else ''}.*", "",
                  "| claim | measured (mean over seeds) | threshold | seeds holding |",
                  "|---|---|---|---|"]
        for _, row in claims.iterrows():
            mark = "yes" if row["holds"] else "**no**"
            lines.append(f"| {markdown_escape(row['claim'])} | {row['measured']:.4g} | {row['threshold']} | "
                         f"{row['seeds_holding']}/{row['seeds_run']} ({mark}) |")
        lines.append("")
    atomic_write_text(out / "README.md", "\n".join(lines))
